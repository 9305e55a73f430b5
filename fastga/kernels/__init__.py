"""Numba kernels of fastga, one family per module.

- :mod:`.rng`: counter-based random streams;
- :mod:`.init`: genome initialisation;
- :mod:`.forward`: batched forward pass (first-layer panel gather + epilogue);
- :mod:`.fitness`: fused forward + loss;
- :mod:`.crossover`: neuron-wise, single-point and uniform crossover;
- :mod:`.mutation`: shift / sign / swap / gaussian mutation;
- :mod:`.breed`: the GA's breeding step (elites, crossover, mutation) in one kernel;
- :mod:`.intrinsics`: bit casts and the prefetch hint the kernels share.

The kernels trust their arguments; validation happens in Python first. The
kernels the GA calls are ``nogil`` loops over a range of rows, shared out to
threads by :func:`fastga.evaluation.run_rows` (see ``bench/README.md``,
"Compile time").
"""
