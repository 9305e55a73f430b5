"""GA-GAN on scikit-learn's 8x8 digits: generator lineages evolved against a Keras discriminator.

Run:  python examples/gan_digits.py [--generations N] [--out DIR] [--small]

Fits :class:`fastga.gan.LineageGAN` (``fastga gan``'s default method): a
population of generator MLPs trained side by side by gradient steps through
one discriminator, with selection (the least fit lineage replaced by a
mutated copy of the fittest, fitness = the discriminator's score plus a
novelty term) on top; the generator of the run is the mixture of the
lineages. Writes ``samples.png`` (one row per lineage, its own latents),
``losses.png`` and ``quality.png`` into the output folder, and prints the
sample-quality measures of :mod:`fastga.gan.quality` (k-NN precision and
recall against the training digits, FID on a digits classifier's features,
the classifier's confident share and class coverage; not the discriminator)
over the run, then for 1000 samples of the mixture next to held-out real
digits. The same with more options (and the reference's pure GA,
``--pure-ga``): ``fastga gan --help``.
"""

import argparse
import os

import numpy as np

from fastga.datasets import load_digits_split
from fastga.gan import LineageGAN, SampleQuality
from fastga.gan.plots import save_loss_plot, save_quality_plot, save_sample_grid


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--generations", type=int, default=300)
    ap.add_argument("--out", default="gan_digits_out")
    ap.add_argument("--small", action="store_true", help="tiny run (CI)")
    args = ap.parse_args(argv)
    out = args.out
    X, X_test, y, y_test = load_digits_split()
    quality = SampleQuality().fit(X, y, X_test, y_test)  # scores samples; not used in training
    size = (dict(generations=4, steps=10, quality_every=2, quality_samples=128) if args.small
            else dict(generations=args.generations))
    ev = LineageGAN(random_state=0, verbose=True, quality=quality, **size)
    ev.fit(X, y)
    os.makedirs(out, exist_ok=True)
    rows = ev.top_rows(ev.pop_size)
    images = np.concatenate([ev.sample(10, rows=rows[i:i + 1], random_state=i) for i in range(len(rows))])
    save_sample_grid(os.path.join(out, "samples.png"), images,
                     title=f"{len(rows)} lineages (rows, fittest first), 10 samples each")
    save_loss_plot(os.path.join(out, "losses.png"), ev.history_)
    save_quality_plot(os.path.join(out, "quality.png"), ev.history_, quality.real_scores_)
    h = ev.history_
    q = np.flatnonzero(np.isfinite(h["quality_precision"]))
    step = max(1, len(q) // 4)
    cols = ("precision", "recall", "fid", "confident", "coverage")
    print("generation " + "".join(f"{c:>11s}" for c in cols) + f"   (mixture, {ev.quality_samples} samples)")
    for i in list(q[::step]) + ([q[-1]] if (len(q) - 1) % step else []):
        print(f"{int(h['generation'][i]):10d} " + "".join(f"{h['quality_' + c][i]:11.3f}" for c in cols))
    final = ev.sample_quality(1000)
    for name, s in (("final, 1000 samples", final), ("held-out real digits", quality.real_scores_)):
        print(f"{name:>21s}" + "".join(f"{s['quality_' + c]:11.3f}" for c in cols))
    print(f"D accuracy, last generation: {h['d_accuracy'][-1]:.3f}")
    print(f"pictures in {out}/")


if __name__ == "__main__":
    main()
