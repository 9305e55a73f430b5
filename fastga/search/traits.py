"""Traits of a candidate network and how they are drawn, bred and mutated.

A candidate is described by six traits (as in the architecture-search
reference): ``layer_sizes`` (hidden layers), ``batch_size``,
``learning_rate``, ``momentum``, inverse-time ``decay`` and ``dropout``
after the first layer. Layer sizes come from
``layer_func(x, A, w) = (A * cos(w * linspace(0, pi/2, x))).astype(int)``:
``x`` layers, ``A`` neurons in the first one, ``w`` how fast they shrink.
With ``0 <= w <= 1`` no size is negative; sizes of 0 are dropped.

Every function takes a NumPy ``Generator`` (the search passes counter-based
Philox streams), never the global random state.
"""

from __future__ import annotations

import math
import numbers
from dataclasses import dataclass, fields, replace

import numpy as np

__all__ = ["TRAIT_NAMES", "TraitBounds", "Traits", "layer_func", "randomize", "breed", "mutate"]

#: The traits, in the order breeding and mutation visit them.
TRAIT_NAMES = ("layer_sizes", "batch_size", "learning_rate", "momentum", "decay", "dropout")


def layer_func(x, A, w):
    """Hidden layer sizes ``(A * cos(w * linspace(0, pi/2, x))).astype(int)``."""
    return (A * np.cos(w * np.linspace(0, np.pi / 2, x))).astype(int)


def _num(value, name):
    if isinstance(value, bool) or not isinstance(value, numbers.Real):
        raise TypeError(f"{name}: expected a number, got {value!r}")
    value = float(value)
    if not math.isfinite(value):
        raise ValueError(f"{name}: must be finite, got {value}")
    return value


def _int(value, name, minimum):
    if isinstance(value, bool) or not isinstance(value, numbers.Integral):
        raise TypeError(f"{name}: expected an int, got {value!r}")
    if value < minimum:
        raise ValueError(f"{name}: must be >= {minimum}, got {value}")
    return int(value)


@dataclass(frozen=True)
class Traits:
    """Hyperparameters of one candidate.

    Parameters
    ----------
    layer_sizes : tuple of int
        Hidden layer sizes (at least one, each >= 1); the input and output
        sizes come from the data.
    batch_size : int
        Samples per SGD step (>= 1).
    learning_rate : float
        Initial SGD learning rate (> 0).
    momentum : float
        SGD momentum in [0, 1).
    decay : float
        Inverse-time decay: step ``t`` uses ``learning_rate / (1 + decay * t)``
        (>= 0).
    dropout : float
        Dropout rate after the first layer, in [0, 1).
    """

    layer_sizes: tuple
    batch_size: int
    learning_rate: float
    momentum: float
    decay: float
    dropout: float

    def __post_init__(self):
        sizes = self.layer_sizes
        if isinstance(sizes, (numbers.Number, str)) or sizes is None:
            raise TypeError(f"layer_sizes: expected a sequence of ints, got {sizes!r}")
        sizes = tuple(sizes)
        if not sizes:
            raise ValueError("layer_sizes: needs at least one hidden layer, got ()")
        clean = []
        for i, s in enumerate(sizes):
            if isinstance(s, bool) or not isinstance(s, numbers.Integral):
                raise TypeError(f"layer_sizes: entry {i} must be an int, got {s!r}")
            if s < 1:
                raise ValueError(f"layer_sizes: entry {i} must be >= 1, got {s}")
            clean.append(int(s))
        object.__setattr__(self, "layer_sizes", tuple(clean))
        object.__setattr__(self, "batch_size", _int(self.batch_size, "batch_size", 1))
        lr = _num(self.learning_rate, "learning_rate")
        if lr <= 0:
            raise ValueError(f"learning_rate: must be > 0, got {lr}")
        object.__setattr__(self, "learning_rate", lr)
        mom = _num(self.momentum, "momentum")
        if not 0 <= mom < 1:
            raise ValueError(f"momentum: must lie in [0, 1), got {mom}")
        object.__setattr__(self, "momentum", mom)
        decay = _num(self.decay, "decay")
        if decay < 0:
            raise ValueError(f"decay: must be >= 0, got {decay}")
        object.__setattr__(self, "decay", decay)
        drop = _num(self.dropout, "dropout")
        if not 0 <= drop < 1:
            raise ValueError(f"dropout: must lie in [0, 1), got {drop}")
        object.__setattr__(self, "dropout", drop)

    def to_dict(self):
        """JSON-able dict (``layer_sizes`` as a list)."""
        d = {f.name: getattr(self, f.name) for f in fields(self)}
        d["layer_sizes"] = list(self.layer_sizes)
        return d

    @classmethod
    def from_dict(cls, d):
        if not isinstance(d, dict):
            raise TypeError(f"traits: expected a dict, got {type(d).__name__}")
        missing = [k for k in TRAIT_NAMES if k not in d]
        if missing:
            raise ValueError(f"traits: missing {missing}")
        return cls(**{k: d[k] for k in TRAIT_NAMES})

    def n_params(self, n_in=1, n_out=1):
        sizes = (n_in,) + self.layer_sizes + (n_out,)
        return sum(a * b + b for a, b in zip(sizes[:-1], sizes[1:]))


def _pair(value, name, low=None, high=None, integer=False):
    try:
        a, b = value
    except (TypeError, ValueError):
        raise TypeError(f"{name}: expected a (low, high) pair, got {value!r}") from None
    if integer:
        a, b = _int(a, name, 1 if low is None else low), _int(b, name, 1 if low is None else low)
    else:
        a, b = _num(a, name), _num(b, name)
        if low is not None and a < low:
            raise ValueError(f"{name}: low must be >= {low}, got {a}")
    if high is not None and b > high:
        raise ValueError(f"{name}: high must be <= {high}, got {b}")
    if a > b:
        raise ValueError(f"{name}: low {a} is above high {b}")
    return (a, b)


