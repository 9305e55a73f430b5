"""The GA-GAN's fitness on islands: each island builds its own discriminator."""

from __future__ import annotations

import numpy as np

__all__ = ["GANFitnessFactory"]


class GANFitnessFactory:
    """Picklable factory of a :class:`fastga.gan.DiscriminatorFitness`, for an island.

    Called inside an island actor, it imports TensorFlow there, builds the
    discriminator (one per island, trained by that island's generators; the
    with a minibatch standard deviation feature by default, as in
    :class:`fastga.gan.GANEvolver`) and returns the fitness. Give it to
    :meth:`IslandModel.run` with ``reevaluate="population"``: the
    discriminator changes each time it scores, so immigrants are scored with
    the whole island; ``ga=fastga.gan.GAN_SETTINGS`` gives the islands the
    operators of :class:`fastga.gan.GANEvolver`.

    Parameters
    ----------
    X_real : array-like of shape (n, rows * cols)
        Real images in [0, 1].
    image_shape : (rows, cols), optional
        Default: square.
    batch_size, d_steps, d_batch, score
        As in :class:`fastga.gan.DiscriminatorFitness`.
    learning_rate : float, default=2e-4
        Adam's learning rate of the discriminator.
    seed : int, default=0
        Seeds the discriminator and the latent/real-image streams.
    threads : int, optional
        TensorFlow intra-op threads; default: the island's Numba thread count
        (its ``num_cpus``).
    minibatch_std : int, default=8
        Group size of the discriminator's minibatch standard deviation, and
        of the grouped batches it is given (as :class:`fastga.gan.GANEvolver`
        does by default); 0: no such feature, ungrouped batches.
        ``batch_size`` and ``d_batch`` must be multiples of it.

    Notes
    -----
    An island restarted from its checkpoint gets back its generators but a
    fresh discriminator (the checkpoint holds the GA, not the fitness).
    """

    def __init__(self, X_real, image_shape=None, batch_size=64, d_steps=1, d_batch=32,
                 learning_rate=2e-4, seed=0, threads=None, score="mean", minibatch_std=8):
        self.X_real = np.ascontiguousarray(X_real, dtype=np.float32)
        self.image_shape = image_shape
        self.batch_size = batch_size
        self.d_steps = d_steps
        self.d_batch = d_batch
        self.learning_rate = learning_rate
        self.seed = seed
        self.threads = threads
        self.score = score
        self.minibatch_std = minibatch_std

    def __call__(self):
        import numba

        from ..gan.discriminator import build_discriminator
        from ..gan.evolver import DiscriminatorFitness, image_shape_for

        X = np.array(self.X_real, dtype=np.float32)  # writable (object-store arrays are not)
        shape = image_shape_for(X.shape[1], self.image_shape)
        threads = self.threads or numba.get_num_threads()
        groups = int(self.minibatch_std or 0)
        disc = build_discriminator(shape, learning_rate=self.learning_rate, seed=self.seed,
                                   threads=threads, minibatch_std=groups or None)
        return DiscriminatorFitness(disc, X, shape, batch_size=self.batch_size,
                                    d_steps=self.d_steps, d_batch=self.d_batch, seed=self.seed,
                                    score=self.score, group_size=max(1, groups))
