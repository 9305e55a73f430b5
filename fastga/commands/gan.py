"""``fastga gan``: evolve generator MLPs against a Keras discriminator (GA-GAN).

Runs on scikit-learn's 8x8 digits by default, or on MNIST-shaped images from
a local file (``--data PATH``: an IDX image file such as
``train-images-idx3-ubyte[.gz]`` with its labels beside it, an ``.npz`` such
as Keras' ``mnist.npz``, or a folder of the four MNIST IDX files; read by
:func:`fastga.datasets.load_images`, nothing is downloaded). Writes to
``--out`` (files named ``gan_*``): ``samples_gen{N}.png`` every
``--sample-every`` generations, ``samples_final.png`` (a row per generator),
``samples_by_class.png`` (the lineages' scored samples, a row per class the
quality classifier is sure of), ``generator.npz`` (the lineages' mixture,
or the best generator of the GA methods),
``discriminator.keras``, ``losses.png``, ``quality.png``, ``history.csv`` and
``checkpoint.npz``. The checkpoint (every ``--checkpoint-every`` generations,
at the end and on Ctrl-C) holds the whole run, the discriminator's Adam
state included; ``--resume PATH`` goes on from it. At the end it prints the
sample-quality measures of :mod:`fastga.gan.quality` (k-NN precision and
recall, FID, confident share, class coverage) for ``--quality-samples``
samples of the best generator, next to the same measures for held-out real
images (data without labels: no measures). TensorFlow is imported only when
the command runs. Before the run, the generators' kernels compile over the
CPUs (:func:`fastga.compile_ahead`).
"""

from __future__ import annotations

import io
import os
import shlex
import sys
import time

import numpy as np

from ..compilation import compile_ahead, tasks_for
from ..datasets import load_digits_split, load_images
from ..fileio import atomic_write_bytes
from ..gan import PURE_GA, GANEvolver, LineageGAN, SampleQuality
from ..gan.plots import save_loss_plot, save_quality_plot, save_sample_grid
from .common import (OUT, add_checkpoint_arguments, add_run_arguments, out_path,
                     print_profile, process_age)

#: Flags whose default is the method's (``GANEvolver``'s defaults, or
#: :data:`fastga.gan.PURE_GA` with ``--pure-ga``): flag dest -> evolver argument.
PRESET_FLAGS = {"generations": "generations", "pop_size": "pop_size", "batch_size": "batch_size",
                "d_steps": "d_steps", "d_batch": "d_batch", "d_lr": "d_learning_rate",
                "replay": "replay", "latent_gain": "latent_gain", "minibatch_std": "minibatch_std",
                "gradient_share": "gradient_share", "gradient_lr": "gradient_lr"}


#: Flags of the lineage method (the default): flag dest -> LineageGAN argument (None: its default).
LINEAGE_FLAGS = {"generations": "generations", "pop_size": "pop_size", "batch_size": "batch_size",
                 "d_batch": "d_batch", "d_lr": "d_learning_rate", "minibatch_std": "minibatch_std",
                 "steps": "steps", "novelty": "novelty", "sigma": "sigma", "generalists": "generalists",
                 "generalist_temperature": "generalist_temperature"}

#: Flags that only the GA methods (--hybrid, --pure-ga) read.
GA_ONLY_FLAGS = ("d_steps", "replay", "latent_gain", "gradient_share", "gradient_lr", "mutation_rate")


def lineage_settings(args):
    """LineageGAN's settings from the flags given (the others: its defaults)."""
    bad = [d for d in GA_ONLY_FLAGS if getattr(args, d) is not None]
    bad += [d for d, default in (("score", "mean"), ("diversity", 0.0), ("sharing", 0.0), ("threshold", None),
                                 ("gradient_steps", 1), ("elitism", 2)) if getattr(args, d) != default]
    if bad:
        raise ValueError(f"--{bad[0].replace('_', '-')}: a setting of the GA methods; add --hybrid or "
                         "--pure-ga, or drop it")
    return {arg: getattr(args, dest) for dest, arg in LINEAGE_FLAGS.items() if getattr(args, dest) is not None}