@dataclass(frozen=True)
class TraitBounds:
    """Ranges the traits are drawn from (all inclusive).

    Parameters
    ----------
    n_layers : (int, int)
        Number of hidden layers ``x``.
    neurons : (int, int)
        Size ``A`` of the first hidden layer.
    shrink : (float, float)
        ``w`` of :func:`layer_func`, within [0, 1] so no size is negative.
    batch_size : (int, int)
        Drawn log-uniformly.
    learning_rate : (float, float)
        Drawn log-uniformly; low > 0.
    momentum : (float, float)
        Within [0, 1).
    decay : (float, float)
        Within [0, inf).
    dropout : (float, float)
        Within [0, 1).
    """

    n_layers: tuple = (1, 4)
    neurons: tuple = (8, 64)
    shrink: tuple = (0.0, 1.0)
    batch_size: tuple = (8, 64)
    learning_rate: tuple = (0.005, 0.2)
    momentum: tuple = (0.0, 0.95)
    decay: tuple = (0.0, 0.005)
    dropout: tuple = (0.0, 0.3)

    def __post_init__(self):
        s = object.__setattr__
        s(self, "n_layers", _pair(self.n_layers, "bounds.n_layers", low=1, integer=True))
        s(self, "neurons", _pair(self.neurons, "bounds.neurons", low=1, integer=True))
        s(self, "shrink", _pair(self.shrink, "bounds.shrink", low=0.0, high=1.0))
        s(self, "batch_size", _pair(self.batch_size, "bounds.batch_size", low=1, integer=True))
        lr = _pair(self.learning_rate, "bounds.learning_rate", low=0.0)
        if lr[0] <= 0:
            raise ValueError(f"bounds.learning_rate: low must be > 0, got {lr[0]}")
        s(self, "learning_rate", lr)
        mom = _pair(self.momentum, "bounds.momentum", low=0.0)
        if mom[1] >= 1:
            raise ValueError(f"bounds.momentum: high must be < 1, got {mom[1]}")
        s(self, "momentum", mom)
        s(self, "decay", _pair(self.decay, "bounds.decay", low=0.0))
        drop = _pair(self.dropout, "bounds.dropout", low=0.0)
        if drop[1] >= 1:
            raise ValueError(f"bounds.dropout: high must be < 1, got {drop[1]}")
        s(self, "dropout", drop)

    @classmethod
    def coerce(cls, bounds):
        """``None`` -> defaults; a dict -> ``TraitBounds(**dict)``; an instance as is."""
        if bounds is None:
            return cls()
        if isinstance(bounds, cls):
            return bounds
        if isinstance(bounds, dict):
            unknown = set(bounds) - {f.name for f in fields(cls)}
            if unknown:
                raise ValueError(f"bounds: unknown keys {sorted(unknown)}")
            return cls(**bounds)
        raise TypeError(f"bounds: expected None, a dict or a TraitBounds, got {type(bounds).__name__}")


def _log_uniform(rng, low, high):
    if low == high:
        return float(low)
    return float(np.exp(rng.uniform(np.log(low), np.log(high))))


def draw_trait(name, rng, bounds):
    """Draw one trait's value within ``bounds``."""
    b = bounds
    if name == "layer_sizes":
        x = int(rng.integers(b.n_layers[0], b.n_layers[1] + 1))
        A = int(rng.integers(b.neurons[0], b.neurons[1] + 1))
        w = float(rng.uniform(*b.shrink))
        sizes = tuple(int(s) for s in layer_func(x, A, w) if s > 0)
        return sizes or (A,)
    if name == "batch_size":
        return int(round(_log_uniform(rng, *b.batch_size)))
    if name == "learning_rate":
        return round(_log_uniform(rng, *b.learning_rate), 6)
    if name in ("momentum", "decay", "dropout"):
        lo, hi = getattr(b, name)
        return round(float(rng.uniform(lo, hi)), 6)
    raise ValueError(f"name: unknown trait {name!r}; expected one of {TRAIT_NAMES}")


def randomize(rng, bounds=None):
    """A candidate with every trait drawn at random."""
    bounds = TraitBounds.coerce(bounds)
    return Traits(**{name: draw_trait(name, rng, bounds) for name in TRAIT_NAMES})


def breed(parent1, parent2, rng):
    """Two children: each trait comes from one parent at random, the other child gets the other's."""
    a, b = {}, {}
    for name, coin in zip(TRAIT_NAMES, rng.random(len(TRAIT_NAMES))):
        p, q = (parent1, parent2) if coin < 0.5 else (parent2, parent1)
        a[name] = getattr(p, name)
        b[name] = getattr(q, name)
    return Traits(**a), Traits(**b)


def mutate(traits, rng, bounds=None, rate=0.01):
    """With probability ``rate``, re-draw 1 to 3 traits (chosen at random); else unchanged.

    Returns ``(traits, n_redrawn)``.
    """
    bounds = TraitBounds.coerce(bounds)
    if rng.random() >= rate:
        return traits, 0
    k = int(rng.integers(1, 4))
    names = rng.choice(len(TRAIT_NAMES), size=k, replace=False)
    changes = {TRAIT_NAMES[i]: draw_trait(TRAIT_NAMES[i], rng, bounds) for i in sorted(names)}
    return replace(traits, **changes), k
