"""The register tiles the forward and fitness kernels call, from one of two backends.

``FASTGA_TILES`` chooses, once, when fastga is imported:

- ``ir`` (the default): the LLVM IR tiles of :mod:`fastga.kernels.tiles_ir`
  and :mod:`fastga.kernels.softmax_ir` (explicit 16-lane vectors, the
  accumulators in registers);
- ``numba``: their plain-Numba twins, :mod:`fastga.kernels.tiles_numba`
  (slower; for a CPU or a Numba/llvmlite version on which the IR misbehaves).

Both follow the same contracts and match the NumPy reference within float32
tolerance; they need not give the same bits (see :mod:`fastga.kernels.tiles_numba`).

:data:`CACHE` is what the kernels that call the tiles pass to ``@njit(cache=...)``:
Numba's on-disk cache does not know which backend a cached kernel was
compiled with, so only the default backend's kernels are cached (the twins'
are compiled in each process).
"""

import os

from .simd import LANES, MAX_SOFTMAX_TILE, TILE_ROWS, TILE_VECTORS, VECTOR_LANES

__all__ = ["BACKEND", "BACKENDS", "CACHE", "dense_tile", "bias_rows", "softmax_stats",
           "softmax_tile", "softmax_tile_upto", "LANES", "MAX_SOFTMAX_TILE", "TILE_ROWS", "TILE_VECTORS",
           "VECTOR_LANES"]

#: The values of ``FASTGA_TILES``.
BACKENDS = ("ir", "numba")

#: The backend in use (``FASTGA_TILES``, read once at import).
BACKEND = os.environ.get("FASTGA_TILES", "ir").strip().lower() or "ir"
if BACKEND not in BACKENDS:
    raise ValueError(f"FASTGA_TILES: expected one of {BACKENDS}, got "
                     f"{os.environ.get('FASTGA_TILES')!r}")

#: Whether the kernels that call the tiles are cached on disk (default backend only).
CACHE = BACKEND == "ir"

if BACKEND == "ir":
    from .softmax_ir import softmax_stats, softmax_tile, softmax_tile_upto
    from .tiles_ir import bias_rows, dense_tile
else:
    from .tiles_numba import bias_rows, dense_tile, softmax_stats, softmax_tile, softmax_tile_upto
