"""One GA-GAN configuration on digits: the best generator against mixtures of the k fittest.

Run:  PYTHONPATH=. python bench/gan_mixture.py '{"sharing": 0.1}'   (GANEvolver settings as JSON)

Fits ``GANEvolver(random_state=0, **settings)`` on ``load_digits_split()``,
prints the wall time, then the quality measures
(:class:`fastga.gan.SampleQuality`, 1000 samples) of the best generator and
of uniform mixtures of the k fittest generators of the last generation (each
latent drawn by one generator picked at random), and the median RMS distance
between the generators' genomes. Figures: ``bench/README.md``, "Mixtures of
generators and fitness sharing".
"""

import json
import sys
import time

import numpy as np

from fastga._random import philox
from fastga.datasets import load_digits_split
from fastga.gan import GANEvolver, SampleQuality
from fastga.registry import Purpose

COLUMNS = ("quality_precision", "quality_recall", "quality_fid", "quality_confident", "quality_coverage")


def _row(scores):
    return " ".join(f"{k[len('quality_'):]}={scores[k]:.3f}" for k in COLUMNS)


def main(argv):
    settings = json.loads(argv[0]) if argv else {}
    X, X_test, y, y_test = load_digits_split()
    quality = SampleQuality(random_state=0).fit(X, y, X_test, y_test)
    ev = GANEvolver(random_state=0, quality=quality, **settings)
    start = time.perf_counter()
    ev.fit(X, y)
    print(settings, f"{time.perf_counter() - start:.0f} s")
    print("best        ", _row(ev.sample_quality(1000)))
    n = 1000
    z = philox(0, 0, Purpose.QUALITY).standard_normal((n, ev.generator_spec_.n_inputs), dtype=np.float32)
    for k in sorted({2, 4, ev.pop_size}):
        if k <= ev.pop_size:
            out = ev.population_.forward(z, rows=ev.top_rows(k))  # (k, n, pixels)
            pick = philox(0, 1, Purpose.QUALITY).integers(0, k, size=n)
            print(f"mixture {k:3d} ", _row(quality.score(out[pick, np.arange(n)])))
    g = ev.population_.genomes.astype(np.float64)
    d = np.sqrt(((g[:, None] - g[None]) ** 2).mean(axis=-1))
    print("median RMS distance between generators' genomes:", float(np.median(d[np.triu_indices(len(g), 1)])))


if __name__ == "__main__":
    main(sys.argv[1:])
