"""LLVM-level helpers of the kernels: bit casts and a prefetch hint.

Plain ``@intrinsic`` functions (they cache with the kernels that call them).
"""

from llvmlite import ir
from numba import types
from numba.core import cgutils
from numba.extending import intrinsic

__all__ = ["f32_as_i32", "i32_as_f32", "prefetch"]


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
