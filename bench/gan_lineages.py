"""The lineage GA-GAN against a plain GAN trained for the same wall time, in one process.

Run:  PYTHONPATH=. python bench/gan_lineages.py '{"generations": 120}'   (LineageGAN settings as JSON;
      also "plain": false to skip the plain GAN, "png": PATH to save the lineages' samples,
      "save": PATH to save the run's checkpoint, "seed": the random_state (default 0),
      "second_population": {LineageGAN settings} to fit a second run after the first, with its own
      discriminator, and score both mixed, "second_share" of the samples from the first (default 0.6))

Fits ``LineageGAN(random_state=0, **settings)`` on ``load_digits_split()``
and times it, then trains :func:`bench.reference_gan.plain_gan` (same
generator and discriminator networks) for the same wall time, and prints the
quality measures (:class:`fastga.gan.SampleQuality`, 1000 samples) of the
lineages' mixture, of its fittest lineage alone, and of the plain GAN.
Figures: ``bench/README.md``, "GA-GAN by lineages".
"""

import json
import sys
import time

import numpy as np

from bench.reference_gan import plain_gan
from fastga._random import philox
from fastga.datasets import load_digits_split
from fastga.gan import SampleQuality
from fastga.gan.lineages import LineageGAN
from fastga.registry import Purpose

COLUMNS = ("quality_precision", "quality_recall", "quality_fid", "quality_confident", "quality_coverage")


def _row(scores):
    return " ".join(f"{k[len('quality_'):]}={scores[k]:.3f}" for k in COLUMNS)


def main(argv):
    settings = json.loads(argv[0]) if argv else {}
    plain = settings.pop("plain", True)
    png = settings.pop("png", None)
    save = settings.pop("save", None)
    generalists = settings.pop("second_population", None)
    share = float(settings.pop("second_share", 0.6))
    seed = int(settings.pop("seed", 0))
    X, X_test, y, y_test = load_digits_split()
    quality = SampleQuality(random_state=0).fit(X, y, X_test, y_test)
    gan = LineageGAN(random_state=seed, quality=quality, **settings)
    start = time.perf_counter()
    gan.fit(X, y)
    seconds = time.perf_counter() - start
    if generalists is not None:  # a second population with its own discriminator; both mixed
        gen2 = LineageGAN(random_state=seed + 1000, quality=quality, **generalists)
        start2 = time.perf_counter()
        gen2.fit(X, y)
        seconds2 = time.perf_counter() - start2
        print("generalists", generalists, f"{seconds2:.0f} s", flush=True)
        print("  generalists alone ", _row(gen2.sample_quality(1000)), flush=True)
        n1 = int(round(1000 * share))
        mixed = np.concatenate([gan.sample_mixture(n1, random_state=seed).reshape(n1, -1),
                                gen2.sample_mixture(1000 - n1, random_state=seed + 1).reshape(1000 - n1, -1)])
        print(f"  specialists alone  {_row(gan.sample_quality(1000))}", flush=True)
        print(f"  both, {share:.2f} specialists ({seconds + seconds2:.0f} s)", _row(quality.score(mixed)),
              flush=True)
        for other in (0.5, 0.7):
            m1 = int(round(1000 * other))
            mixed = np.concatenate([gan.sample_mixture(m1, random_state=seed).reshape(m1, -1),
                                    gen2.sample_mixture(1000 - m1, random_state=seed + 1).reshape(1000 - m1, -1)])
            print(f"  (both, {other:.2f} specialists", _row(quality.score(mixed)), ")", flush=True)
        seconds += seconds2
    steps = int(gan.generation_) * int(gan.steps)
    print(settings, f"{seconds:.0f} s, {steps} steps per lineage", flush=True)
    print("  lineages, mixture ", _row(gan.sample_quality(1000)), flush=True)
    print("  fittest lineage   ", _row(gan.sample_quality(1000, mixture=1)), flush=True)
    if getattr(gan, "generalist_genomes_", None) is not None:
        print("  specialists alone ", _row(gan.sample_quality(1000, mixture=gan.pop_size)), flush=True)
        print("  generalists alone ", _row(quality.score(gan.generalists_.sample_mixture(1000).reshape(1000, -1))),
              flush=True)
    if save:  # the whole run (LineageGAN.load reads it), to score other mixtures of it afterwards
        gan.save(save)
    h = gan.history_
    ok = np.isfinite(h["quality_recall"])
    print("  over the run (generation: precision/recall):", " ".join(
        f"{int(g)}:{p:.2f}/{r:.2f}" for g, p, r in zip(h["generation"][ok], h["quality_precision"][ok],
                                                        h["quality_recall"][ok])), flush=True)
    print("  losses", gan.losses_.tolist(), "lineage", gan.lineage_.tolist(), flush=True)
    if png:  # the command's samples_final.png: one row per lineage, its own latents
        from fastga.gan.plots import save_sample_grid

        rows = gan.top_rows(gan.pop_size)
        images = np.concatenate([gan.sample(10, rows=rows[i:i + 1], random_state=i) for i in range(len(rows))])
        save_sample_grid(png, images, title="lineages (rows), own latents per row")
    if plain:
        sample, plain_steps = plain_gan(X, seconds, seed=seed)
        z = philox(seed, 0, Purpose.QUALITY).standard_normal((1000, 16), dtype=np.float32)
        print(f"  plain GAN ({plain_steps} steps)", _row(quality.score(sample(z))), flush=True)


if __name__ == "__main__":
    main(sys.argv[1:])
