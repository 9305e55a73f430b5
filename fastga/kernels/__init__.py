"""Numba kernels of fastga, one family per module.

- :mod:`.rng`: counter-based random streams (the stream functions are LLVM intrinsics);
- :mod:`.init`: genome initialisation;
- :mod:`.forward`: batched forward pass (register tiles on the inputs, or a first-layer
  panel gather for a GEMM + the tiled epilogue);
- :mod:`.fitness`: fused forward + loss;
- :mod:`.crossover`, :mod:`.mutation`: the operators on one child row;
- :mod:`.breed`: the GA's breeding step (elites, crossover, mutation) in one kernel;
- :mod:`.training`: minibatch SGD of many small networks (architecture search);
- :mod:`.bits`: bit casts, the crossover's bit blend, a prefetch hint, an address;
- :mod:`.exp`: the float32 exponential, and its constants;
- :mod:`.simd`: the tiles' 16-lane vectors: geometry and an LLVM IR builder;
- :mod:`.tiles`: the register tiles the kernels call, from :mod:`.tiles_ir` and
  :mod:`.softmax_ir` (LLVM IR, the default) or their plain-Numba twins
  :mod:`.tiles_numba` (``FASTGA_TILES=numba``).

The codes the kernels compare (activations, metrics, init schemes, RNG
purposes) are the enums of :mod:`fastga.registry`; Numba reads their members
as compile-time constants. The kernels trust their arguments; validation
happens in Python first.

**One model of parallelism.** Every kernel that works on many rows (networks,
children, candidates) is an ``@njit(nogil=True)`` function of a row range
``[lo, hi)`` that writes only those rows' outputs, and
:func:`fastga.evaluation.run_rows` shares the rows out in pieces to a pool of
Python threads. None is ``parallel=True``: Numba's parfor passes and the
gufunc built for a ``prange`` loop add 1-2 s of compile time per kernel, and
these kernels run a few times per generation, where a thread hand-off (tens
of microseconds) costs nothing measurable. Each row draws from its own
counter-based streams, so results are bit-identical for any thread count.

The thread count is Numba's: ``numba.set_num_threads(n)`` at run time, or the
environment variable ``NUMBA_NUM_THREADS`` (its upper bound, read when Numba
is imported); the default is the number of CPUs. A run's first call compiles
the kernels (:mod:`fastga.compilation`; see ``bench/README.md``, "Compile
time").
"""

from . import cachedir as _cachedir

_cachedir.install()
