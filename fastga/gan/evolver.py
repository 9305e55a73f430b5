"""GA-GAN: a population of generator MLPs evolved against a Keras discriminator.

Per generation (all in :class:`DiscriminatorFitness`, which the core
:class:`fastga.GeneticAlgorithm` calls as its fitness):

1. one latent batch ``Z`` (B x latent) is drawn for the generation and
   shared by every generator (common random numbers: generators are ranked
   on the same inputs), and all fakes come from one batched Numba forward
   pass, ``population.forward(Z) -> (P, B, n_pixels)``;
2. the discriminator takes ``d_steps`` batched ``train_on_batch`` steps on
   real images against fakes drawn from the whole population (and, with
   ``replay``, from a buffer of older generations' fakes), in groups of
   ``group_size`` fakes of one generator for a discriminator with a
   minibatch standard deviation feature;
3. one ``predict_on_batch`` call scores all ``P * B`` fakes (and a batch of
   real images);
4. a generator's fitness is its mean ``D(fake)`` (optionally mean log D,
   or D-feature matching, plus a diversity bonus or fitness sharing); the
   reference metric, the discriminator's accuracy on a 50/50 batch of that
   generator's fakes and real images (lower is better for the generator),
   is reported too.

Selection, crossover and mutation are the core's. With ``gradient_share > 0``
:class:`GANEvolver` adds a third variation operator between breeding and
evaluation: some children take a gradient step through the discriminator
(:class:`~fastga.gan.gradient.GradientVariation`, E-GAN's variation by an
adversarial objective), and selection keeps them only if they score better.
TensorFlow is imported only when :meth:`GANEvolver.fit` builds the
discriminator.
"""

from __future__ import annotations

import math

import numpy as np

from .._random import philox, resolve_seed
from ..algorithm import interrupts_deferred
from ..fileio import (array_field, build_checked, checkpoint_meta, from_json, jsonable, params_of,
                      read_checkpoint, require, save_npz)
from ..ga import GeneticAlgorithm
from ..network import Network
from ..registry import Purpose
from ..settings import GASettings
from ..spec import NetworkSpec
from ..validation import check_int, check_positive, check_rate, check_X

__all__ = ["GANEvolver", "DiscriminatorFitness", "GAN_SETTINGS", "HYBRID_SETTINGS", "PURE_GA"]

#: The GA operators of :class:`GANEvolver` by default: the shared defaults of
#: :class:`~fastga.settings.GASettings` (gaussian mutation of 20% of the
#: weights, sigma 0.05) except for the GA-GAN's own selection (a die-off of
#: 0.5, 2 elites), Glorot initialisation, and no adaptive rate increase:
#: against a moving discriminator, "the best fitness has not improved" says
#: little about the mutation rate.
GAN_SETTINGS = GASettings(die_off_rate=0.5, elitism=2, init="glorot", mutation_rate_increase=0.0)

#: The GA operators with the gradient variation (GANEvolver's default): those
#: of :data:`GAN_SETTINGS` with a smaller mutation (10% of the weights, sigma
#: 0.01), so mutation explores around what the gradient steps learn instead
#: of undoing it.
HYBRID_SETTINGS = GAN_SETTINGS.replace(mutation_rate=0.1, sigma=0.01)

#: The GA-GAN without gradients: ``GANEvolver(**PURE_GA)`` evolves a large
#: population by crossover and mutation only (``fastga gan --pure-ga``).
PURE_GA = {"generations": 200, "pop_size": 200, "batch_size": 128, "d_steps": 2, "d_batch": 128,
           "d_learning_rate": 5e-4, "replay": 16384, "latent_gain": 3.0, "minibatch_std": 8,
           "gradient_share": 0.0, "gradient_lr": 0.01, "ga": GAN_SETTINGS}


def image_shape_for(n_pixels, image_shape=None):
    """``(rows, cols)`` of images with ``n_pixels`` pixels (square unless given)."""
    if image_shape is not None:
        rows, cols = (int(v) for v in image_shape)
        if rows * cols != n_pixels:
            raise ValueError(f"image_shape: {rows}x{cols} does not hold {n_pixels} pixels")
        return rows, cols
    side = math.isqrt(n_pixels)
    if side * side != n_pixels:
        raise ValueError(f"image_shape: {n_pixels} pixels are not a square image; give image_shape")
    return side, side


def _data_digest(X):
    """SHA-256 of the real images (a checkpoint's guard against resuming on other data)."""
    import hashlib

    X = np.ascontiguousarray(X)
    h = hashlib.sha256(repr((X.dtype.str, X.shape)).encode())
    h.update(memoryview(X).cast("B"))
    return h.hexdigest()


