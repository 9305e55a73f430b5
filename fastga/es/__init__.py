"""Evolution strategies on fastga's population buffer.

:class:`OpenES`, :class:`PGPE`, :class:`SNES` and :class:`SepCMAES` are
:class:`~fastga.algorithm.Algorithm` objects with the interface of
:class:`~fastga.GeneticAlgorithm` (``ask``/``tell``/``run``, ``history_``,
``best_genome_``, ``save``/``load``), plus ``mean_``, the center of the
search distribution. ``spec`` may be an int ``n`` for plain vectors.
"""

from .base import ESState, EvolutionStrategy
from .openes import OpenES, OpenESState
from .pgpe import PGPE, PGPEState
from .sepcmaes import SepCMAES, SepCMAESState
from .snes import SNES, SNESState

__all__ = ["ESState", "EvolutionStrategy", "OpenES", "OpenESState", "PGPE", "PGPEState",
           "SNES", "SNESState", "SepCMAES", "SepCMAESState", "ALGORITHMS"]

#: The strategies by name (lower case).
ALGORITHMS = {"openes": OpenES, "pgpe": PGPE, "snes": SNES, "sepcmaes": SepCMAES}
