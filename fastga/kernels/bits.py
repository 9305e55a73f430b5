"""Bit-level helpers of the kernels, as LLVM intrinsics.

Bit casts between float32 and int32 (the polynomial ``log32``/``exp32`` and
the mutation's branch-free selects), the crossover's bit blend (exact for
every float, NaN and inf included), a prefetch hint and an array's address
(for alignment). Plain ``@intrinsic`` functions: a few instructions each,
cached with the kernels that call them.
"""

from llvmlite import ir
from numba import types
from numba.core import cgutils
from numba.extending import intrinsic

__all__ = ["f32_as_i32", "i32_as_f32", "bit_blend", "prefetch", "address"]


@intrinsic
def f32_as_i32(typingctx, x):
    """Reinterpret the bits of a float32 as an int32 (no conversion)."""
    if x != types.float32:
        return None

    def codegen(context, builder, signature, args):
        return builder.bitcast(args[0], ir.IntType(32))

    return types.int32(types.float32), codegen


@intrinsic
def i32_as_f32(typingctx, x):
    """Reinterpret the bits of an int32 as a float32 (no conversion)."""
    if x != types.int32:
        return None

    def codegen(context, builder, signature, args):
        return builder.bitcast(args[0], ir.FloatType())

    return types.float32(types.int32), codegen


@intrinsic
def bit_blend(typingctx, a, b, mask):
    """The float32 whose bits are ``(bits(a) & ~mask) | (bits(b) & mask)`` for an
    int32 ``mask``: ``a`` where it is 0, ``b`` where it is -1, exact for every
    float (NaN and inf included), with no branch or select."""
    if a != types.float32 or b != types.float32 or mask != types.int32:
        return None

    def codegen(context, builder, signature, args):
        i32 = ir.IntType(32)
        x = builder.bitcast(args[0], i32)
        y = builder.bitcast(args[1], i32)
        m = args[2]
        out = builder.or_(builder.and_(x, builder.not_(m)), builder.and_(y, m))
        return builder.bitcast(out, ir.FloatType())

    return types.float32(types.float32, types.float32, types.int32), codegen


@intrinsic
def prefetch(typingctx, arr, index):
    """A hint to fetch the cache line of ``arr[index]`` into all cache levels
    (no effect on results). ``index``: an integer, or a tuple of one integer
    per dimension."""
    if not isinstance(arr, types.Array):
        return None
    if isinstance(index, types.Integer):
        n_idx = 1
    elif isinstance(index, types.BaseTuple) and all(isinstance(t, types.Integer) for t in index):
        n_idx = len(index)
    else:
        return None
    if n_idx != arr.ndim:
        return None

    def codegen(context, builder, signature, args):
        aryty, idxty = signature.args
        ary = context.make_array(aryty)(context, builder, args[0])
        if isinstance(idxty, types.BaseTuple):
            idx = [context.cast(builder, v, t, types.intp)
                   for v, t in zip(cgutils.unpack_tuple(builder, args[1], n_idx), idxty)]
        else:
            idx = [context.cast(builder, args[1], idxty, types.intp)]
        ptr = cgutils.get_item_pointer(context, builder, aryty, ary, idx)
        i32 = ir.IntType(32)
        fnty = ir.FunctionType(ir.VoidType(), [ptr.type, i32, i32, i32])
        fn = cgutils.get_or_insert_function(builder.module, fnty, "llvm.prefetch.p0")
        # read, high locality (all cache levels), data
        builder.call(fn, [ptr, ir.Constant(i32, 0), ir.Constant(i32, 3), ir.Constant(i32, 1)])
        return context.get_dummy_value()

    return types.void(arr, index), codegen


@intrinsic
def address(typingctx, arr):
    """The address of ``arr``'s first element, as an integer (for alignment)."""
    if not isinstance(arr, types.Array):
        return None

    def codegen(context, builder, signature, args):
        ary = context.make_array(signature.args[0])(context, builder, args[0])
        return builder.ptrtoint(ary.data, context.get_value_type(types.intp))

    return types.intp(arr), codegen