def method_settings(args):
    """The preset-controlled settings of the GA methods: the flags given, else the method's defaults."""
    import inspect

    base = {k: p.default for k, p in inspect.signature(GANEvolver).parameters.items()}
    if args.pure_ga:
        base.update(PURE_GA)
    out = {arg: (getattr(args, dest) if getattr(args, dest) is not None else base[arg])
           for dest, arg in PRESET_FLAGS.items()}
    ga = base["ga"]
    out["ga"] = ga.replace(
        mutation_rate=args.mutation_rate if args.mutation_rate is not None else ga.mutation_rate,
        sigma=args.sigma if args.sigma is not None else ga.sigma, elitism=args.elitism,
        mutation_rate_cap=max(ga.mutation_rate_cap,
                              args.mutation_rate if args.mutation_rate is not None else 0.0))
    if any(getattr(args, d) is not None for d in ("steps", "novelty", "generalists",
                                                  "generalist_temperature")):
        raise ValueError("--steps, --novelty, --generalists, --generalist-temperature: settings of the "
                         "lineage method (the default); drop --hybrid / --pure-ga")
    if args.pure_ga and args.gradient_share:
        raise ValueError("--pure-ga: the pure GA takes no gradient steps; drop --gradient-share")
    return out


def quality_table(scores, reference, label, reference_label, n_classes):
    """The sample-quality measures of ``scores`` and ``reference`` as a small text table."""
    rows = [("k-NN precision (k=3)", "quality_precision", "{:.3f}"),
            ("k-NN recall (k=3)", "quality_recall", "{:.3f}"),
            ("FID (classifier features)", "quality_fid", "{:.3f}"),
            ("confident share", "quality_confident", "{:.3f}"),
            ("classes >= 3% of confident", "quality_coverage", "{:.0%}")]
    w = max(len(label), len(reference_label), 10)
    out = [f"{'sample quality':28s} {label:>{w}s} {reference_label:>{w}s}"]
    for name, key, fmt in rows:
        a, b = fmt.format(scores[key]), fmt.format(reference[key])
        if key == "quality_coverage":
            a += f" ({round(scores[key] * n_classes)})"
            b += f" ({round(reference[key] * n_classes)})"
        out.append(f"{name:28s} {a:>{w}s} {b:>{w}s}")
    return "\n".join(out)

__all__ = ["add_parser", "run"]