class DiscriminatorFitness:
    """Fitness of a population of generators, scored by a discriminator trained on the way.

    Parameters
    ----------
    discriminator : keras.Model
        Compiled, input ``(rows, cols, 1)``, one sigmoid output (1 = real).
    X_real : ndarray of float32, shape (n, rows * cols)
        Real images in [0, 1].
    image_shape : (rows, cols)
    batch_size : int
        Fakes per generator per generation (the shared latent batch).
    d_steps : int
        ``train_on_batch`` calls per generation.
    d_batch : int
        Real images per step (and as many fakes).
    seed : int
    quality : SampleQuality, optional
        Scores ``n_quality_samples`` samples of each of the ``n_quality``
        best generators (pooled) every ``quality_every`` generations, on a
        latent batch fixed for the run.
    score : {"mean", "log", "features"}
        ``"mean"``: mean ``D(fake)``; ``"log"``: mean
        ``log D(fake)``; ``"features"``: feature matching, minus the RMS
        gap between the mean and the standard deviation of D's penultimate
        features on the generator's fakes and on ``n_real`` real images
        (each feature scaled by its spread on the real images).
    real_label : float, default=1.0
        Target of real images when D trains (0.9: one-sided label
        smoothing, which keeps D from growing over-confident).
    replay : int, default=0
        Size of a buffer of older fakes (``2 * d_batch`` random fakes are
        added each generation, the oldest dropped). When it is not empty,
        half of the fakes of each D step come from it, so D keeps rejecting
        what earlier generations produced and the population cannot cycle
        back to it.
    diversity : float, default=0.0
        Weight of a bonus against mode collapse within a generator: the mean
        per-pixel standard deviation of its fakes across the latent batch,
        divided by that of the real images and capped at 1 (so no reward
        for more spread than real digits have).
    sharing : float, default=0.0
        Fitness sharing radius (RMS pixel distance between two generators'
        fakes on the same latents): a generator's fitness is divided by
        ``sum_j max(0, 1 - (d_ij / sharing) ** 2)``, its niche count
        (itself included), so the population keeps several distinct modes.
        Applied only when all fitnesses are positive (``score="mean"``).
    n_real : int, default=256
        Real images in the scoring batch (and for the feature statistics),
        rounded up to a multiple of ``group_size``.
    group_size : int, default=1
        Group size of a discriminator with a minibatch standard deviation
        feature (:class:`~fastga.gan.layers.MinibatchStd`). Every batch
        given to D is then ordered in groups of ``group_size`` consecutive
        images that are either random real images or fakes of ONE generator
        on different latents (training fakes are drawn, and the replay
        buffer is kept, group by group; in the scoring batch each
        generator's ``batch_size`` fakes are consecutive), so D can tell a
        generator that ignores its latent from real data. ``batch_size``
        and ``d_batch`` must be multiples of it. 1: fakes drawn one by one
        from the whole population.

    Attributes
    ----------
    last_stats : dict
        ``d_loss`` (last training step), ``d_accuracy`` (D's balanced
        accuracy on the scoring batch, all fakes against ``n_real`` real
        images, after the update), ``d_real``/``d_fake`` (mean D on real
        images and on all fakes), ``ref_accuracy_min``/``ref_accuracy_mean``
        (the reference's metric, D's accuracy on a 50/50 batch of one
        generator's fakes and real images, over the generators),
        ``mean_d_fake_best`` (mean D(fake) of the fittest generator),
        ``spread`` (the fakes' mean per-pixel spread over the real one's,
        mean over the generators) and the quality columns.
    last_fakes : ndarray (P, B, n_pixels)
    """

    def __init__(self, discriminator, X_real, image_shape, batch_size=64, d_steps=1, d_batch=64,
                 seed=0, quality=None, quality_every=1, n_quality=1, n_quality_samples=512,
                 score="mean", real_label=1.0, replay=0, diversity=0.0, sharing=0.0, n_real=256,
                 group_size=1):
        group_size = int(group_size)
        if group_size > 1 and (batch_size % group_size or d_batch % group_size):
            raise ValueError(f"group_size: batch_size ({batch_size}) and d_batch ({d_batch}) must be "
                             f"multiples of group_size ({group_size})")
        self.group_size = group_size
        self.discriminator = discriminator
        self.X_real = X_real
        self.image_shape = tuple(image_shape)
        self.batch_size = batch_size
        self.d_steps = d_steps
        self.d_batch = d_batch
        self.seed = int(seed)
        self.quality = quality
        self.quality_every = quality_every
        self.n_quality = n_quality
        self.n_quality_samples = n_quality_samples
        self.score = score
        self.real_label = real_label
        self.replay = replay
        self.diversity = diversity
        self.sharing = sharing
        self.n_real = n_real
        self.last_stats = {}
        self.last_fakes = None
        self.replay_buffer_ = None
        self._feature_model = None
        self._real_spread = None

    def latent(self, generation, n=None, purpose=Purpose.LATENT):
        """The shared latent batch of ``generation`` (float32, (n, latent))."""
        n = self.batch_size if n is None else n
        return philox(self.seed, generation, purpose).standard_normal(
            (n, self._latent_dim), dtype=np.float32)

    def _images(self, flat):
        return flat.reshape(-1, *self.image_shape, 1)

    def _features_model(self):
        """A Keras functional sub-model: (penultimate features, D output) in one predict."""
        if self._feature_model is None:
            import keras

            model = self.discriminator
            self._feature_model = keras.Model(model.inputs, [model.layers[-2].output, model.outputs[0]])
        return self._feature_model

    def real_spread(self):
        """Mean per-pixel standard deviation of the real images (the diversity yardstick)."""
        if self._real_spread is None:
            n = self.X_real.shape[0]
            X = self.X_real
            if n > 4096:  # MNIST: a random subset is plenty
                X = X[np.sort(philox(self.seed, 0, Purpose.SPREAD).choice(n, 4096, replace=False))]
            self._real_spread = float(X.std(axis=0, dtype=np.float64).mean())
        return self._real_spread

    def _pick_fakes(self, fakes, n, rng, buf=None):
        """``n`` fakes for D: random ones, or whole groups of one generator each."""
        g = self.group_size
        if buf is not None:  # the replay buffer, stored group by group
            if g <= 1:
                return buf[rng.integers(0, buf.shape[0], size=n)]
            start = g * rng.integers(0, buf.shape[0] // g, size=n // g)
            return buf[(start[:, None] + np.arange(g)).reshape(-1)]
        P, B = fakes.shape[:2]
        if g <= 1:
            return fakes.reshape(P * B, -1)[rng.integers(0, P * B, size=n)]
        who = rng.integers(0, P, size=n // g)
        start = g * rng.integers(0, B // g, size=n // g)
        return fakes[who[:, None], start[:, None] + np.arange(g)].reshape(n, -1)

    def _train_discriminator(self, fakes, rng_real, rng_pick):
        model = self.discriminator
        n_real, d = self.X_real.shape[0], self.d_batch
        labels = np.concatenate([np.full(d, self.real_label, np.float32), np.zeros(d, np.float32)])
        buf = self.replay_buffer_ if self.replay else None
        g = max(1, self.group_size)
        d_loss = np.nan
        for _ in range(self.d_steps):
            real = self.X_real[rng_real.integers(0, n_real, size=d)]
            if buf is not None and buf.shape[0]:
                old = (d // 2) // g * g
                fake = np.concatenate([self._pick_fakes(fakes, d - old, rng_pick),
                                       self._pick_fakes(None, old, rng_pick, buf)])
            else:
                fake = self._pick_fakes(fakes, d, rng_pick)
            out = model.train_on_batch(self._images(np.concatenate([real, fake])), labels)
            d_loss = float(np.ravel(out)[0])
        if self.replay:
            n_new = min(2 * d, fakes.shape[0] * fakes.shape[1]) // g * g
            new = self._pick_fakes(fakes, n_new, rng_pick)
            buf = new if buf is None else np.concatenate([buf, new])
            self.replay_buffer_ = np.ascontiguousarray(buf[-max(g, int(self.replay) // g * g):])
        return d_loss

    def __call__(self, population):
        spec = population.spec
        self._latent_dim = spec.n_inputs
        P, B, gen = population.size, self.batch_size, population.generation
        fakes = population.forward(self.latent(gen))  # (P, B, n_pixels), one batched pass
        flat = fakes.reshape(P * B, -1)
        rng_real = philox(self.seed, gen, Purpose.REAL)
        rng_pick = philox(self.seed, gen, Purpose.FAKE_PICK)
        d_loss = self._train_discriminator(fakes, rng_real, rng_pick)
        g = max(1, self.group_size)
        nr = -(-max(B, int(self.n_real)) // g) * g
        real_eval = self.X_real[rng_real.integers(0, self.X_real.shape[0], size=nr)]
        batch = self._images(np.concatenate([flat, real_eval]))
        if self.score == "features":  # one predict gives D's features and its output
            feats, pred = self._features_model().predict_on_batch(batch)
            feats = np.asarray(feats, dtype=np.float64).reshape(P * B + nr, -1)
        else:
            pred = self.discriminator.predict_on_batch(batch)
        pred = np.asarray(pred, dtype=np.float64).reshape(-1)
        d_fake = pred[: P * B].reshape(P, B)
        d_real = pred[P * B:]
        if self.score == "log":
            fitness = np.log(np.clip(d_fake, 1e-7, 1.0)).mean(axis=1)
        elif self.score == "features":
            fr, ff = feats[P * B:], feats[: P * B].reshape(P, B, -1)
            sd_r = fr.std(axis=0)
            scale = sd_r + 1e-3 * (sd_r.mean() + 1e-12)
            gap_mean = (ff.mean(axis=1) - fr.mean(axis=0)) / scale
            gap_sd = (ff.std(axis=1) - sd_r) / scale
            fitness = -np.sqrt((gap_mean ** 2).mean(axis=1) + (gap_sd ** 2).mean(axis=1))
        else:
            fitness = d_fake.mean(axis=1)
        spread = fakes.std(axis=1, dtype=np.float64).mean(axis=1) / max(self.real_spread(), 1e-12)
        if self.diversity:
            fitness = fitness + float(self.diversity) * np.minimum(spread, 1.0)
        if self.sharing and np.all(fitness > 0):
            fitness = fitness / self.niche_counts(fakes)
        ref_acc = 0.5 * ((d_real >= 0.5).mean() + (d_fake < 0.5).mean(axis=1))
        best = int(np.argmax(np.nan_to_num(fitness, nan=-np.inf)))
        stats = {
            "d_loss": d_loss,
            "d_accuracy": float(0.5 * ((d_real >= 0.5).mean() + (d_fake < 0.5).mean())),
            "d_real": float(d_real.mean()),
            "d_fake": float(d_fake.mean()),
            "ref_accuracy_min": float(ref_acc.min()),
            "ref_accuracy_mean": float(ref_acc.mean()),
            "mean_d_fake_best": float(d_fake[best].mean()),
            "spread": float(spread.mean()),
        }
        if self.quality is not None and gen % self.quality_every == 0:
            stats.update(self.quality_scores(population, fitness))
        self.last_stats = stats
        self.last_fakes = fakes
        return fitness

    def niche_counts(self, fakes):
        """Fitness-sharing niche count of each generator (>= 1: itself)."""
        v = fakes.reshape(fakes.shape[0], -1).astype(np.float64)
        sq = (v * v).sum(axis=1)
        rms = np.sqrt(np.maximum(sq[:, None] + sq[None, :] - 2.0 * (v @ v.T), 0.0) / v.shape[1])
        np.fill_diagonal(rms, 0.0)
        return np.maximum(0.0, 1.0 - (rms / float(self.sharing)) ** 2).sum(axis=1)

    def quality_scores(self, population, fitness):
        """Quality of samples of the ``n_quality`` fittest generators."""
        top = np.argsort(-np.nan_to_num(fitness, nan=-np.inf), kind="stable")[: self.n_quality]
        z = self.latent(0, self.n_quality_samples, Purpose.QUALITY)
        samples = population.forward(z, rows=top.astype(np.int64))
        return self.quality.score(samples.reshape(-1, samples.shape[-1]))



def generator_network_spec(est, n_pixels):
    """The generators' :class:`~fastga.NetworkSpec` of a GAN estimator ``est``
    (its ``generator_spec``, or ``latent_dim -> hidden -> n_pixels`` with its
    ``hidden_activation`` and a sigmoid output) for images of ``n_pixels``."""
    if est.generator_spec is None:
        latent = check_int(est.latent_dim, "latent_dim", minimum=1)
        hidden = check_int(est.hidden, "hidden", minimum=1)
        return NetworkSpec([latent, hidden, n_pixels], [est.hidden_activation, "sigmoid"])
    spec = (est.generator_spec if isinstance(est.generator_spec, NetworkSpec)
            else NetworkSpec(est.generator_spec))
    if spec.n_outputs != n_pixels:
        raise ValueError(
            f"generator_spec: outputs {spec.n_outputs} values but the images have {n_pixels} pixels"
        )
    return spec

class GANEvolver:
    """Evolve generator MLPs against a Keras discriminator (the GA-GAN).

    Parameters
    ----------
    generator_spec : NetworkSpec or sequence, optional
        The generators' layout; its output size is the number of pixels.
        Default: ``latent_dim -> hidden (hidden_activation) -> n_pixels
        (sigmoid)``.
    discriminator : keras.Model, optional
        Any compiled Keras model taking ``(rows, cols, 1)`` images and giving
        one sigmoid output (1 = real), with an accuracy metric. Default: the
        reference's small convolutional discriminator, with a minibatch
        standard deviation feature when ``minibatch_std`` is set
        (:func:`~fastga.gan.discriminator.build_discriminator`).
    latent_dim : int, default=16
    hidden : int, default=100
    hidden_activation : str, default="tanh"
        Activation of the default generator's hidden layer. With sigmoid
        and small first-layer weights a generator is nearly an affine map
        of its latent: it draws one blurred glyph that barely moves with the
        latent. A zero-centred tanh with ``latent_gain=3`` gives generation
        0 samples that already vary with the latent.
    image_shape : (rows, cols), optional
        Default: square, from the number of pixels.
    generations : int, default=3000
    pop_size : int, default=8
        With the gradient variation a small population and many generations
        (many gradient steps) beat a large one; :data:`PURE_GA` has 200.
    batch_size : int, default=64
        Fakes per generator per generation (a multiple of ``minibatch_std``):
        its fitness, the mean D(fake), is averaged over ``batch_size /
        minibatch_std`` groups.
    d_steps : int, default=1
        Discriminator ``train_on_batch`` steps per generation.
    d_batch : int, default=64
        Real images (and as many fakes) per discriminator step.
    d_learning_rate : float, default=2e-4
        Adam's learning rate of the default discriminator (:data:`PURE_GA`:
        5e-4, with fewer steps on larger batches).
    score : {"mean", "log", "features"}, default="mean"
        Fitness: mean D(fake), mean log D(fake), or matching
        the mean and spread of D's penultimate features on real images
        (see :class:`DiscriminatorFitness`).
    real_label : float, default=0.9
        Target of real images when D trains: one-sided label smoothing.
    replay : int, default=0
        Buffer of older fakes; half of the fakes of each D step come from
        it, so D keeps rejecting what earlier generations drew (0: off).
        The pure GA needs it (:data:`PURE_GA`: 16384): without it and the
        label smoothing an over-confident D chases the population from one
        blocky non-digit to the next. With the gradient variation it holds
        the generators back (stale fakes), so it is off by default.
    diversity : float, default=0.0
        Weight of a bonus for spread across the latent batch (capped at
        the real images' spread).
    sharing : float, default=0.0
        Fitness-sharing radius (RMS pixel distance) that keeps several
        distinct generators alive (0: off).
    latent_gain : float, default=3.0
        Multiplies the generators' initial latent->hidden weights (more
        variation across latents from generation 0).
    minibatch_std : int, default=0
        Group size of the default discriminator's minibatch standard
        deviation feature (ProGAN), and of the grouping of every batch given
        to the discriminator, default or yours: each group of this many
        consecutive images holds fakes of one generator (different latents)
        or random real images (see :class:`DiscriminatorFitness`'s
        ``group_size``). A generator that ignores its latent then scores a
        low D(fake), so the fitness itself rewards variety across latents.
        0: off (no such feature, fakes drawn one by one): the reference's
        discriminator, the default with the gradient variation;
        :data:`PURE_GA` uses 8.
    ga : GASettings or None, default=HYBRID_SETTINGS
        The operators of the core :class:`fastga.GeneticAlgorithm` (every
        setting of :class:`~fastga.settings.GASettings`).
        :data:`GAN_SETTINGS` (the pure GA's) is the shared defaults with a
        die-off of 0.5, 2 elites, Glorot initialisation and no adaptive rate
        increase; the default, :data:`HYBRID_SETTINGS`, is that with a
        smaller mutation. None means the shared defaults, ``GASettings()``.
        Change one setting with ``HYBRID_SETTINGS.replace(sigma=0.1)``.
    output_bias : {"zero", "data"}, default="data"
        ``"data"`` starts every generator's output biases at the logit of
        the mean real image (clipped to [0.02, 0.98]), so generation 0 draws
        the average digit instead of grey.
    gradient_share : float, default=1.0
        Share of each bred generation's children (the rows after the
        elites) that then take ``gradient_steps`` gradient steps on a
        generator loss through the current discriminator, each on a fresh
        latent batch (:class:`~fastga.gan.gradient.GradientVariation`). 0:
        the pure GA, variation by crossover and mutation only (see
        :data:`PURE_GA` for its other settings).
    gradient_lr : float, default=0.003
        Typical change of one weight per gradient step (the step is the
        gradient over its per-layer RMS).
    gradient_steps : int, default=1
    gradient_loss : {"nonsaturating", "minimax", "least_squares", "mixed"}, default="mixed"
        The generator loss of the steps; ``"mixed"``: E-GAN's three, each
        on a third of the chosen children, and selection keeps what works.
    threshold : float, optional
        Stop once some generator's reference metric (the discriminator's
        accuracy on a 50/50 batch of its fakes and real images) is at or
        below ``threshold`` (a fraction, e.g. 0.9). Checked from generation
        ``threshold_after`` on.
    threshold_after : int, default=10
        The discriminator starts untrained (accuracy about 0.5), so the
        threshold only counts after this many generations.
    quality : bool or SampleQuality, default=True
        Record :class:`~fastga.gan.quality.SampleQuality` columns: True fits
        one on ``(X, y)`` in :meth:`fit` (holding out a fifth of ``X`` as
        the reference); or give one, fitted (e.g. with a separate held-out
        set) or not.
    quality_every : int, default=5
    quality_samples : int, default=512
        Samples of the fittest generator scored each ``quality_every``
        generations.
    random_state : None, int or numpy.random.Generator
    threads : int, optional
        TensorFlow threads (default: all cores; see :func:`~fastga.gan.discriminator.configure_threads`).
    verbose : bool, default=False
        Progress bar.
    warm_start : bool, default=False
        :meth:`fit` goes on from the current generators, discriminator,
        replay buffer and history (a fitted or :meth:`load`-ed evolver) up
        to generation ``generations`` instead of starting afresh.
        :meth:`load` sets it.
    checkpoint_every : int, optional
        Save a checkpoint (:meth:`save`) to ``checkpoint_path`` after every
        generation that is a multiple of this.
    checkpoint_path : str or os.PathLike, optional
        Where checkpoints go (one file, replaced atomically). When given, a
        checkpoint is also written at the end of the run and on Ctrl-C: the
        run then stops after the generation under way, sets ``stopped_ =
        "interrupted"`` and returns. Without it Ctrl-C raises
        KeyboardInterrupt, still between two generations, so :meth:`save`
        works.

    Attributes
    ----------
    ga_ : GeneticAlgorithm
        The core driver (its ``population_``, ``state_``, ``history_``).
    history_ : History
        Columns of the core plus ``d_loss``, ``d_accuracy``, ``d_real``,
        ``d_fake``, ``ref_accuracy_min``, ``ref_accuracy_mean``,
        ``mean_d_fake_best``, ``spread`` and ``quality_*`` (see
        :attr:`DiscriminatorFitness.last_stats` and
        :mod:`fastga.gan.quality`; NaN in generations not scored), and with
        the gradient variation ``gradient_d_fake``, the mean D(fake) of the
        stepped children before their steps.
    quality_ : SampleQuality or None
    discriminator_ : keras.Model
    generator_spec_ : NetworkSpec
    image_shape_ : (rows, cols)
    best_generator_ : Network
        The fittest generator of the last evaluated generation (against the
        final discriminator; fitness seen in earlier generations was earned
        against weaker ones, so the all-time best is not used).
    seed_ : int
    stopped_ : str or None
        ``"threshold"`` if the threshold stopped the run, ``"callback"`` if
        a callback did, ``"interrupted"`` after Ctrl-C with a
        ``checkpoint_path``.

    Notes
    -----
    Reproducibility: the generator side (initial genomes, latent batches,
    the choice of real and fake images for the discriminator, selection,
    crossover and mutation) comes from counter-based streams of the resolved
    ``random_state`` and is bit-identical for any thread count. The default
    discriminator is seeded per layer (initialisers and dropout) from the
    same seed, so a run repeats exactly on the same machine, TensorFlow
    build and thread count; TensorFlow (oneDNN) does not promise the same
    float rounding across thread counts or CPUs, and tiny differences in D
    can change a ranking and so the whole run. A discriminator you pass in
    is as reproducible as you made it. NumPy's global random state is never
    used.

    Stop and go on: :meth:`save` writes the generators (the core GA's
    population, state and history), the discriminator's variables (weights
    and dropout seed states) with its optimizer's (Adam's moments and
    iteration count) and the replay buffer to one ``.npz``;
    ``GANEvolver.load(path).fit(X, y)`` goes on with the same data and gives
    the same generations as the run that was not stopped, bit for bit on the
    same machine, TensorFlow build and thread count (``tests/test_gan.py``
    checks it).
    """

    def __init__(self, generator_spec=None, discriminator=None, latent_dim=16, hidden=100,
                 hidden_activation="tanh", image_shape=None, generations=3000, pop_size=8,
                 batch_size=64, d_steps=1, d_batch=64, d_learning_rate=2e-4, score="mean",
                 real_label=0.9, replay=0, diversity=0.0, sharing=0.0, latent_gain=3.0,
                 minibatch_std=0, ga=HYBRID_SETTINGS, output_bias="data", gradient_share=1.0,
                 gradient_lr=0.003, gradient_steps=1, gradient_loss="mixed",
                 threshold=None, threshold_after=10, quality=True, quality_every=5,
                 quality_samples=512, random_state=None, threads=None, verbose=False,
                 warm_start=False, checkpoint_every=None, checkpoint_path=None):
        self.generator_spec = generator_spec
        self.discriminator = discriminator
        self.latent_dim = latent_dim
        self.hidden = hidden
        self.hidden_activation = hidden_activation
        self.image_shape = image_shape
        self.generations = generations
        self.pop_size = pop_size
        self.batch_size = batch_size
        self.d_steps = d_steps
        self.d_batch = d_batch
        self.d_learning_rate = d_learning_rate
        self.score = score
        self.real_label = real_label
        self.replay = replay
        self.diversity = diversity
        self.sharing = sharing
        self.latent_gain = latent_gain
        self.minibatch_std = minibatch_std
        self.ga = ga
        self.output_bias = output_bias
        self.gradient_share = gradient_share
        self.gradient_lr = gradient_lr
        self.gradient_steps = gradient_steps
        self.gradient_loss = gradient_loss
        self.threshold = threshold
        self.threshold_after = threshold_after
        self.quality = quality
        self.quality_every = quality_every
        self.quality_samples = quality_samples
        self.random_state = random_state
        self.threads = threads
        self.verbose = verbose
        self.warm_start = warm_start
        self.checkpoint_every = checkpoint_every
        self.checkpoint_path = checkpoint_path

    # ------------------------------------------------------------ helpers
    def network_spec(self, n_pixels):
        """The generators' :class:`~fastga.NetworkSpec` for images of ``n_pixels``."""
        return generator_network_spec(self, n_pixels)

    def _check_settings(self):
        check_int(self.generations, "generations", minimum=0)
        check_int(self.batch_size, "batch_size", minimum=1)
        check_int(self.d_steps, "d_steps", minimum=0)
        check_int(self.d_batch, "d_batch", minimum=1)
        check_positive(self.d_learning_rate, "d_learning_rate")
        check_int(self.quality_every, "quality_every", minimum=1)
        check_int(self.quality_samples, "quality_samples", minimum=4)
        if not isinstance(self.quality, (bool, np.bool_)) and not hasattr(self.quality, "score"):
            raise TypeError(f"quality: expected a bool or a SampleQuality, got {type(self.quality).__name__}")
        check_rate(self.gradient_share, "gradient_share")
        check_positive(self.gradient_lr, "gradient_lr")
        check_int(self.gradient_steps, "gradient_steps", minimum=1)
        if self.gradient_loss not in ("nonsaturating", "minimax", "least_squares", "mixed"):
            raise ValueError("gradient_loss: expected 'nonsaturating', 'minimax', 'least_squares' or "
                             f"'mixed', got {self.gradient_loss!r}")
        check_int(self.threshold_after, "threshold_after", minimum=0)
        if self.score not in ("mean", "log", "features"):
            raise ValueError(f"score: expected 'mean', 'log' or 'features', got {self.score!r}")
        check_rate(self.real_label, "real_label")
        if self.real_label <= 0.5:
            raise ValueError(f"real_label: must be > 0.5, got {self.real_label}")
        check_int(self.replay, "replay", minimum=0)
        check_positive(self.diversity, "diversity", allow_zero=True)
        check_positive(self.sharing, "sharing", allow_zero=True)
        check_positive(self.latent_gain, "latent_gain")
        g = check_int(self.minibatch_std or 0, "minibatch_std", minimum=0)
        if g == 1:
            raise ValueError("minibatch_std: a group size must be >= 2 (0: off)")
        if g and (self.batch_size % g or self.d_batch % g):
            raise ValueError(f"minibatch_std: batch_size ({self.batch_size}) and d_batch ({self.d_batch}) "
                             f"must be multiples of the group size {g}")
        if self.threshold is not None:
            check_rate(self.threshold, "threshold")
        if self.output_bias not in ("zero", "data"):
            raise ValueError(f"output_bias: expected 'zero' or 'data', got {self.output_bias!r}")
        if self.checkpoint_every is not None:
            check_int(self.checkpoint_every, "checkpoint_every", minimum=1)
            if self.checkpoint_path is None:
                raise ValueError("checkpoint_path: required with checkpoint_every")
        self.settings().validate()

    def settings(self):
        """The GA's operator settings (``ga``; None: the shared defaults, ``GASettings()``)."""
        if self.ga is None:
            return GASettings()
        if not isinstance(self.ga, GASettings):
            raise TypeError(f"ga: expected a GASettings or None, got {type(self.ga).__name__}")
        return self.ga

    def make_ga(self, spec, seed):
        """The core driver: a GeneticAlgorithm with this evolver's GA settings."""
        return GeneticAlgorithm.from_settings(spec, self.settings(), pop_size=self.pop_size,
                                              random_state=seed, verbose=self.verbose)

    # ---------------------------------------------------------------- fit
    def fit(self, X, y=None, callbacks=()):
        """Evolve the generators against the discriminator on real images ``X``.

        Parameters
        ----------
        X : array-like of shape (n, rows * cols) or (n, rows, cols)
            Real images with pixels in [0, 1].
        y : array-like of shape (n,), optional
            Labels, used only by the quality measure.
        callbacks : sequence of callables
            ``callback(evolver, record)`` after each generation's evaluation
            (``evolver.ga_.population_`` holds the just-scored generators);
            returning True stops the run.

        Returns
        -------
        self

        Notes
        -----
        With ``warm_start`` (set by :meth:`load`) a fitted evolver goes on
        up to generation ``generations``; give it the same ``X`` and ``y``
        to repeat the run it was saved from.
        """
        self._check_settings()
        X = np.asarray(X)
        shape_3d = (X.shape[1], X.shape[2]) if X.ndim == 3 else None
        if X.ndim == 3:
            X = X.reshape(X.shape[0], -1)
        X = check_X(X)
        if X.shape[0] < 2:
            raise ValueError(f"X: need at least 2 real images, got {X.shape[0]}")
        if float(X.min()) < 0.0 or float(X.max()) > 1.0:
            raise ValueError("X: pixels must lie in [0, 1] (the generators end in a sigmoid)")
        resume = bool(self.warm_start) and getattr(self, "ga_", None) is not None
        digest = _data_digest(X)
        if resume:
            if X.shape[1] != self.generator_spec_.n_outputs:
                raise ValueError(f"X: the run being continued draws {self.generator_spec_.n_outputs} "
                                 f"pixels, got images of {X.shape[1]}")
            if getattr(self, "data_sha256_", None) not in (None, digest):
                import warnings

                warnings.warn("X: not the images the run being continued was trained on; it goes on, "
                              "but not as the saved run would have", stacklevel=2)
            seed = self.seed_
            spec = self.generator_spec_
        else:
            self.image_shape_ = image_shape_for(X.shape[1], self.image_shape if self.image_shape is not None
                                                else shape_3d)
            spec = self.network_spec(X.shape[1])
            if self.gradient_share > 0:
                from .gradient import GRADIENT_ACTIVATIONS

                bad = [a for a in spec.activations if a not in GRADIENT_ACTIVATIONS]
                if bad:
                    raise ValueError(f"generator_spec: the gradient variation (gradient_share > 0) "
                                     f"supports activations {GRADIENT_ACTIVATIONS}, got {bad[0]!r}")
            self.generator_spec_ = spec
            seed = resolve_seed(self.random_state)
            self.seed_ = seed
        quality = None
        if hasattr(self.quality, "score"):  # a SampleQuality: fitted here unless it is already
            quality = self.quality if hasattr(self.quality, "classifier_") else self.quality.fit(X, y)
        elif self.quality and y is not None:
            from .quality import SampleQuality

            quality = SampleQuality(random_state=seed % (2**31)).fit(X, y)
        self.quality_ = quality
        self.data_sha256_ = digest
        if resume:
            buffer = self._replay_state()
        elif self.discriminator is None:
            from .discriminator import build_discriminator

            self.discriminator_ = build_discriminator(self.image_shape_, learning_rate=self.d_learning_rate,
                                                      seed=seed, threads=self.threads,
                                                      minibatch_std=self.minibatch_std)
        else:
            from .discriminator import import_keras

            import_keras(self.threads)
            self.discriminator_ = self.discriminator
        self.fitness_ = DiscriminatorFitness(
            self.discriminator_, X, self.image_shape_, batch_size=self.batch_size,
            d_steps=self.d_steps, d_batch=self.d_batch, seed=seed, quality=quality,
            quality_every=self.quality_every, n_quality_samples=self.quality_samples, score=self.score,
            real_label=self.real_label,
            replay=self.replay, diversity=self.diversity, sharing=self.sharing,
            group_size=self.minibatch_std or 1,
        )
        if resume:
            self.fitness_.replay_buffer_ = buffer
        else:
            self.ga_ = self.make_ga(spec, seed)
        self.stopped_ = None
        user_callbacks = list(callbacks)

        def on_generation(ga, record):
            if (self.threshold is not None and record["generation"] >= self.threshold_after
                    and record["ref_accuracy_min"] <= self.threshold):
                self.stopped_ = "threshold"
                return True
            return any(bool(cb(self, record)) for cb in user_callbacks)

        if not resume and (self.output_bias == "data" or self.latent_gain != 1.0):
            # Generation 0 as the GA draws it, adjusted, then handed back before it is told.
            genomes = self.ga_.ask().genomes.copy()
            if self.latent_gain != 1.0:
                ws, _, _ = spec.layer_slices(0)
                genomes[:, ws] *= np.float32(self.latent_gain)
            if self.output_bias == "data":
                mean = np.clip(X.mean(axis=0, dtype=np.float64), 0.02, 0.98)
                _, bs, _ = spec.layer_slices(spec.n_layers - 1)
                genomes[:, bs] = np.log(mean / (1.0 - mean)).astype(np.float32)
            self.ga_.replace(np.arange(genomes.shape[0]), genomes)
        self._run(spec, seed, on_generation)
        if self.stopped_ != "interrupted":
            pop = self.ga_.population_
            if self.ga_.state_.evaluated != pop.generation:  # pragma: no cover - the loop ends evaluated
                self.fitness_(pop)
        self._set_best()
        return self

    def _set_best(self):
        pop = self.ga_.population_
        if self.ga_.state_.evaluated == pop.generation:
            self.best_generator_ = pop.network(pop.best_index())
        else:  # stopped before the first generation was scored
            self.best_generator_ = pop.network(0)

    def _replay_state(self):
        """The replay buffer to go on with (of the last fit, or of the loaded checkpoint)."""
        old = getattr(self, "fitness_", None)
        if old is not None:
            return old.replay_buffer_
        return getattr(self, "_loaded_replay", None)

    def _run(self, spec, seed, on_generation):
        """The ask/tell loop, up to generation ``generations``.

        With ``gradient_share > 0`` the gradient variation runs between
        breeding and evaluation: of each bred generation (the GA writes its
        elites in the first rows) a random ``gradient_share`` of the other
        rows, the children, takes ``gradient_steps`` steps through the
        current discriminator (:class:`~fastga.gan.gradient.GradientVariation`)
        before the generation is evaluated; selection then decides which of
        the stepped and unstepped children live on. Each generation runs
        with Ctrl-C held back (:func:`fastga.algorithm.interrupts_deferred`),
        so an interrupt lands between generations and a checkpoint holds a
        consistent run.
        """
        from ..progress import progress_bar

        ga = self.ga_
        ops, batch = [], 0
        if self.gradient_share > 0:
            from .gradient import GradientVariation

            g = max(1, int(self.minibatch_std or 1))
            batch = max(g, min(int(self.batch_size), 64) // g * g)
            losses = (("nonsaturating", "minimax", "least_squares") if self.gradient_loss == "mixed"
                      else (self.gradient_loss,))
            ops = [GradientVariation(spec, self.image_shape_, lr=self.gradient_lr, steps=self.gradient_steps,
                                     batch_size=batch, loss=loss) for loss in losses]
        n_elite = min(int(self.settings().elitism), int(self.pop_size) - 1)
        every = self.checkpoint_every
        path = self.checkpoint_path
        start = ga.population_.generation if ga.initialized else 0
        saved = None
        bar = progress_bar(max(0, int(self.generations) - start), "generations", disable=not self.verbose)
        try:
            while True:
                with interrupts_deferred():
                    told = ga.initialized and ga.state_.evaluated == ga.population_.generation
                    if told and ga.population_.generation >= self.generations:
                        break
                    pop = ga.ask()
                    gen = pop.generation
                    stats = {}
                    if told:
                        bar.update(1)
                    if ops and gen > 0:
                        rng = philox(seed, gen, Purpose.GRADIENT)
                        children = np.arange(n_elite, pop.size)
                        m = int(round(float(self.gradient_share) * children.shape[0]))
                        rows = np.sort(rng.choice(children, m, replace=False)) if m else children[:0]
                        Z = [rng.standard_normal((batch, spec.n_inputs), dtype=np.float32)
                             for _ in range(int(self.gradient_steps))]
                        seen = []
                        for j, op in enumerate(ops):
                            part = rows[j::len(ops)]
                            if part.shape[0]:
                                new, d = op(self.discriminator_, pop.genomes[part], Z)
                                ga.replace(part, new)
                                seen += d
                        stats["gradient_d_fake"] = float(np.mean(seen)) if seen else np.nan
                    f = self.fitness_(pop)
                    stats.update(self.fitness_.last_stats)
                    record = ga.tell(f, stats)
                    bar.set_postfix(best=f"{record['best_fitness']:.4g}", refresh=False)
                    stop = on_generation(ga, record)
                    if every and gen != start and gen % int(every) == 0:
                        self.save(path)
                        saved = gen
                    if stop:
                        self.stopped_ = self.stopped_ or "callback"
                        break
        except KeyboardInterrupt:
            self.stopped_ = "interrupted"
            if path is None:
                raise
        finally:
            bar.close()
        if path is not None and (saved != ga.population_.generation or self.stopped_ == "interrupted"):
            self.save(path)

    def sample_quality(self, n=1000, random_state=0, mixture=1):
        """Quality measures of ``n`` samples of :attr:`best_generator_` (a dict).

        With ``mixture=k > 1``: of :meth:`sample_mixture`'s ``n`` samples of
        the ``k`` fittest generators. The same measures on held-out real
        images are in ``quality_.real_scores_``.
        """
        if not hasattr(self, "ga_"):
            raise AttributeError("sample_quality: fit() has not been called yet")
        if self.quality_ is None:
            raise AttributeError("sample_quality: no quality measure (give labels y to fit, quality=True)")
        k = check_int(mixture, "mixture", minimum=1)
        if k > 1:
            images = self.sample_mixture(n, k, random_state)
            return self.quality_.score(images.reshape(images.shape[0], -1))
        return self.quality_.score(self.best_generator_.predict(self._latent(n, random_state)))

    def sample_mixture(self, n, k, random_state=0):
        """``n`` images of a uniform mixture of the ``k`` fittest generators, shape (n, rows, cols).

        Each latent vector is drawn by one of the ``k`` generators picked at
        random (Lipizzaner's mixture of generators, equal weights), so the
        samples cover what the generators draw between them.
        """
        if not hasattr(self, "ga_"):
            raise AttributeError("sample_mixture: fit() has not been called yet")
        n = check_int(n, "n", minimum=1)
        k = check_int(k, "k", minimum=1)
        if k > self.population_.size:
            raise ValueError(f"k: the population has {self.population_.size} generators, got {k}")
        z = self._latent(n, random_state)
        out = self.population_.forward(z, rows=self.top_rows(k))  # (k, n, pixels)
        pick = philox(resolve_seed(random_state), 1, Purpose.QUALITY).integers(0, k, size=n)
        return out[pick, np.arange(n)].reshape(n, *self.image_shape_)

    # ------------------------------------------------------------ results
    @property
    def history_(self):
        return self.ga_.history_

    @property
    def population_(self):
        return self.ga_.population_

    def _latent(self, n, random_state):
        n = check_int(n, "n", minimum=1)
        rng = philox(resolve_seed(random_state), 0, Purpose.QUALITY)
        return rng.standard_normal((n, self.generator_spec_.n_inputs), dtype=np.float32)

    def sample(self, n, rows=None, random_state=0):
        """Images of the generators ``rows`` (default: the best), shape (k, n, rows, cols).

        Parameters
        ----------
        n : int
            Samples per generator.
        rows : array-like of int, optional
            Generators of the current population; default: the best
            generator (:attr:`best_generator_`), giving shape (1, n, ...).
        random_state : int, default=0
            Seed of the latent batch.
        """
        if not hasattr(self, "ga_"):
            raise AttributeError("sample: fit() has not been called yet")
        z = self._latent(n, random_state)
        if rows is None:
            out = self.best_generator_.predict(z)[None]
        else:
            out = self.population_.forward(z, rows=np.asarray(rows, dtype=np.int64))
        return out.reshape(out.shape[0], n, *self.image_shape_)

    def top_rows(self, k):
        """Indices of the ``k`` fittest generators of the current population."""
        f = np.nan_to_num(self.population_.fitness, nan=-np.inf)
        return np.argsort(-f, kind="stable")[: int(k)].astype(np.int64)

    def save_generator(self, path):
        """Save :attr:`best_generator_` (.npz via :meth:`fastga.Network.save`)."""
        meta = {"image_shape": list(self.image_shape_), "kind": "gan_generator"}
        return self.best_generator_.save(path, meta=meta)

    def save_discriminator(self, path):
        """Save the discriminator as a ``.keras`` file, atomically."""
        import os
        import tempfile

        path = os.fspath(path)
        if not path.endswith(".keras"):
            raise ValueError(f"path: a Keras model file must end in .keras, got {path!r}")
        folder = os.path.dirname(os.path.abspath(path))
        os.makedirs(folder, exist_ok=True)
        fd, tmp = tempfile.mkstemp(prefix=".tmp-", suffix=".keras", dir=folder)
        os.close(fd)
        try:
            self.discriminator_.save(tmp)
            os.replace(tmp, path)
        except BaseException:
            if os.path.exists(tmp):
                os.unlink(tmp)
            raise
        return path

    # ------------------------------------------------------------ checkpoints
    #: The ``kind`` of :meth:`save`'s files.
    _file_kind = "gan"

    @classmethod
    def _param_names(cls):
        import inspect

        return [k for k in inspect.signature(cls.__init__).parameters if k != "self"]

    def save(self, path, meta=None):
        """Write the whole run to ``path`` (one ``.npz``, atomic, pickle-free), to go on later.

        Holds the parameters, the core GA (generators, fitness, state,
        history), every variable of the discriminator (weights and the
        dropout layers' seed states) and of its optimizer (Adam's moments and
        iteration count), and the replay buffer. The data and a
        :class:`~fastga.gan.quality.SampleQuality` you passed are not saved:
        give them again (``load(path, quality=...)``, ``fit(X, y)``). A
        discriminator you passed is saved as its variables only: give a new
        compiled model of the same architecture to :meth:`load`.

        Parameters
        ----------
        path : str or os.PathLike
        meta : dict, optional
            JSON-serialisable notes kept in the file (``checkpoint_meta_``
            after :meth:`load`).

        Returns
        -------
        str
            ``path``.
        """
        if getattr(self, "ga_", None) is None or not self.ga_.initialized:
            raise AttributeError("save: fit() has not started a run yet")
        names = [k for k in self._param_names()
                 if k not in ("generator_spec", "discriminator", "ga", "quality")]
        params = params_of(self, names, self.seed_)
        params["random_state"] = int(self.seed_)  # a fresh run from the copy repeats this one
        params["quality"] = bool(self.quality)
        arrays, ga_meta = self.ga_.payload(prefix="ga_")
        arrays = dict(arrays)
        model = self.discriminator_
        d_vars = list(model.variables)
        opt_vars = list(model.optimizer.variables) if model.optimizer is not None else []
        for i, v in enumerate(d_vars):
            arrays[f"d_variable_{i}"] = np.asarray(v.numpy())
        for i, v in enumerate(opt_vars):
            arrays[f"d_optimizer_{i}"] = np.asarray(v.numpy())
        fit = getattr(self, "fitness_", None)
        buffer = fit.replay_buffer_ if fit is not None else getattr(self, "_loaded_replay", None)
        if buffer is not None:
            arrays["replay_buffer"] = np.asarray(buffer, dtype=np.float32)
        info = {
            "class": type(self).__name__,
            "params": params,
            "ga_settings": self.settings().to_dict(),
            "generator_spec": self.generator_spec_.to_dict(),
            "custom_generator_spec": self.generator_spec is not None,
            "custom_discriminator": self.discriminator is not None,
            "image_shape": list(self.image_shape_),
            "seed": int(self.seed_),
            "data_sha256": getattr(self, "data_sha256_", None),
            "stopped": self.stopped_,
            "ga": ga_meta,
            "d_variables": [[v.path, list(v.shape)] for v in d_vars],
            "d_optimizer": [[v.path, list(v.shape)] for v in opt_vars],
            "user": jsonable(meta, "meta") if meta is None or not isinstance(meta, dict)
            else {str(k): jsonable(v, f"meta[{k!r}]") for k, v in meta.items()},
        }
        return save_npz(path, self._file_kind, arrays, checkpoint_meta(info))

    @classmethod
    def load(cls, path, discriminator=None, quality=None):
        """An evolver saved by :meth:`save`, ready to go on: ``.fit(X, y)`` continues the run.

        Parameters
        ----------
        path : str or os.PathLike
        discriminator : keras.Model, optional
            Required if the saved run used a discriminator of your own: a
            compiled model of the same architecture, whose variables are
            then overwritten with the saved ones.
        quality : SampleQuality, optional
            The quality measure to go on with (default: the saved run's
            ``quality`` setting, a fresh fit on the data).

        Returns
        -------
        GANEvolver
            With ``warm_start=True``; ``generations`` is the saved total:
            raise it to go further.

        Raises
        ------
        fastga.fileio.FileFormatError
            The file is corrupt, truncated, of another kind or does not fit
            the discriminator.
        """
        arrays, meta = read_checkpoint(path, cls._file_kind)
        if meta.get("class") != cls.__name__:
            from ..fileio import FileFormatError

            raise FileFormatError(f"{str(path)!r} holds a {meta.get('class')}, not a {cls.__name__}")
        if meta.get("custom_discriminator") and discriminator is None:
            raise ValueError("discriminator: the saved run used a discriminator of its own; pass a "
                             "compiled model of the same architecture to load()")
        return build_checked(path, cls.__name__, cls._from_checkpoint, arrays, meta, discriminator, quality)

    @classmethod
    def _from_checkpoint(cls, arrays, meta, discriminator, quality):
        params = meta["params"]
        require(isinstance(params, dict), "params is not a dict")
        unknown = set(params) - set(cls._param_names())
        require(not unknown, f"unknown {cls.__name__} parameters {sorted(unknown)}")
        kw = {k: from_json(v) for k, v in params.items()}
        spec = NetworkSpec.from_dict(meta["generator_spec"])
        if meta.get("custom_generator_spec"):
            kw["generator_spec"] = spec
        kw["ga"] = GASettings(**{k: from_json(v) for k, v in meta["ga_settings"].items()})
        if quality is not None:
            kw["quality"] = quality
        kw["discriminator"] = discriminator
        kw["warm_start"] = True
        ev = cls(**kw)
        ev._check_settings()
        image_shape = tuple(int(v) for v in meta["image_shape"])
        require(image_shape_for(spec.n_outputs, image_shape) == image_shape, "image_shape does not fit")
        ga = GeneticAlgorithm.from_payload(arrays, meta["ga"], prefix="ga_")
        require(ga.population_.spec.sizes == spec.sizes, "the population does not fit the generator spec")
        ev.ga_ = ga
        ev.generator_spec_ = spec
        ev.image_shape_ = image_shape
        ev.seed_ = int(meta["seed"])
        ev.data_sha256_ = meta.get("data_sha256")
        ev.stopped_ = meta.get("stopped")
        ev.checkpoint_meta_ = meta.get("user")
        if "replay_buffer" in arrays:
            buf = array_field(arrays, "replay_buffer", np.float32, 2)
            require(buf.shape[1] == spec.n_outputs, "the replay buffer does not fit the images")
            ev._loaded_replay = np.ascontiguousarray(buf)
        if discriminator is None:
            from .discriminator import build_discriminator

            discriminator = build_discriminator(image_shape, learning_rate=ev.d_learning_rate, seed=ev.seed_,
                                                threads=ev.threads, minibatch_std=ev.minibatch_std)
        else:
            from .discriminator import import_keras

            import_keras(ev.threads)
        from .discriminator import restore_model_state

        restore_model_state(discriminator, [arrays[f"d_variable_{i}"] for i in range(len(meta["d_variables"]))],
                            [arrays[f"d_optimizer_{i}"] for i in range(len(meta["d_optimizer"]))])
        ev.discriminator_ = discriminator
        ev._set_best()
        return ev


def load_generator(path):
    """A generator saved by :meth:`GANEvolver.save_generator`: ``(network, image_shape)``."""
    net = Network.load(path)
    shape = net.meta.get("image_shape")
    return net, (tuple(shape) if shape else image_shape_for(net.spec.n_outputs))
