"""PNG pictures of a GA-GAN run: sample grids and the loss curves (matplotlib, Agg)."""

from __future__ import annotations

import numpy as np

from ..plotting import figure as _figure
from ..plotting import save_png

__all__ = ["save_sample_grid", "save_loss_plot", "save_quality_plot"]


def _finish_panels(fig, title, path):
    """Label the shared generation axis, add the title and save the figure."""
    fig.axes[-1].set_xlabel("generation")
    if title:
        fig.suptitle(title, fontsize=10)
    fig.tight_layout()
    return save_png(fig, path, dpi=100)


def save_sample_grid(path, images, title=None, row_labels=None):
    """Save a grid of grey images as a PNG.

    Parameters
    ----------
    path : str or os.PathLike
    images : array-like of shape (n_rows, n_cols, h, w)
        E.g. one row per generator, one column per latent vector. Pixels in
        [0, 1] (white background, dark ink, like the digits data set's plots).
    title : str, optional
    row_labels : sequence of str, optional
    """
    images = np.asarray(images, dtype=np.float32)
    if images.ndim != 4:
        raise ValueError(f"images: expected shape (n_rows, n_cols, h, w), got {images.shape}")
    n_rows, n_cols, h, w = images.shape
    pad = 1
    canvas = np.ones((n_rows * (h + pad) + pad, n_cols * (w + pad) + pad), dtype=np.float32) * 0.5
    for i in range(n_rows):
        for j in range(n_cols):
            y0, x0 = pad + i * (h + pad), pad + j * (w + pad)
            canvas[y0:y0 + h, x0:x0 + w] = images[i, j]
    scale = max(2.0, 48.0 / max(h, w))
    fig = _figure((max(3.0, n_cols * w * scale / 100 + 1.2), max(2.0, n_rows * h * scale / 100 + 0.8)))
    ax = fig.add_subplot(1, 1, 1)
    ax.imshow(canvas, cmap="gray_r", vmin=0.0, vmax=1.0, interpolation="nearest")
    ax.set_xticks([])
    if row_labels is not None:
        ax.set_yticks([pad + i * (h + pad) + h / 2 for i in range(n_rows)])
        ax.set_yticklabels(list(row_labels), fontsize=7)
    else:
        ax.set_yticks([])
    if title:
        ax.set_title(title, fontsize=9)
    fig.tight_layout()
    return save_png(fig, path, dpi=100)


def save_loss_plot(path, history, title=None):
    """Save the discriminator's loss and accuracy, the fitness and the quality curves.

    Parameters
    ----------
    path : str or os.PathLike
    history : History
        Of a :class:`~fastga.gan.GANEvolver` run.
    """
    gen = history["generation"]
    panels = [
        ("discriminator", [("d_loss", "loss (BCE)"), ("d_accuracy", "accuracy (all fakes vs real)"),
                           ("ref_accuracy_min", "50/50 accuracy, best generator")]),
        ("generators", [("best_fitness", "best fitness"), ("mean_fitness", "mean fitness"),
                        ("mean_d_fake_best", "mean D(fake), fittest"),
                        ("spread", "spread across latents / real")]),
        ("sample quality (classifier, not D)", [("quality_confident", "confident share"),
                                                 ("quality_entropy", "class entropy / log 10"),
                                                 ("quality_confident_entropy",
                                                  "class entropy, confident only"),
                                                 ("quality_nn_ratio", "nearest-real distance ratio")]),
    ]
    panels = [(t, [(k, lab) for k, lab in cols if k in history]) for t, cols in panels]
    panels = [p for p in panels if p[1]]
    fig = _figure((7.5, 2.4 * len(panels) + 0.4))
    for i, (ttl, cols) in enumerate(panels):
        ax = fig.add_subplot(len(panels), 1, i + 1)
        for key, label in cols:
            v = history[key]
            ok = np.isfinite(v)
            ax.plot(gen[ok], v[ok], label=label, marker="." if ok.sum() < 60 else None)
        ax.set_title(ttl, fontsize=9)
        ax.legend(fontsize=7, loc="best")
        ax.grid(alpha=0.3)
    return _finish_panels(fig, title, path)


def save_quality_plot(path, history, reference=None, title=None):
    """Save the sample-quality measures over a run, with the real images' values as dashed lines.

    Parameters
    ----------
    path : str or os.PathLike
    history : History
        With the ``quality_*`` columns of :class:`~fastga.gan.quality.SampleQuality`
        (NaN in generations that were not scored).
    reference : dict, optional
        The same measures on held-out real images
        (:attr:`SampleQuality.real_scores_`).
    """
    gen = history["generation"]
    reference = reference or {}
    panels = [
        ("k-NN precision / recall (k=3, pixels), classes", [
            ("quality_precision", "precision"), ("quality_recall", "recall"),
            ("quality_confident", "confident share"), ("quality_coverage", "class coverage")]),
        ("FID (classifier hidden-layer features)", [("quality_fid", "FID")]),
    ]
    panels = [(t, [(k, lab) for k, lab in cols if k in history]) for t, cols in panels]
    panels = [p for p in panels if p[1]]
    if not panels:
        raise ValueError("history: no quality_* columns to plot")
    fig = _figure((7.5, 2.6 * len(panels) + 0.4))
    for i, (ttl, cols) in enumerate(panels):
        ax = fig.add_subplot(len(panels), 1, i + 1)
        for key, label in cols:
            v = history[key]
            ok = np.isfinite(v)
            line, = ax.plot(gen[ok], v[ok], label=label, marker=".")
            if key in reference:
                ax.axhline(reference[key], color=line.get_color(), linestyle="--", linewidth=0.8)
        if key == "quality_fid":
            ax.set_yscale("log")
        ax.set_title(ttl + ("; dashed: held-out real images" if reference else ""), fontsize=9)
        ax.legend(fontsize=7, loc="best")
        ax.grid(alpha=0.3)
    return _finish_panels(fig, title, path)
