"""Initialisation kernels: fill genomes from their own counter-based streams."""

import numpy as np
from numba import njit

from ..registry import Init, Purpose
from .rng import random_normal, random_uniform, stream_key

__all__ = ["init_genomes"]


@njit(nogil=True, cache=True)
def init_genomes(genomes, seed, scheme, scale, sizes, w_offs, b_offs, lo, hi):
    """Fill rows ``lo .. hi-1`` of ``genomes``; row ``i`` uses stream ``(seed, 0, i, INIT)``.

    ``scheme`` (a :class:`~fastga.registry.Init` code): ``UNIFORM``,
    uniform(-scale, scale) weights and zero biases; ``NORMAL``, standard
    normal * scale weights and biases; ``GLOROT``, Glorot uniform weights and
    zero biases. Releases the GIL; :func:`fastga.evaluation.run_rows` shares
    the rows out to threads.
    """
    n = genomes.shape[1]
    for i in range(lo, hi):
        key = stream_key(seed, 0, i, Purpose.INIT)
        ctr = 0
        if scheme == Init.NORMAL:
            for k in range(n):
                genomes[i, k] = np.float32(scale * random_normal(key, ctr))
                ctr += 2
            continue
        for layer in range(sizes.shape[0] - 1):
            n_in = sizes[layer]
            n_out = sizes[layer + 1]
            limit = scale if scheme == Init.UNIFORM else np.sqrt(6.0 / (n_in + n_out))
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
