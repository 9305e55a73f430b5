"""Where a generation's time goes: compilation, fitness, selection, breeding, the rest.

:func:`compile_seconds` is the process' total time in Numba compilations
(and cache loads), read from Numba's ``numba:compile`` events (outermost
events only: a kernel's compilation compiles the functions it calls).
:class:`GenerationClock` books the wall time of one generation into
exclusive phases; the compilation that happens inside a phase is booked as
``compile``, not as that phase. The phases add up to the generation's wall
time by construction (``other`` is the remainder).
"""

from __future__ import annotations

import threading
import time
from contextlib import contextmanager

__all__ = ["PHASES", "GenerationClock", "compile_seconds"]

#: The phases of a generation, as history columns ``<phase>_seconds``.
PHASES = ("compile", "fitness", "select", "breed", "other")

_lock = threading.Lock()
_listener = None


def _install():
    global _listener
    from numba.core import event

    class _CompileListener(event.Listener):
        def __init__(self):
            self.total = 0.0
            self._depth = 0
            self._t0 = 0.0

        def on_start(self, ev):
            with _lock:
                if self._depth == 0:
                    self._t0 = time.perf_counter()
                self._depth += 1

        def on_end(self, ev):
            with _lock:
                self._depth -= 1
                if self._depth == 0:
                    self.total += time.perf_counter() - self._t0

    _listener = _CompileListener()
    event.register("numba:compile", _listener)


def compile_seconds():
    """Seconds this process has spent compiling Numba functions so far.

    The listener is installed on the first call; compilations before it are
    not counted.
    """
    if _listener is None:
        with _lock:
            if _listener is None:
                _install()
    with _lock:
        running = time.perf_counter() - _listener._t0 if _listener._depth else 0.0
        return _listener.total + running


class GenerationClock:
    """Exclusive wall time per phase of one generation.

    ``with clock.phase(name):`` books the time of the block, minus that of
    the phases nested in it and of the compilation during it, to ``name``;
    :meth:`open` and :meth:`close` do the same for a stretch that starts in
    one call and ends in another (the user's fitness, between ``ask`` and
    ``tell``). :meth:`seconds` gives every phase, ``other`` being the rest of
    the wall time since the clock started.
    """

    def __init__(self):
        self.start = time.perf_counter()
        self._booked = dict.fromkeys(PHASES, 0.0)
        self._stack = []  # per open phase: [seconds of nested phases, compile in them]
        self._open = None

    def _book(self, name, t0, c0, nested=0.0, nested_compile=0.0):
        dt = time.perf_counter() - t0
        dc = compile_seconds() - c0
        own_compile = dc - nested_compile
        self._booked["compile"] += own_compile
        self._booked[name] += dt - nested - own_compile
        if self._stack:
            self._stack[-1][0] += dt
            self._stack[-1][1] += dc

    @contextmanager
    def phase(self, name):
        t0, c0 = time.perf_counter(), compile_seconds()
        self._stack.append([0.0, 0.0])
        try:
            yield
        finally:
            nested, nested_compile = self._stack.pop()
            self._book(name, t0, c0, nested, nested_compile)

    def open(self, name):
        """Start booking to ``name`` until :meth:`close`."""
        self._open = (name, time.perf_counter(), compile_seconds())

    def close(self):
        if self._open is not None:
            self._book(*self._open)
            self._open = None

    def seconds(self):
        """``{phase: seconds}``; ``other`` is the wall time since the start not in a phase."""
        out = dict(self._booked)
        out["other"] = max(0.0, time.perf_counter() - self.start
                           - sum(v for k, v in out.items() if k != "other"))
        return out