def add_parser(subparsers):
    p = subparsers.add_parser(
        "gan",
        help="evolve generator networks against a TensorFlow discriminator (GA-GAN)",
        description=__doc__.split("\n\n")[0],
        epilog="Methods: by default K generator lineages trained side by side against one "
               "discriminator and evolved on top, then a few generalist lineages against a "
               "discriminator of their own (fastga.gan.LineageGAN; the result is the mixture of "
               "all of them); --hybrid: the GA with a gradient variation (GANEvolver's defaults); "
               "--pure-ga: crossover and mutation only (fastga.gan.PURE_GA). Flags shown with no "
               "default take the method's.",
    )
    p.add_argument("--data", "--mnist", dest="data", metavar="PATH", default=None,
                   help="MNIST-shaped images from a local file: an IDX image file "
                        "(train-images-idx3-ubyte[.gz], labels read from beside it), an .npz "
                        "(x_train, optionally y_train, x_test, y_test) or a folder of the four MNIST "
                        "IDX files; nothing is downloaded (default: the bundled 8x8 digits)")
    add_run_arguments(p, pop_size=None, generations=None,
                      pop_size_help="generators per generation (default: the method's)",
                      generations_help="generations to run (default: the method's)")
    p.add_argument("--latent", type=int, default=16, help="latent size (the reference used 100)")
    p.add_argument("--hidden", type=int, default=100)
    p.add_argument("--hidden-activation", default="tanh",
                   help="generators' hidden activation (the reference: sigmoid)")
    p.add_argument("--batch-size", type=int, default=None, help="fakes per generator per generation")
    p.add_argument("--d-steps", type=int, default=None, help="discriminator train_on_batch calls per generation")
    p.add_argument("--d-batch", type=int, default=None, help="real images (and as many fakes) per D step")
    p.add_argument("--d-lr", type=float, default=None, help="discriminator learning rate (Adam)")
    p.add_argument("--score", choices=("mean", "log", "features"), default="mean",
                   help="generator fitness: mean D(fake), mean log D(fake), or matching D's features")
    p.add_argument("--real-label", type=float, default=0.9,
                   help="target of real images when D trains (<1: one-sided label smoothing)")
    p.add_argument("--replay", type=int, default=None,
                   help="buffer of older fakes; half of D's fakes come from it (0: off)")
    p.add_argument("--diversity", type=float, default=0.0,
                   help="weight of the bonus for spread across latents (against mode collapse)")
    p.add_argument("--sharing", type=float, default=0.0,
                   help="fitness-sharing radius (RMS pixel distance) keeping distinct generators (0: off)")
    p.add_argument("--latent-gain", type=float, default=None,
                   help="scale of the generators' initial latent->hidden weights")
    p.add_argument("--minibatch-std", type=int, default=None, metavar="G",
                   help="group size of D's minibatch standard deviation feature; each group holds "
                        "fakes of one generator or real images (0: the reference's D exactly)")
    p.add_argument("--mutation-rate", type=float, default=None,
                   help="per-weight mutation probability (default: the method's)")
    p.add_argument("--sigma", type=float, default=None,
                   help="gaussian mutation's standard deviation; lineage method: of the noise on a "
                        "copied generator (default: the method's)")
    p.add_argument("--elitism", type=int, default=2,
                   help="best individuals copied unchanged (default: %(default)s)")
    p.add_argument("--gradient-share", type=float, default=None,
                   help="share of each generation's children that also take a gradient step through "
                        "the discriminator (a variation operator; 0: the pure GA)")
    p.add_argument("--gradient-lr", type=float, default=None,
                   help="typical change of one weight per gradient step (RMS-normalised)")
    p.add_argument("--gradient-steps", type=int, default=1, help="gradient steps per chosen child")
    p.add_argument("--gradient-loss", choices=("nonsaturating", "minimax", "least_squares", "mixed"),
                   default="mixed",
                   help="generator loss of the gradient steps ('mixed': E-GAN's three, by thirds)")
    p.add_argument("--steps", type=int, default=None,
                   help="lineage method: training steps of every generator per generation")
    p.add_argument("--novelty", type=float, default=None,
                   help="lineage method: weight of a generator's distinctness (its fakes' nearest "
                        "neighbours are its own) in its fitness")
    p.add_argument("--generalists", type=int, default=None,
                   help="lineage method: lineages of a second phase, trained against a discriminator of "
                        "their own, mixed in with the first phase's (0: off; default: the method's)")
    p.add_argument("--generalist-temperature", type=float, default=None,
                   help="lineage method: scale of the latents the generalists draw when sampled (above 1: "
                        "more varied samples, more recall; default: the method's)")
    p.add_argument("--hybrid", action="store_true",
                   help="the GA with a gradient variation operator (GANEvolver's defaults: E-GAN's "
                        "three losses on every child, 8 generators, 3000 generations) instead of the "
                        "lineages")
    p.add_argument("--pure-ga", action="store_true",
                   help="the GA-GAN without gradients: variation by crossover and mutation only, with "
                        "its own defaults (fastga.gan.PURE_GA: 200 generators, 200 generations, ...)")
    p.add_argument("--quality-samples", type=int, default=1000,
                   help="samples of the best generator scored at the end")
    p.add_argument("--mixture", type=int, default=None, metavar="K",
                   help="score the final samples of a uniform mixture of the K fittest generators "
                        "(each sample drawn by one of them; default: all the lineages, or the best "
                        "generator with --hybrid / --pure-ga)")
    p.add_argument("--threshold", type=float, default=None,
                   help="stop once D's 50/50 accuracy on some generator's fakes is <= this (a fraction)")
    p.add_argument("--sample-every", type=int, default=500, metavar="N",
                   help="save a PNG grid of samples every N generations (0: only at the end)")
    p.add_argument("--grid", type=int, nargs=2, default=(8, 10), metavar=("GENERATORS", "SAMPLES"),
                   help="rows (best generators) and columns (samples each) of the grids")
    p.add_argument("--threads", type=int, default=None, help="TensorFlow threads (default: all cores)")
    add_checkpoint_arguments(
        p, "gan",
        "Ctrl-C saves a checkpoint after the generation under way and exits with the command that "
        "resumes. With --resume the settings come from the checkpoint (the flags above are not "
        "read, except --generations, the total to reach, and --data, which must give the same "
        "images), and the run goes on as if it had not stopped.")
    p.set_defaults(func=run)
    return p


