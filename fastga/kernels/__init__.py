"""Numba kernels of fastga, one family per module.

- :mod:`.rng`: counter-based random streams;
- :mod:`.init`: genome initialisation;
- :mod:`.forward`: batched forward pass (first-layer panel gather + epilogue);
- :mod:`.fitness`: fused forward + loss;
- :mod:`.crossover`: neuron-wise, single-point and uniform crossover;
- :mod:`.mutation`: shift / sign / swap / gaussian mutation.

The kernels trust their arguments; validation happens in Python first.
"""
