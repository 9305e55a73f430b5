"""PNG figures (matplotlib, Agg backend; the ``plot`` extra)."""

from __future__ import annotations

import os


__all__ = ["figure", "save_png", "save_fitness_curve"]


def _pyplot():
    try:
        import matplotlib
    except ImportError:
        raise ImportError("plotting needs matplotlib: pip install 'fastga[plot]'") from None
    matplotlib.use("Agg", force=True)
    import matplotlib.pyplot as plt

    return plt


def figure(figsize):
    """A matplotlib ``Figure`` drawn by the Agg backend, outside pyplot (no
    global figure list to close, safe off the main thread)."""
    try:
        from matplotlib.figure import Figure
    except ImportError:
        raise ImportError("plotting needs matplotlib: pip install 'fastga[plot]'") from None
    return Figure(figsize=figsize)


def save_png(fig, path, dpi=110):
    """Save ``fig`` as PNG atomically (temp file in the same folder, then rename)."""
    from .fileio import atomic_path

    with atomic_path(path) as tmp:
        fig.savefig(tmp, format="png", dpi=dpi, bbox_inches="tight")
    return os.fspath(path)


def save_fitness_curve(history, path, title="fastga"):
    """Plot best/mean fitness, best accuracy and mutation rate (an ES: mean sigma)
    per generation."""
    plt = _pyplot()
    gen = history["generation"]
    fig, axes = plt.subplots(1, 2, figsize=(11, 4))
    ax = axes[0]
    ax.plot(gen, history["best_fitness"], label="best fitness")
    ax.plot(gen, history["mean_fitness"], label="mean fitness", alpha=0.7)
    ax.set_xlabel("generation")
    ax.set_ylabel("fitness (higher is better)")
    ax.legend()
    ax.grid(alpha=0.3)
    ax = axes[1]
    if "best_accuracy" in history:
        ax.plot(gen, history["best_accuracy"], label="best minibatch accuracy", color="C2")
        ax.set_ylim(0, 1.02)
    ax.set_xlabel("generation")
    ax2 = ax.twinx()
    # The GA's mutation rate, or an evolution strategy's mean spread.
    key, label = (("mutation_rate", "mutation rate") if "mutation_rate" in history
                  else ("sigma_mean", "mean sigma"))
    if key in history:
        ax2.plot(gen, history[key], label=label, color="C3", alpha=0.6)
        ax2.set_ylabel(label)
    lines = ax.get_lines() + ax2.get_lines()
    ax.legend(lines, [ln.get_label() for ln in lines], loc="lower right")
    ax.grid(alpha=0.3)
    fig.suptitle(title)
    fig.tight_layout()
    save_png(fig, path)
    plt.close(fig)
    return path