def _class_grid(path, images, quality, title, per_class=10):
    """Save ``images`` (n, h, w) a row per class to ``path``: the first ``per_class`` that the
    quality classifier is sure of in each class (blank where a class has fewer)."""
    idx = quality.by_class(images.reshape(images.shape[0], -1), per_class)
    grid = np.full((idx.shape[0], per_class) + images.shape[1:], 0.5, dtype=np.float32)
    grid[idx >= 0] = images[idx[idx >= 0]]
    save_sample_grid(path, grid, title=title, row_labels=[str(c) for c in quality.classifier_.classes_])
    return path


def _load_data(args):
    if args.data is None:
        X, X_test, y, y_test = load_digits_split()
        return X, y, X_test, y_test, "digits"
    X, X_test, y, y_test = load_images(args.data, name="--data")
    return X, y, X_test, y_test, os.path.basename(os.path.normpath(args.data))


def _history_csv(history):
    cols = history.keys()
    buf = io.StringIO()
    buf.write(",".join(cols) + "\n")
    table = [history[c] for c in cols]
    for i in range(len(history)):
        buf.write(",".join(f"{col[i]:.6g}" for col in table) + "\n")
    return buf.getvalue().encode()


def _load_run(path):
    """The run saved in the checkpoint ``path``: a LineageGAN or a GANEvolver."""
    from ..fileio import load_npz

    _, meta = load_npz(path)
    return (LineageGAN if meta.get("class") == "LineageGAN" else GANEvolver).load(path)


def _done(ev):
    """Generations completed by a run."""
    return ev.generation_ if isinstance(ev, LineageGAN) else ev.population_.generation


