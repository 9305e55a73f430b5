"""Seeds and the counter-based NumPy generators of the Python driver.

The driver never touches NumPy's global random state. A fit resolves its
``random_state`` into one 63-bit seed; every random decision of generation
``g`` for purpose ``p`` then comes from ``Philox(key=(seed, g, p))``, a
counter-based generator, so the same seed gives the same run whatever the
thread count and whatever ran before.
"""

import numbers

import numpy as np

__all__ = ["resolve_seed", "philox"]

_MASK63 = (1 << 63) - 1


def resolve_seed(random_state):
    """Turn ``random_state`` into a non-negative int seed.

    Parameters
    ----------
    random_state : None, int, numpy.random.Generator or numpy.random.SeedSequence
        ``None`` draws fresh entropy from the operating system.

    Returns
    -------
    int
    """
    if random_state is None:
        return int(np.random.SeedSequence().entropy) & _MASK63
    if isinstance(random_state, (bool, np.bool_)):
        raise TypeError("random_state: expected None, an int or a numpy Generator, got a bool")
    if isinstance(random_state, numbers.Integral):
        if random_state < 0:
            raise ValueError(f"random_state: must be >= 0, got {random_state}")
        return int(random_state) & _MASK63
    if isinstance(random_state, np.random.Generator):
        return int(random_state.integers(0, _MASK63, dtype=np.int64))
    if isinstance(random_state, np.random.SeedSequence):
        return int(random_state.generate_state(2, dtype=np.uint64)[0]) & _MASK63
    raise TypeError(
        f"random_state: expected None, an int or a numpy Generator, got {type(random_state).__name__}"
    )


def philox(seed, generation, purpose):
    """A NumPy Generator on the Philox stream ``(seed, generation, purpose)``."""
    key = np.array([seed & _MASK63, ((generation & 0xFFFFFFFFFF) << 16) | (purpose & 0xFFFF)],
                   dtype=np.uint64)
    return np.random.Generator(np.random.Philox(key=key))
