"""Numba kernels of fastga, one family per module.

- :mod:`.rng`: counter-based random streams (the stream functions are LLVM intrinsics);
- :mod:`.init`: genome initialisation;
- :mod:`.forward`: batched forward pass (register tiles on the inputs, or a first-layer
  panel gather for a GEMM + the tiled epilogue);
- :mod:`.fitness`: fused forward + loss;
- :mod:`.crossover`: neuron-wise, single-point and uniform crossover;
- :mod:`.mutation`: shift / sign / swap / gaussian mutation;
- :mod:`.breed`: the GA's breeding step (elites, crossover, mutation) in one kernel;
- :mod:`.intrinsics`: LLVM-level helpers: bit casts and the crossover's bit blend,
  prefetch, the AVX-512 register tiles of the forward pass and the softmax statistics.

The kernels trust their arguments; validation happens in Python first. The
kernels the GA calls are ``nogil`` loops over a range of rows, shared out to
threads by :func:`fastga.evaluation.run_rows`; a run's first call compiles
them over the CPUs (:mod:`fastga.compilation`; see ``bench/README.md``,
"Compile time").
"""
