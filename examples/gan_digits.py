"""GA-GAN on scikit-learn's 8x8 digits: evolve generator MLPs against a Keras discriminator.

Run:  python examples/gan_digits.py [--generations N] [--out DIR] [--small]

Writes ``samples.png`` (rows: the best generators, columns: samples, one
latent vector per column) and ``losses.png`` into the output folder, and
prints the quality measure (a digits classifier trained on real images and
the distance to the nearest real image, not the discriminator) at the
start, middle and end of the run. The defaults: tanh generators
(latent_gain 3) against the reference's discriminator plus a minibatch
standard deviation feature over groups of one generator's fakes. The same with more options:
``fastga gan --help``.
"""

import argparse
import os

import numpy as np

from fastga.datasets import load_digits_split
from fastga.gan import GANEvolver
from fastga.gan.plots import save_loss_plot, save_sample_grid


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--generations", type=int, default=200)
    ap.add_argument("--out", default="gan_digits_out")
    ap.add_argument("--small", action="store_true", help="tiny run (CI)")
    args = ap.parse_args(argv)
    out = args.out
    X, _, y, _ = load_digits_split()
    size = dict(generations=6, pop_size=10) if args.small else dict(generations=args.generations)
    ev = GANEvolver(random_state=0, verbose=True, **size)
    ev.fit(X, y)  # y only feeds the quality measure
    os.makedirs(out, exist_ok=True)
    save_sample_grid(os.path.join(out, "samples.png"), ev.sample(10, rows=ev.top_rows(8)),
                     title="best 8 generators (rows), 10 samples each")
    save_loss_plot(os.path.join(out, "losses.png"), ev.history_)
    h = ev.history_
    q = np.flatnonzero(np.isfinite(h["quality_confident"]))
    step = max(1, len(q) // 4)
    print("generation  confident  entropy  entropy(confident)  nn_ratio"
          "   (classifier and nearest real image, not D)")
    for i in list(q[::step]) + ([q[-1]] if (len(q) - 1) % step else []):
        print(f"{int(h['generation'][i]):10d}  {h['quality_confident'][i]:9.2f}  "
              f"{h['quality_entropy'][i]:7.2f}  {h['quality_confident_entropy'][i]:17.2f}  "
              f"{h['quality_nn_ratio'][i]:8.2f}")
    print(f"D accuracy, last generation: {h['d_accuracy'][-1]:.3f}; "
          f"best generator's 50/50 accuracy: {h['ref_accuracy_min'][-1]:.3f}")
    print(f"pictures in {out}/")


if __name__ == "__main__":
    main()
