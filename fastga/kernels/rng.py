"""Counter-based random numbers for the kernels.

Every random draw is a pure function of ``(key, counter)``: the key names a
stream (seed, generation, individual and purpose), the counter says which
draw of that stream it is. Output is SplitMix64's finaliser applied to
``key + counter * GAMMA``, a counter-based generator (the construction of
Steele, Lea & Flood, "Fast splittable pseudorandom number generators", 2014).

Because a draw depends on nothing but its key and counter, a kernel that
gives each individual its own key produces the same numbers whatever thread
runs that individual, and so results are bit-identical for any thread count.
No state is shared between threads.
"""

import numpy as np
from numba import njit

__all__ = [
    "GAMMA",
    "PURPOSE_CROSSOVER",
    "PURPOSE_INIT",
    "PURPOSE_MUTATION",
    "mix64",
    "stream_key",
    "random_u64",
    "random_uniform",
    "random_normal",
    "stream_keys",
]

GAMMA = np.uint64(0x9E3779B97F4A7C15)
_M1 = np.uint64(0xBF58476D1CE4E5B9)
_M2 = np.uint64(0x94D049BB133111EB)
_S30 = np.uint64(30)
_S27 = np.uint64(27)
_S31 = np.uint64(31)
_S11 = np.uint64(11)
_ONE = np.uint64(1)
_INV53 = 1.0 / 9007199254740992.0  # 2**-53

#: Stream purposes: one key space each, so streams never overlap.
PURPOSE_INIT = 1
PURPOSE_CROSSOVER = 2
PURPOSE_MUTATION = 3
PURPOSE_SELECTION = 4
PURPOSE_BATCH = 5
PURPOSE_USER = 6


@njit(cache=True, inline="always")
def mix64(z):
    """SplitMix64 finaliser: a bijective 64-bit mixing function."""
    z = (z ^ (z >> _S30)) * _M1
    z = (z ^ (z >> _S27)) * _M2
    return z ^ (z >> _S31)


@njit(cache=True, inline="always")
def stream_key(seed, generation, individual, purpose):
    """Key of the stream of one (seed, generation, individual, purpose)."""
    k = mix64(np.uint64(seed) * GAMMA + np.uint64(purpose))
    k = mix64(k + np.uint64(generation) * GAMMA + _ONE)
    return mix64(k + np.uint64(individual) * GAMMA + _ONE)


@njit(cache=True, inline="always")
def random_u64(key, counter):
    """The ``counter``-th 64-bit draw of stream ``key``."""
    # np.uint64(key): an int64 key (e.g. a Python int from stream_key called
    # from Python) would otherwise promote int64 + uint64 to float64.
    return mix64(np.uint64(key) + (np.uint64(counter) + _ONE) * GAMMA)


@njit(cache=True, inline="always")
def random_uniform(key, counter):
    """The ``counter``-th draw of stream ``key`` as a float64 in [0, 1)."""
    return np.float64(random_u64(key, counter) >> _S11) * _INV53


@njit(cache=True, inline="always")
def random_normal(key, counter):
    """A standard normal draw from counters ``counter`` and ``counter + 1`` (Box-Muller)."""
    u1 = 1.0 - random_uniform(key, counter)  # (0, 1]
    u2 = random_uniform(key, counter + 1)
    return np.sqrt(-2.0 * np.log(u1)) * np.cos(2.0 * np.pi * u2)


@njit(cache=True)
def stream_keys(seed, generation, n, purpose):
    """Keys of individuals ``0 .. n-1`` (uint64 array)."""
    out = np.empty(n, dtype=np.uint64)
    for i in range(n):
        out[i] = stream_key(seed, generation, i, purpose)
    return out