def run(args):
    try:
        import tensorflow  # noqa: F401
    except ImportError:
        print("fastga gan: error: TensorFlow is not installed (pip install 'fastga[gan]')", file=sys.stderr)
        return 3
    if args.sample_every < 0:
        raise ValueError(f"--sample-every: must be >= 0, got {args.sample_every}")
    n_gen, n_samp = args.grid
    if n_gen < 1 or n_samp < 1:
        raise ValueError(f"--grid: both numbers must be >= 1, got {n_gen} {n_samp}")
    if args.quality_samples < 4:
        raise ValueError(f"--quality-samples: must be >= 4, got {args.quality_samples}")
    if args.checkpoint_every is not None and args.checkpoint_every < 1:
        raise ValueError(f"--checkpoint-every: must be >= 1, got {args.checkpoint_every}")
    if args.mixture is not None and args.mixture < 1:
        raise ValueError(f"--mixture: must be >= 1, got {args.mixture}")
    if args.hybrid and args.pure_ga:
        raise ValueError("--hybrid, --pure-ga: choose one method")
    started = process_age()  # before this call: interpreter start and imports
    t0 = time.perf_counter()
    X, y, X_test, y_test, name = _load_data(args)
    checkpoint = args.checkpoint or args.resume or out_path(args, "gan", "checkpoint.npz")
    ev = _load_run(args.resume) if args.resume else None  # the saved run's settings and seed
    seed = int(ev.random_state) if ev is not None else args.seed
    quality = None
    if y is not None:
        quality = SampleQuality(random_state=seed).fit(X, y, X_test, y_test)
    else:
        print(f"fastga gan: {args.data} has no labels beside it: no sample-quality measures "
              "(they need a digits classifier)", file=sys.stderr)
    if args.resume:
        ev.quality = quality if quality is not None else False
        done = _done(ev)
        total = ev.generations if args.generations is None else args.generations
        if total < done:
            raise ValueError(f"--generations: the checkpoint is at generation {done}; --generations is "
                             f"the total to reach, got {total}")
        ev.generations = total
        ev.verbose = not args.quiet
        ev.checkpoint_path = checkpoint
        if args.checkpoint_every is not None:
            ev.checkpoint_every = args.checkpoint_every
        print(f"resuming {args.resume} at generation {done}")
    elif not (args.hybrid or args.pure_ga):
        ev = LineageGAN(
            latent_dim=args.latent, hidden=args.hidden, hidden_activation=args.hidden_activation,
            real_label=args.real_label, gradient_loss=args.gradient_loss,
            quality=quality if quality is not None else False, random_state=args.seed,
            threads=args.threads, verbose=not args.quiet, checkpoint_every=args.checkpoint_every,
            checkpoint_path=checkpoint, **lineage_settings(args),
        )
    else:
        ev = GANEvolver(
            latent_dim=args.latent, hidden=args.hidden, hidden_activation=args.hidden_activation,
            score=args.score, real_label=args.real_label, diversity=args.diversity, sharing=args.sharing,
            gradient_steps=args.gradient_steps, gradient_loss=args.gradient_loss,
            quality=quality if quality is not None else False,
            threshold=args.threshold, random_state=args.seed,
            threads=args.threads, verbose=not args.quiet, checkpoint_every=args.checkpoint_every,
            checkpoint_path=checkpoint, **method_settings(args),
        )
    lineages = isinstance(ev, LineageGAN)
    cmd = ["fastga", "gan", "--resume", checkpoint, "--generations", str(ev.generations)]
    if args.data is not None:
        cmd += ["--data", args.data]
    if args.out != OUT:
        cmd += ["--out", args.out]

    def grid(evolver, label):
        rows = evolver.top_rows(min(n_gen, evolver.pop_size))
        extra = getattr(evolver, "generalist_genomes_", None) if lineages else None
        if extra is not None:  # the generalists' rows too (indices pop_size and up)
            rows = np.concatenate([rows, evolver.pop_size + np.arange(extra.shape[0])])
        # Each row its own latents: a small population's generators are close kin, so
        # shared latents would draw nearly the same row again and again.
        images = np.concatenate([evolver.sample(n_samp, rows=rows[i:i + 1], random_state=seed + i)
                                 for i in range(len(rows))])
        path = out_path(args, "gan", f"samples_{label}.png")
        what = "lineages" if lineages else "generators"
        if extra is not None:
            what += f" (the last {extra.shape[0]}: generalists)"
        save_sample_grid(path, images, title=f"{name}: {label}, best {len(rows)} {what} (rows), "
                                             "own latents per row",
                         row_labels=[f"#{r}" for r in rows])
        return path

    def every_n(evolver, record):
        g = int(record["generation"])
        if args.sample_every and g % args.sample_every == 0:
            grid(evolver, f"gen{g:04d}")
        return False

    spec = ev.generator_spec_ if args.resume else ev.network_spec(X.shape[1])
    try:
        compile_ahead(spec, tasks_for())  # D scores: no fused fitness
        t_fit = time.perf_counter()
        ev.fit(X, y, callbacks=[every_n])
        t_fitted = time.perf_counter()
    except KeyboardInterrupt:  # before the first generation, or a second Ctrl-C while saving
        print("\ninterrupted", file=sys.stderr)
        if os.path.exists(checkpoint):
            print(f"the last checkpoint is {checkpoint}; to resume: {shlex.join(cmd)}", file=sys.stderr)
        return 130
    if ev.stopped_ == "interrupted":
        print(f"\ninterrupted at generation {_done(ev)}; checkpoint saved to "
              f"{checkpoint}", file=sys.stderr)
        print(f"to resume: {shlex.join(cmd)}", file=sys.stderr)
        return 130
    h = ev.history_
    final = grid(ev, "final")
    ev.save_generator(out_path(args, "gan", "generator.npz"))
    ev.save_discriminator(out_path(args, "gan", "discriminator.keras"))
    save_loss_plot(out_path(args, "gan", "losses.png"), h, title=f"GA-GAN on {name}")
    if quality is not None:
        save_quality_plot(out_path(args, "gan", "quality.png"), h, quality.real_scores_,
                          title=f"GA-GAN on {name}: samples of the "
                                + ("lineages' mixture" if lineages else "best generator"))
    atomic_write_bytes(out_path(args, "gan", "history.csv"), _history_csv(h))
    last = {k: h[k][-1] for k in ("mean_d_fake_best", "d_accuracy", "ref_accuracy_min") if k in h}
    print(f"{_done(ev)} generations ({ev.stopped_ or 'completed'}); fittest generator's mean D(fake) "
          f"{last['mean_d_fake_best']:.3f}, D accuracy {last['d_accuracy']:.3f}"
          + (f", 50/50 accuracy on the best {last['ref_accuracy_min']:.3f}" if "ref_accuracy_min" in last
             else ""))
    if quality is not None:
        n_q = args.quality_samples
        if lineages:  # the run's generator (every lineage, generalists included), or the k fittest
            k = min(args.mixture, ev.pop_size) if args.mixture else None
            who = "best generator" if k == 1 else f"mixture of {k or ev.generator_.genomes.shape[0]} generators"
            images = ev.sample_mixture(n_q, k, random_state=seed)
            scores = quality.score(images.reshape(n_q, -1))
        else:
            k = min(args.mixture or 1, ev.pop_size)
            who = f"mixture of {k} generators" if k > 1 else "best generator"
            scores = ev.sample_quality(n_q, random_state=seed, mixture=k)
        print(quality_table(scores, quality.real_scores_, f"{who}, {n_q} samples",
                            f"held-out real, {quality.n_holdout_}", quality.n_classes_))
        if lineages:  # the scored samples, a row per class the held-out classifier is sure of
            path = _class_grid(out_path(args, "gan", "samples_by_class.png"), images, quality,
                               f"{name}: the {n_q} scored samples, the first 10 of each class "
                               "the classifier is sure of")
            print(f"samples by class: {path}")
    print(f"samples: {final}; gan_generator.npz, gan_discriminator.keras, gan_losses.png, "
          + ("gan_quality.png, " if quality is not None else "") + f"gan_history.csv in {args.out}")
    print(f"checkpoint {checkpoint} (to go on: fastga gan --resume {shlex.quote(checkpoint)} "
          f"--generations TOTAL" + (f" --data {shlex.quote(args.data)}" if args.data else "") + ")")
    if args.profile:
        in_generations = float(np.sum(h["seconds"])) if "seconds" in h else 0.0
        print_profile(h, setup=t_fit - t0,
                      finish=(t_fitted - t_fit - in_generations) + (time.perf_counter() - t_fitted),
                      wall=time.perf_counter() - t0, started=started)
    return 0
