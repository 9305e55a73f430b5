"""Initialisation kernels: fill genomes from their own counter-based streams."""

import numpy as np
from numba import njit

from .rng import PURPOSE_INIT, random_normal, random_uniform, stream_key

__all__ = ["INIT_SCHEMES", "init_genomes"]

#: 0: uniform(-scale, scale) weights, zero biases (GeneticMLP reference, scale 0.15);
#: 1: standard normal * scale, weights and biases (GA-GAN reference, scale 1);
#: 2: Glorot uniform weights, zero biases.
INIT_SCHEMES = {"uniform": 0, "normal": 1, "glorot": 2}


@njit(nogil=True, cache=True)
def init_genomes(genomes, seed, scheme, scale, sizes, w_offs, b_offs, lo, hi):
    """Fill rows ``lo .. hi-1`` of ``genomes``; row ``i`` uses stream ``(seed, 0, i, INIT)``.

    Releases the GIL; :func:`fastga.evaluation.run_rows` shares the rows out
    to threads (no ``parallel=True``, which costs 1-2 s of compile time).
    """
    n = genomes.shape[1]
    for i in range(lo, hi):
        key = stream_key(seed, 0, i, PURPOSE_INIT)
        ctr = 0
        if scheme == 1:
            for k in range(n):
                genomes[i, k] = np.float32(scale * random_normal(key, ctr))
                ctr += 2
            continue
        for layer in range(sizes.shape[0] - 1):
            n_in = sizes[layer]
            n_out = sizes[layer + 1]
            limit = scale if scheme == 0 else np.sqrt(6.0 / (n_in + n_out))
            w0 = w_offs[layer]
            for k in range(n_in * n_out):
                genomes[i, w0 + k] = np.float32((2.0 * random_uniform(key, ctr) - 1.0) * limit)
                ctr += 1
            b0 = b_offs[layer]
            if n_in == 0:  # neurons without inputs: the genes of a plain vector, drawn
                for j in range(n_out):
                    genomes[i, b0 + j] = np.float32((2.0 * random_uniform(key, ctr) - 1.0) * limit)
                    ctr += 1
                continue
            for j in range(n_out):
                genomes[i, b0 + j] = 0.0
