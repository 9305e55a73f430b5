"""fastga on Ray: an island model across cores and machines (``pip install 'fastga[ray]'``).

N islands run as Ray actors, each a :class:`fastga.GeneticAlgorithm` on its
own cores; every ``migration_every`` generations the best ``n_migrants``
genomes of each island move (as float32 arrays through Ray's object store)
to another island, where they replace the worst. The driver keeps the global
best and the history; an island whose actor dies is restarted from its last
checkpoint. See ``fastga/distributed/README.md`` for the costs (bytes per
migration, driver load) measured and estimated for 64 and 1,024 islands.

Ray is imported only when an :class:`IslandModel` runs: importing
``fastga`` or ``fastga.distributed`` never loads it.

Examples
--------
>>> from functools import partial
>>> from fastga import GASettings, SupervisedFitness
>>> from fastga.datasets import load_digits_split
>>> from fastga.distributed import IslandModel
>>> X, _, y, _ = load_digits_split()
>>> model = IslandModel([64, 32, 10], n_islands=2, pop_size=50,
...                     ga=GASettings(sigma=0.05),
...                     random_state=0)  # doctest: +SKIP
>>> model.run(partial(SupervisedFitness, X, y, batch_size=256), 20)  # doctest: +SKIP
"""

from .cluster import connect, configure_threads, thread_env
from .island import REEVALUATE, Island
from .model import TOPOLOGIES, IslandModel, merge_histories

# GANFitnessFactory lives in fastga.distributed.gan (imports nothing heavy until called).

__all__ = ["IslandModel", "Island", "TOPOLOGIES", "REEVALUATE", "connect", "configure_threads",
           "thread_env", "merge_histories"]
