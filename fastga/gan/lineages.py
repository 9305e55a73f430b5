"""GA-GAN by lineages: K generators trained by gradients side by side, evolved on top.

:class:`LineageGAN` keeps a population of ``pop_size`` generator MLPs (the
lineages) and one discriminator. A generation is:

1. ``steps`` compiled training steps (:class:`~fastga.gan.stacked.StackedGenerators`,
   one TensorFlow call for the whole loop): each step trains the
   discriminator on real images against the fakes of all the generators,
   then moves every generator by one Adam step on its own E-GAN loss
   (non-saturating, minimax or least squares: part of its genome);
2. evaluation: each generator draws ``eval_batch`` fakes; its fitness is
   its mean D(fake) (E-GAN's quality) plus ``novelty`` times its
   distinctness, the share of its fakes whose nearest neighbour among all
   the generators' fakes is one of its own (1: it draws what no other
   lineage draws; near ``1/pop_size``: it draws what the others draw);
3. selection and variation (population-based training): the least fit
   generator is replaced by a copy of the fittest, weights and Adam state,
   with gaussian noise of ``sigma`` on the weights, and its loss re-drawn
   with probability ``loss_mutation``.

A second population (``generalists``) trains a few more lineages the same
way against a discriminator of their own, with larger batches
(``generalist_batch``) and a slower discriminator: with no other lineages
to share the data with, each of them has to cover all of it. It shares
nothing with the first, so with two or more threads it trains beside it, in
a second Python thread, else after it; the bits are the same either way.

The generator of the run is the mixture of all the lineages: each sample is
drawn by one generator (Lipizzaner's mixture), picked uniformly among the
first phase's with probability ``1 - generalist_share`` and among the
generalists otherwise (without generalists: uniformly among all). With 8
lineages x 8 fakes, no minibatch feature and novelty 0.5, the first phase's
lineages become specialists (each settles on a few digits, drawn sharply)
and the generalists reach the parts of the data they miss: the mixture then
has more recall than either part alone, at a precision between theirs
(``bench/README.md``, "Specialists and generalists"). The generalists are
sampled with their latents scaled by ``generalist_temperature``, which
spreads their samples further.

TensorFlow is imported only when :meth:`LineageGAN.fit` or :meth:`LineageGAN.load` builds the
discriminator.
"""

from __future__ import annotations

import os
import threading

import numpy as np

from .._random import philox, resolve_seed
from ..algorithm import interrupts_deferred
from ..fileio import (array_field, build_checked, checkpoint_meta, from_json, jsonable, load_npz, params_of,
                      read_checkpoint, require, save_npz)
from ..history import History
from ..network import Network
from ..registry import Purpose
from ..spec import NetworkSpec
from ..validation import check_int, check_positive, check_rate, check_X
from .evolver import _data_digest, generator_network_spec, image_shape_for

__all__ = ["LineageGAN", "GeneratorMixture", "load_mixture", "LOSS_NAMES"]

#: E-GAN's generator losses, in the order of the ``loss_`` codes.
LOSS_NAMES = ("nonsaturating", "minimax", "least_squares")


class GeneratorMixture:
    """A mixture of generator MLPs of one layout: each sample drawn by one member.

    Parameters
    ----------
    spec : NetworkSpec
    genomes : ndarray (k, spec.n_params)
    weights : ndarray (k,), optional
        Probability of each member (non-negative, normalised here); None:
        uniform.
    temperatures : ndarray (k,), optional
        Scale of the standard-normal latents each member draws in
        :meth:`sample` (positive; None: 1 for all). Above 1 spreads a
        member's samples (variety) at some cost in fidelity, the converse
        of the truncation trick (Brock et al. 2019).
    """

    def __init__(self, spec, genomes, weights=None, temperatures=None):
        self.spec = spec if isinstance(spec, NetworkSpec) else NetworkSpec(spec)
        genomes = np.ascontiguousarray(genomes, dtype=np.float32)
        if genomes.ndim != 2 or genomes.shape[1] != self.spec.n_params:
            raise ValueError(f"genomes: expected (k, {self.spec.n_params}), got {genomes.shape}")
        if weights is not None:
            weights = np.asarray(weights, dtype=np.float64).reshape(-1)
            if weights.shape[0] != genomes.shape[0] or not np.all(np.isfinite(weights)) \
                    or np.any(weights < 0) or weights.sum() <= 0:
                raise ValueError(f"weights: expected {genomes.shape[0]} non-negative weights with a "
                                 f"positive sum, got {weights}")
            weights = weights / weights.sum()
        if temperatures is not None:
            temperatures = np.asarray(temperatures, dtype=np.float32).reshape(-1)
            if temperatures.shape[0] != genomes.shape[0] or not np.all(np.isfinite(temperatures)) \
                    or np.any(temperatures <= 0):
                raise ValueError(f"temperatures: expected {genomes.shape[0]} positive finite scales, "
                                 f"got {temperatures}")
        self.genomes = genomes
        self.weights = weights
        self.temperatures = temperatures
        self.members = [Network(self.spec, g) for g in genomes]

    def predict(self, z, pick):
        """Outputs (n, n_outputs) for latents ``z`` (n, latent), sample i drawn by member ``pick[i]``."""
        z = np.asarray(z, dtype=np.float32)
        pick = np.asarray(pick, dtype=np.int64)
        out = np.empty((z.shape[0], self.spec.n_outputs), dtype=np.float32)
        for j, net in enumerate(self.members):
            rows = np.flatnonzero(pick == j)
            if rows.shape[0]:
                out[rows] = net.predict(z[rows])
        return out

    def sample(self, n, random_state=0):
        """``n`` samples (n, n_outputs): latents and member picks from ``random_state``'s streams;
        the latents of member ``j`` scaled by ``temperatures[j]``."""
        seed = resolve_seed(random_state)
        z = philox(seed, 0, Purpose.QUALITY).standard_normal((int(n), self.spec.n_inputs), dtype=np.float32)
        rng = philox(seed, 1, Purpose.QUALITY)
        if self.weights is None:
            pick = rng.integers(0, len(self.members), size=int(n))
        else:
            pick = rng.choice(len(self.members), size=int(n), p=self.weights)
        if self.temperatures is not None:
            z = z * self.temperatures[pick][:, None]
        return self.predict(z, pick)

    def save(self, path, meta=None):
        """Write the mixture (``.npz``, kind ``gan_mixture``; read it with :func:`load_mixture`)."""
        info = {"spec": self.spec.to_dict()}
        info.update(meta or {})
        arrays = {"genomes": self.genomes}
        if self.weights is not None:
            arrays["weights"] = self.weights
        if self.temperatures is not None:
            arrays["temperatures"] = self.temperatures
        return save_npz(path, "gan_mixture", arrays, info)


def load_mixture(path):
    """A mixture saved by :meth:`LineageGAN.save_generator`: ``(GeneratorMixture, image_shape)``."""
    arrays, meta = load_npz(path, kind="gan_mixture")

    def build(arrays, meta):
        spec = NetworkSpec.from_dict(meta["spec"])
        g = array_field(arrays, "genomes", np.float32, 2)
        require(g.shape[1] == spec.n_params, "the genomes do not fit the spec")
        w = array_field(arrays, "weights", np.float64, 1, (g.shape[0],)) if "weights" in arrays else None
        t = (array_field(arrays, "temperatures", np.float32, 1, (g.shape[0],))
             if "temperatures" in arrays else None)
        mix = GeneratorMixture(spec, g, w, t)
        shape = meta.get("image_shape")
        return mix, (tuple(int(v) for v in shape) if shape else image_shape_for(spec.n_outputs))

    return build_checked(path, "gan_mixture", build, arrays, meta)


class LineageGAN:
    """Generator lineages trained by gradients against one discriminator, evolved by PBT.

    Parameters
    ----------
    generator_spec : NetworkSpec or sequence, optional
        Default ``latent_dim -> hidden (hidden_activation) -> n_pixels (sigmoid)``.
    latent_dim : int, default=16
    hidden : int, default=100
    hidden_activation : str, default="tanh"
    image_shape : (rows, cols), optional
    generations : int, default=200
        Evolution rounds of the first phase; each is ``steps`` training
        steps of every generator.
    steps : int, default=100
        Training steps per generation (one compiled call).
    pop_size : int, default=8
        Generators (lineages) of the first phase (the specialists).
    batch_size : int, default=8
        Fakes of each generator per training step; the discriminator sees
        ``pop_size * batch_size`` fakes per step.
    d_batch : int, default=64
        Real images per discriminator step.
    learning_rate : float, default=2e-4
        The generators' Adam (``beta_1`` 0.5, like the discriminator's).
    d_learning_rate : float, default=8e-4
        The discriminator's Adam (``beta_1`` 0.5). Four times the
        generators' rate (two time-scale updates): each D step sees only
        ``batch_size`` fakes of a generator, so a slower D lets every
        generator collapse onto a few images it has not learnt to reject.
    real_label : float, default=0.9
        Target of real images in D's loss (one-sided label smoothing).
    gradient_loss : {"mixed", "nonsaturating", "minimax", "least_squares"}, default="mixed"
        The generators' initial losses: ``"mixed"`` deals E-GAN's three
        out in turn; a loss is inherited by a copy and re-drawn with
        probability ``loss_mutation``.
    minibatch_std : int, default=0
        Group size of the discriminator's minibatch standard deviation
        feature (:class:`~fastga.gan.layers.MinibatchStd`); a divisor of
        ``batch_size``, so each group of fakes is one generator's (a
        generator whose fakes do not vary with the latent then looks fake).
        0: the reference's discriminator. It raises each lineage's variety at
        a large cost in precision (see ``bench/README.md``).
    mode_seeking : float, default=0.0
        Weight of MSGAN's mode-seeking term in every generator's loss: the
        inverse of how much its fakes differ per unit of latent distance,
        on pairs of its latent batch (0: off).
    evolve_every : int, default=1
        Generations between two replacements (0: no selection).
    decay : float, default=0.0
        Share of the run (the last generations) over which both learning
        rates fall linearly towards zero (0: constant rates).
    novelty : float, default=0.5
        Weight of the distinctness in the fitness (see the module's doc).
    coverage : float, default=0.0
        Weight of the data coverage in the fitness: ``pop_size`` times the
        share of ``coverage_batch`` random training images whose nearest
        fake (among the evaluation fakes of all the generators) is one of
        this generator's (:meth:`coverage_share`; 1 on average). A lineage
        that draws few distinct images, or what others already draw,
        claims few. 0: off.
    coverage_batch : int, default=256
        Training images drawn (afresh each generation) for the coverage.
    generalists : int, default=2
        Lineages of the second phase, trained beside the first (``threads``
        >= 2) or after it, against a discriminator of their own (the reference's, no minibatch feature)
        by the same loop and the first phase's settings otherwise; 0: no
        second phase.
        Their genomes are kept (``generalist_genomes_``) and mixed in.
    generalist_generations : int, optional
        Generations of the second phase (default: three quarters of
        ``generations``, rounded).
    generalist_batch : int, default=32
        Fakes of each generalist per training step.
    generalist_d_learning_rate : float, default=4e-4
        Learning rate of the generalists' discriminator (Adam, ``beta_1`` 0.5).
    generalist_share : float, default=0.4
        Share of the mixture's samples drawn by the generalists (strictly
        between 0 and 1 with generalists).
    generalist_temperature : float, default=1.25
        Scale of the latents the generalists draw when sampled (their
        ``temperatures`` in the mixture, and their rows of :meth:`sample`);
        training always draws standard normals. Above 1 spreads their
        samples over more of the data (k-NN recall) at some cost in
        precision; the specialists sample at 1.
    eval_batch : int, default=64
        Fakes per generator for the fitness.
    sigma : float, default=0.005
        Standard deviation of the noise added to a copied genome.
    loss_mutation : float, default=0.2
    quality : bool or SampleQuality, default=True
        Record the :class:`~fastga.gan.quality.SampleQuality` of
        ``quality_samples`` samples of the mixture every ``quality_every``
        generations (and at the last).
    quality_every : int, default=10
    quality_samples : int, default=512
    random_state : None, int or numpy.random.Generator
    threads : int, optional
        TensorFlow threads (default: all cores), each op on one
        (:func:`~fastga.gan.discriminator.configure_threads`, once per
        process). With two or more and ``generalists``, the generalists
        train in a second Python thread, beside the specialists, from the
        start (the same bits as one phase after the other).
    verbose : bool, default=False
    warm_start : bool, default=False
        :meth:`fit` goes on from the current state (set by :meth:`load`).
    checkpoint_every : int, optional
    checkpoint_path : str or os.PathLike, optional
        As :class:`~fastga.gan.GANEvolver`'s: checkpoints every
        ``checkpoint_every`` generations, at the end and on Ctrl-C (which
        then stops the run after the generation under way). The second
        phase is checkpointed only when it is done: stopped during it, a
        resumed run does it again from its start (the same bits: its seed
        derives from ``random_state``).

    Attributes
    ----------
    history_ : History
        Per generation of the first phase: ``generation``, ``best_fitness``, ``mean_fitness``,
        ``d_loss``, ``d_fake`` (mean D(fake) of the last training step),
        ``d_real`` and ``d_accuracy`` (on the evaluation batch),
        ``mean_d_fake_best``, ``distinct_mean``, ``replaced``/``parent``
        (the lineage replaced and its parent; -1 none), ``n_losses`` (how
        many of the three losses are alive), ``seconds`` and the
        ``quality_*`` columns (NaN when not scored).
    fitness_ : ndarray (pop_size,)
    genomes_ : ndarray (pop_size, n_params)
    losses_ : ndarray of int (pop_size,)
        Each generator's loss, an index into :data:`LOSS_NAMES`.
    generation_ : int
    discriminator_ : keras.Model
    generator_ : GeneratorMixture
        The mixture of all the lineages (the run's generator): the
        specialists, and the generalists with weight ``generalist_share``.
    generalist_genomes_ : ndarray (generalists, n_params) or None
        The second phase's generators (None before it has run, or without).
    generalists_ : LineageGAN
        The second phase's run (its ``history_``), in the process that ran it.
    best_generator_ : Network
        The fittest lineage.
    """

    def __init__(self, generator_spec=None, latent_dim=16, hidden=100, hidden_activation="tanh",
                 image_shape=None, generations=200, steps=100, pop_size=8, batch_size=8, d_batch=64,
                 learning_rate=2e-4, d_learning_rate=8e-4, real_label=0.9, gradient_loss="mixed",
                 minibatch_std=0, mode_seeking=0.0, evolve_every=1, decay=0.0, novelty=0.5, coverage=0.0,
                 coverage_batch=256, generalists=2, generalist_generations=None, generalist_batch=32,
                 generalist_d_learning_rate=4e-4, generalist_share=0.4,
                 generalist_temperature=1.25, eval_batch=64, sigma=0.005,
                 loss_mutation=0.2, quality=True,
                 quality_every=10, quality_samples=512, random_state=None, threads=None, verbose=False,
                 warm_start=False, checkpoint_every=None, checkpoint_path=None):
        self.generator_spec = generator_spec
        self.latent_dim = latent_dim
        self.hidden = hidden
        self.hidden_activation = hidden_activation
        self.image_shape = image_shape
        self.generations = generations
        self.steps = steps
        self.pop_size = pop_size
        self.batch_size = batch_size
        self.d_batch = d_batch
        self.learning_rate = learning_rate
        self.d_learning_rate = d_learning_rate
        self.real_label = real_label
        self.gradient_loss = gradient_loss
        self.minibatch_std = minibatch_std
        self.mode_seeking = mode_seeking
        self.evolve_every = evolve_every
        self.decay = decay
        self.novelty = novelty
        self.coverage = coverage
        self.coverage_batch = coverage_batch
        self.generalists = generalists
        self.generalist_generations = generalist_generations
        self.generalist_batch = generalist_batch
        self.generalist_d_learning_rate = generalist_d_learning_rate
        self.generalist_share = generalist_share
        self.generalist_temperature = generalist_temperature
        self.eval_batch = eval_batch
        self.sigma = sigma
        self.loss_mutation = loss_mutation
        self.quality = quality
        self.quality_every = quality_every
        self.quality_samples = quality_samples
        self.random_state = random_state
        self.threads = threads
        self.verbose = verbose
        self.warm_start = warm_start
        self.checkpoint_every = checkpoint_every
        self.checkpoint_path = checkpoint_path

    # ------------------------------------------------------------ settings
    def network_spec(self, n_pixels):
        """The generators' :class:`~fastga.NetworkSpec` for images of ``n_pixels``."""
        return generator_network_spec(self, n_pixels)

    def _check_settings(self):
        check_int(self.generations, "generations", minimum=0)
        check_int(self.steps, "steps", minimum=1)
        check_int(self.pop_size, "pop_size", minimum=2)
        check_int(self.batch_size, "batch_size", minimum=1)
        check_int(self.d_batch, "d_batch", minimum=1)
        g = check_int(self.minibatch_std or 0, "minibatch_std", minimum=0)
        if g == 1 or (g and (self.batch_size % g or self.d_batch % g or self.eval_batch % g)):
            raise ValueError(f"minibatch_std: a group size >= 2 dividing batch_size ({self.batch_size}), "
                             f"d_batch ({self.d_batch}) and eval_batch ({self.eval_batch}), got {g} (0: off)")
        check_int(self.eval_batch, "eval_batch", minimum=2)
        check_positive(self.learning_rate, "learning_rate")
        check_positive(self.d_learning_rate, "d_learning_rate")
        check_rate(self.real_label, "real_label")
        if self.real_label <= 0.5:
            raise ValueError(f"real_label: must be > 0.5, got {self.real_label}")
        if self.gradient_loss not in ("mixed",) + LOSS_NAMES:
            raise ValueError(f"gradient_loss: expected 'mixed' or one of {LOSS_NAMES}, got "
                             f"{self.gradient_loss!r}")
        check_positive(self.novelty, "novelty", allow_zero=True)
        check_positive(self.coverage, "coverage", allow_zero=True)
        check_int(self.coverage_batch, "coverage_batch", minimum=1)
        n_gen = check_int(self.generalists, "generalists", minimum=0)
        if n_gen == 1:
            raise ValueError("generalists: 0 (off) or at least 2 lineages, got 1")
        if self.generalist_generations is not None:
            check_int(self.generalist_generations, "generalist_generations", minimum=1)
        check_int(self.generalist_batch, "generalist_batch", minimum=1)
        check_positive(self.generalist_d_learning_rate, "generalist_d_learning_rate")
        check_rate(self.generalist_share, "generalist_share")
        if n_gen and not 0.0 < float(self.generalist_share) < 1.0:
            raise ValueError(f"generalist_share: must lie strictly between 0 and 1 with generalists, "
                             f"got {self.generalist_share}")
        check_positive(self.generalist_temperature, "generalist_temperature")
        check_positive(self.mode_seeking, "mode_seeking", allow_zero=True)
        check_int(self.evolve_every, "evolve_every", minimum=0)
        check_rate(self.decay, "decay")
        check_positive(self.sigma, "sigma", allow_zero=True)
        check_rate(self.loss_mutation, "loss_mutation")
        check_int(self.quality_every, "quality_every", minimum=1)
        check_int(self.quality_samples, "quality_samples", minimum=4)
        if not isinstance(self.quality, (bool, np.bool_)) and not hasattr(self.quality, "score"):
            raise TypeError(f"quality: expected a bool or a SampleQuality, got {type(self.quality).__name__}")
        if self.checkpoint_every is not None:
            check_int(self.checkpoint_every, "checkpoint_every", minimum=1)
            if self.checkpoint_path is None:
                raise ValueError("checkpoint_path: required with checkpoint_every")

    def _initial_genomes(self, spec, seed, X):
        """Glorot-uniform weights, zero hidden biases, output biases at the logit of the mean image."""
        rng = philox(seed, 0, Purpose.INIT)
        K = int(self.pop_size)
        g = np.zeros((K, spec.n_params), dtype=np.float32)
        for layer in range(spec.n_layers):
            ws, bs, (n_in, n_out) = spec.layer_slices(layer)
            lim = np.sqrt(6.0 / (n_in + n_out))
            g[:, ws] = rng.uniform(-lim, lim, size=(K, n_in * n_out))
        if spec.activations[-1] == "sigmoid":
            mean = np.clip(X.mean(axis=0, dtype=np.float64), 0.02, 0.98)
            _, bs, _ = spec.layer_slices(spec.n_layers - 1)
            g[:, bs] = np.log(mean / (1.0 - mean)).astype(np.float32)
        return g

    # ------------------------------------------------------------ fit
    def fit(self, X, y=None, callbacks=()):
        """Train and evolve the lineages on real images ``X`` (pixels in [0, 1]).

        ``y`` (labels) is used only by the quality measure. ``callback(gan,
        record)`` runs after each generation; returning True stops the run.
        """
        self._check_settings()
        X = np.asarray(X)
        shape_3d = (X.shape[1], X.shape[2]) if X.ndim == 3 else None
        if X.ndim == 3:
            X = X.reshape(X.shape[0], -1)
        X = check_X(X).astype(np.float32, copy=False)
        if X.shape[0] < 2:
            raise ValueError(f"X: need at least 2 real images, got {X.shape[0]}")
        if float(X.min()) < 0.0 or float(X.max()) > 1.0:
            raise ValueError("X: pixels must lie in [0, 1] (the generators end in a sigmoid)")
        resume = bool(self.warm_start) and getattr(self, "genomes_", None) is not None
        digest = _data_digest(X)
        from .discriminator import import_keras

        import_keras(self.threads, intra_op=1)  # before the first model: once per process
        if resume:
            if X.shape[1] != self.generator_spec_.n_outputs:
                raise ValueError(f"X: the run being continued draws {self.generator_spec_.n_outputs} "
                                 f"pixels, got images of {X.shape[1]}")
            if getattr(self, "data_sha256_", None) not in (None, digest):
                import warnings

                warnings.warn("X: not the images the run being continued was trained on", stacklevel=2)
            if self.genomes_.shape[0] != int(self.pop_size):
                raise ValueError(f"pop_size: the run being continued has {self.genomes_.shape[0]} generators")
        else:
            self.image_shape_ = image_shape_for(X.shape[1], self.image_shape if self.image_shape is not None
                                                else shape_3d)
            spec = self.network_spec(X.shape[1])
            self.generator_spec_ = spec
            self.seed_ = resolve_seed(self.random_state)
            self.genomes_ = self._initial_genomes(spec, self.seed_, X)
            K = int(self.pop_size)
            self.losses_ = (np.arange(K) % 3 if self.gradient_loss == "mixed"
                            else np.full(K, LOSS_NAMES.index(self.gradient_loss))).astype(np.int64)
            self.fitness_ = np.full(K, np.nan)
            self.lineage_ = np.arange(K, dtype=np.int64)
            self.generation_ = 0
            self.history_ = History()
            self._adam = None
            self.generalist_genomes_ = None
            from .discriminator import build_discriminator

            self.discriminator_ = build_discriminator(self.image_shape_, learning_rate=self.d_learning_rate,
                                                      seed=self.seed_, threads=self.threads,
                                                      minibatch_std=self.minibatch_std or None)
        spec = self.generator_spec_
        seed = self.seed_
        quality = None
        if hasattr(self.quality, "score"):
            quality = self.quality if hasattr(self.quality, "classifier_") else self.quality.fit(X, y)
        elif self.quality and y is not None:
            from .quality import SampleQuality

            quality = SampleQuality(random_state=seed % (2**31)).fit(X, y)
        self.quality_ = quality
        self.data_sha256_ = digest
        from .stacked import StackedGenerators

        trainer = StackedGenerators(spec, self.genomes_, self.discriminator_, X, self.image_shape_,
                                    self._loss_mix(), learning_rate=self.learning_rate,
                                    real_label=self.real_label,
                                    mode_seeking=np.full(int(self.pop_size), float(self.mode_seeking)))
        if self._adam is not None:
            trainer.set_state(**self._adam)
        self._trainer = trainer
        self.stopped_ = None
        second = None
        if self._generalists_due() and self.generation_ < int(self.generations) and self._side_by_side():
            second = _SecondPhase(self, X)  # the generalists, on their own core meanwhile
        try:
            self._run(X, trainer, quality, list(callbacks))
        except BaseException:
            if second is not None:
                second.cancel()
            raise
        self._sync(trainer)
        self._trainer = None
        if self._generalists_due() and self.stopped_ is None and self.generation_ >= int(self.generations):
            try:
                if second is None:
                    self._keep_generalists(self._fit_generalists(X))
                else:
                    self._keep_generalists(second.result())
            except KeyboardInterrupt:  # the specialists' checkpoint is saved; a resume redoes this phase
                if second is not None:
                    second.cancel()
                self.stopped_ = "interrupted"
                if self.checkpoint_path is None:
                    raise
                return self
            if self.checkpoint_path is not None:
                self.save(self.checkpoint_path)
        elif second is not None:  # stopped early: the second phase is not kept (a resume redoes it)
            second.cancel()
        return self

    def _generalists_due(self):
        """Whether the run has a second phase still to do."""
        return bool(int(self.generalists)) and getattr(self, "generalist_genomes_", None) is None

    def _side_by_side(self):
        """Whether the generalists train beside the specialists: ``threads`` (default: the
        cores) of at least 2."""
        return (int(self.threads) if self.threads else (os.cpu_count() or 1)) >= 2

    def _generalist_total(self):
        """Generations of the generalists' phase (default: three quarters of ``generations``)."""
        if self.generalist_generations is not None:
            return int(self.generalist_generations)
        return max(1, int(round(0.75 * int(self.generations))))

    def _fit_generalists(self, X, stop=None):
        """The second phase: ``generalists`` lineages against a discriminator of their own;
        returns its run (``stop``: an Event that ends it after the generation under way)."""
        seed = int(philox(self.seed_, 0, Purpose.SEEDING).integers(0, 2**62))
        # The first phase's settings, but for what makes a generalist: its own
        # population, batch, discriminator rate and length, and no second phase.
        params = {k: getattr(self, k) for k in self._param_names()}
        params.update(generator_spec=self.generator_spec_, image_shape=self.image_shape_,
                      generations=self._generalist_total(), pop_size=int(self.generalists),
                      batch_size=self.generalist_batch, d_learning_rate=self.generalist_d_learning_rate,
                      minibatch_std=0, quality=False, generalists=0, random_state=seed,
                      warm_start=False, checkpoint_every=None, checkpoint_path=None,
                      verbose=self.verbose and stop is None)
        inner = LineageGAN(**params)
        inner.fit(X, callbacks=() if stop is None else [lambda gan, record: stop.is_set()])
        return inner

    def _keep_generalists(self, inner):
        self.generalists_ = inner
        self.generalist_genomes_ = inner.genomes_.copy()

    def _loss_mix(self):
        mix = np.zeros((int(self.pop_size), len(LOSS_NAMES)), dtype=np.float32)
        mix[np.arange(mix.shape[0]), self.losses_] = 1.0
        return mix

    def _sync(self, trainer):
        state = trainer.state()
        self.genomes_ = state["genomes"]
        self._adam = {k: state[k] for k in ("adam_m", "adam_v", "adam_t")}

    def distinctness(self, fakes):
        """Share of each generator's fakes (K, n, pixels) whose nearest other fake is its own."""
        K, n = fakes.shape[:2]
        flat = fakes.reshape(K * n, -1).astype(np.float64)
        sq = (flat * flat).sum(axis=1)
        d = sq[:, None] + sq[None, :] - 2.0 * (flat @ flat.T)
        np.fill_diagonal(d, np.inf)
        owner = np.repeat(np.arange(K), n)
        return (owner[np.argmin(d, axis=1)] == owner).reshape(K, n).mean(axis=1)

    def coverage_share(self, fakes, real):
        """Share of the real images ``real`` (m, pixels) whose nearest fake is each generator's, (K,).

        ``fakes`` (K, n, pixels): every generator's fakes. Each real image is
        claimed by the generator that drew the fake nearest to it (a Voronoi
        split of the data among the generators); the shares sum to 1.
        """
        K, n = fakes.shape[:2]
        flat = fakes.reshape(K * n, -1).astype(np.float64)
        real = np.asarray(real, dtype=np.float64)
        d = (flat * flat).sum(axis=1)[None, :] - 2.0 * (real @ flat.T)  # + |real|^2, the same per row
        owner = np.argmin(d, axis=1) // n
        return np.bincount(owner, minlength=K).astype(np.float64) / real.shape[0]

    def _run(self, X, trainer, quality, callbacks):
        import time

        from ..progress import progress_bar

        K, b, S = int(self.pop_size), int(self.batch_size), int(self.steps)
        L = self.generator_spec_.n_inputs
        seed, n_real = self.seed_, X.shape[0]
        total = int(self.generations)
        every, path = self.checkpoint_every, self.checkpoint_path
        start = self.generation_
        saved = None
        bar = progress_bar(max(0, total - start), "generations", disable=not self.verbose)
        try:
            while self.generation_ < total:
                with interrupts_deferred():
                    t0 = time.perf_counter()
                    gen = self.generation_
                    z = philox(seed, gen, Purpose.LATENT).standard_normal((S, K, b, L), dtype=np.float32)
                    rng_real = philox(seed, gen, Purpose.REAL)
                    idx = rng_real.integers(0, n_real, size=(S, int(self.d_batch)))
                    scale = self._lr_scale(gen, total)
                    trainer.lr_scale.assign(scale)
                    self.discriminator_.optimizer.learning_rate.assign(float(self.d_learning_rate) * scale)
                    d_loss, d_fake = trainer.train(z, idx)
                    ze = philox(seed, gen, Purpose.FAKE_PICK).standard_normal((K, int(self.eval_batch), L),
                                                                              dtype=np.float32)
                    fakes, d = trainer.score(ze)
                    real = X[rng_real.integers(0, n_real, size=int(self.eval_batch))]
                    d_real = trainer.score_real(real)
                    distinct = self.distinctness(fakes)
                    fitness = d.mean(axis=1) + float(self.novelty) * distinct
                    if self.coverage:
                        cov_idx = philox(seed, gen, Purpose.COVERAGE).integers(
                            0, n_real, size=int(self.coverage_batch))
                        share = self.coverage_share(fakes, X[cov_idx])
                        fitness = fitness + float(self.coverage) * K * share
                    self.fitness_ = fitness
                    best = int(np.argmax(fitness))
                    record = {"generation": gen + 1, "best_fitness": float(fitness.max()),
                              "mean_fitness": float(fitness.mean()), "d_loss": d_loss, "d_fake": d_fake,
                              "d_real": float(d_real.mean()),
                              "d_accuracy": float(0.5 * ((d_real >= 0.5).mean() + (d < 0.5).mean())),
                              "mean_d_fake_best": float(d[best].mean()),
                              "distinct_mean": float(distinct.mean()),
                              "n_losses": float(len(np.unique(self.losses_)))}
                    last = gen + 1 >= total
                    if quality is not None and ((gen + 1) % int(self.quality_every) == 0 or last):
                        self._sync(trainer)
                        record.update(quality.score(self.sample_mixture_flat(int(self.quality_samples))))
                    worst, parent = -1, -1
                    if not last and self.evolve_every and (gen + 1) % int(self.evolve_every) == 0:
                        worst, parent = self._replace(trainer, fitness, gen)
                    record["replaced"], record["parent"] = worst, parent
                    record["seconds"] = time.perf_counter() - t0
                    self.history_.append(record)
                    self.generation_ = gen + 1
                    bar.update(1)
                    stop = any(bool(cb(self, record)) for cb in callbacks)
                    if every and self.generation_ % int(every) == 0:
                        self._sync(trainer)
                        self.save(path)
                        saved = self.generation_
                    if stop:
                        self.stopped_ = "callback"
                        break
        except KeyboardInterrupt:
            self.stopped_ = "interrupted"
            if path is None:
                raise
        finally:
            bar.close()
        self._sync(trainer)
        if path is not None and (saved != self.generation_ or self.stopped_ == "interrupted"):
            self.save(path)

    def _lr_scale(self, gen, total):
        """Factor on both learning rates in generation ``gen``: 1, then linearly down over the last ``decay``."""
        span = float(self.decay) * total
        if span <= 0:
            return 1.0
        return float(min(1.0, (total - gen) / span))

    def _replace(self, trainer, fitness, gen):
        """PBT: the least fit generator becomes a mutated copy of the fittest. Returns (worst, parent)."""
        worst, parent = int(np.argmin(fitness)), int(np.argmax(fitness))
        if worst == parent:
            return -1, -1
        rng = philox(self.seed_, gen, Purpose.MUTATION)
        state = trainer.state()
        for key in ("genomes", "adam_m", "adam_v"):
            state[key][worst] = state[key][parent]
        if self.sigma:
            state["genomes"][worst] += (float(self.sigma) * rng.standard_normal(
                state["genomes"].shape[1])).astype(np.float32)
        loss = int(self.losses_[parent])
        if rng.random() < float(self.loss_mutation):
            loss = int(rng.integers(0, len(LOSS_NAMES)))
        self.losses_[worst] = loss
        self.lineage_[worst] = self.lineage_[parent]
        trainer.set_state(genomes=state["genomes"], adam_m=state["adam_m"], adam_v=state["adam_v"],
                          loss_mix=self._loss_mix())
        return worst, parent

    # ------------------------------------------------------------ results
    @property
    def generator_(self):
        g = self._genomes()
        extra = getattr(self, "generalist_genomes_", None)
        if extra is None:
            return GeneratorMixture(self.generator_spec_, g)
        share = float(self.generalist_share)
        weights = np.concatenate([np.full(g.shape[0], (1.0 - share) / g.shape[0]),
                                  np.full(extra.shape[0], share / extra.shape[0])])
        return GeneratorMixture(self.generator_spec_, np.concatenate([g, extra]), weights,
                                self._temperatures(g.shape[0], extra.shape[0]))

    def _temperatures(self, n_specialists, n_generalists):
        """Latent scale of each row: 1 for the specialists, ``generalist_temperature`` after."""
        return np.concatenate([np.ones(n_specialists, dtype=np.float32),
                               np.full(n_generalists, self.generalist_temperature, dtype=np.float32)])

    @property
    def best_generator_(self):
        f = np.nan_to_num(self.fitness_, nan=-np.inf)
        return Network(self.generator_spec_, self._genomes()[int(np.argmax(f))])

    def _genomes(self):
        if getattr(self, "_trainer", None) is not None:
            return self._trainer.genomes()
        if getattr(self, "genomes_", None) is None:
            raise AttributeError("fit() has not been called yet")
        return self.genomes_

    def top_rows(self, k):
        """Indices of the ``k`` fittest generators."""
        f = np.nan_to_num(self.fitness_, nan=-np.inf)
        return np.argsort(-f, kind="stable")[: int(k)].astype(np.int64)

    def sample_mixture_flat(self, n, random_state=0):
        return self.generator_.sample(n, random_state)

    def sample_mixture(self, n, k=None, random_state=0):
        """``n`` images (n, rows, cols) of the run's mixture (``k``: of the k fittest specialists alone)."""
        n = check_int(n, "n", minimum=1)
        if k is None or (int(k) >= int(self.pop_size) and getattr(self, "generalist_genomes_", None) is None):
            images = self.generator_.sample(n, random_state)
        else:
            images = GeneratorMixture(self.generator_spec_, self._genomes()[self.top_rows(k)]).sample(
                n, random_state)
        return images.reshape(n, *self.image_shape_)

    def sample(self, n, rows=None, random_state=0):
        """Images of generators ``rows`` (default: every one), shape (k, n, rows, cols), same latents.

        Rows ``pop_size`` and up are the generalists (the second phase),
        their latents scaled by ``generalist_temperature`` as in the mixture.
        """
        n = check_int(n, "n", minimum=1)
        g = self._genomes()
        temps = np.ones(g.shape[0], dtype=np.float32)
        if getattr(self, "generalist_genomes_", None) is not None:
            temps = self._temperatures(g.shape[0], self.generalist_genomes_.shape[0])
            g = np.concatenate([g, self.generalist_genomes_])
        rows = np.arange(g.shape[0]) if rows is None else np.asarray(rows, dtype=np.int64)
        if rows.size and (rows.min() < 0 or rows.max() >= g.shape[0]):
            raise ValueError(f"rows: generator indices in [0, {g.shape[0]}), got {rows.tolist()}")
        z = philox(resolve_seed(random_state), 0, Purpose.QUALITY).standard_normal(
            (n, self.generator_spec_.n_inputs), dtype=np.float32)
        out = np.stack([Network(self.generator_spec_, g[r]).predict(z * temps[r]) for r in rows])
        return out.reshape(len(rows), n, *self.image_shape_)

    def sample_quality(self, n=1000, random_state=0, mixture=None):
        """Quality measures of ``n`` samples of the mixture (``mixture=k``: of the k fittest; 1: the best)."""
        if getattr(self, "quality_", None) is None:
            raise AttributeError("sample_quality: no quality measure (give labels y to fit, quality=True)")
        images = self.sample_mixture(n, mixture, random_state)
        return self.quality_.score(images.reshape(images.shape[0], -1))

    def save_generator(self, path):
        """Save the mixture of all the generators (:func:`load_mixture` reads it)."""
        return self.generator_.save(path, meta={"image_shape": list(self.image_shape_),
                                                "kind": "gan_mixture"})

    def save_discriminator(self, path):
        """Save the discriminator as a ``.keras`` file, atomically."""
        from .evolver import GANEvolver

        return GANEvolver.save_discriminator(self, path)

    # ------------------------------------------------------------ checkpoints
    _file_kind = "gan_lineages"

    @classmethod
    def _param_names(cls):
        import inspect

        return [k for k in inspect.signature(cls.__init__).parameters if k != "self"]

    def save(self, path, meta=None):
        """Write the whole run to ``path`` (one ``.npz``, atomic), to go on with :meth:`load`.

        Holds the parameters, the generators with their Adam state and
        losses, the fitness, the history, and every variable of the
        discriminator and of its optimizer.
        """
        if getattr(self, "genomes_", None) is None:
            raise AttributeError("save: fit() has not started a run yet")
        if getattr(self, "_trainer", None) is not None:
            self._sync(self._trainer)
        names = [k for k in self._param_names() if k not in ("generator_spec", "quality")]
        params = params_of(self, names, self.seed_)
        params["random_state"] = int(self.seed_)
        params["quality"] = bool(self.quality)
        arrays = {"genomes": self.genomes_, "losses": self.losses_, "fitness": self.fitness_,
                  "lineage": self.lineage_}
        if self._adam is not None:
            arrays.update({k: np.asarray(v, dtype=np.float32) for k, v in self._adam.items()})
        if getattr(self, "generalist_genomes_", None) is not None:
            arrays["generalist_genomes"] = np.asarray(self.generalist_genomes_, dtype=np.float32)
        cols = self.history_.keys()
        for c in cols:
            arrays[f"history_{c}"] = self.history_[c]
        model = self.discriminator_
        d_vars = list(model.variables)
        opt_vars = list(model.optimizer.variables) if model.optimizer is not None else []
        for i, v in enumerate(d_vars):
            arrays[f"d_variable_{i}"] = np.asarray(v.numpy())
        for i, v in enumerate(opt_vars):
            arrays[f"d_optimizer_{i}"] = np.asarray(v.numpy())
        info = {"class": type(self).__name__, "params": params,
                "generator_spec": self.generator_spec_.to_dict(),
                "custom_generator_spec": self.generator_spec is not None,
                "image_shape": list(self.image_shape_), "seed": int(self.seed_),
                "generation": int(self.generation_), "data_sha256": getattr(self, "data_sha256_", None),
                "stopped": getattr(self, "stopped_", None), "history": list(cols),
                "n_d_variables": len(d_vars), "n_d_optimizer": len(opt_vars),
                "user": None if meta is None else {str(k): jsonable(v, f"meta[{k!r}]") for k, v in meta.items()}}
        return save_npz(path, self._file_kind, arrays, checkpoint_meta(info))

    @classmethod
    def load(cls, path, quality=None):
        """A run saved by :meth:`save`, ready to go on: ``.fit(X, y)`` continues it.

        ``generations`` is the saved total: raise it to go further.
        """
        arrays, meta = read_checkpoint(path, cls._file_kind)
        return build_checked(path, cls.__name__, cls._from_checkpoint, arrays, meta, quality)

    @classmethod
    def _from_checkpoint(cls, arrays, meta, quality):
        params = meta["params"]
        require(isinstance(params, dict), "params is not a dict")
        unknown = set(params) - set(cls._param_names())
        require(not unknown, f"unknown {cls.__name__} parameters {sorted(unknown)}")
        kw = {k: from_json(v) for k, v in params.items()}
        spec = NetworkSpec.from_dict(meta["generator_spec"])
        if meta.get("custom_generator_spec"):
            kw["generator_spec"] = spec
        if quality is not None:
            kw["quality"] = quality
        kw["warm_start"] = True
        ev = cls(**kw)
        ev._check_settings()
        K = int(ev.pop_size)
        ev.generator_spec_ = spec
        ev.image_shape_ = tuple(int(v) for v in meta["image_shape"])
        ev.seed_ = int(meta["seed"])
        ev.generation_ = int(meta["generation"])
        ev.data_sha256_ = meta.get("data_sha256")
        ev.stopped_ = meta.get("stopped")
        ev.checkpoint_meta_ = meta.get("user")
        ev.genomes_ = array_field(arrays, "genomes", np.float32, 2, (K, spec.n_params)).copy()
        ev.losses_ = array_field(arrays, "losses", np.int64, 1, (K,)).copy()
        ev.fitness_ = array_field(arrays, "fitness", np.float64, 1, (K,)).copy()
        ev.lineage_ = array_field(arrays, "lineage", np.int64, 1, (K,)).copy()
        ev._adam = None
        if "adam_m" in arrays:
            ev._adam = {"adam_m": array_field(arrays, "adam_m", np.float32, 2, (K, spec.n_params)),
                        "adam_v": array_field(arrays, "adam_v", np.float32, 2, (K, spec.n_params)),
                        "adam_t": array_field(arrays, "adam_t", np.float32, 1, (1,))}
        ev.history_ = History({c: arrays[f"history_{c}"] for c in meta["history"]})
        ev.generalist_genomes_ = None
        if "generalist_genomes" in arrays:
            ev.generalist_genomes_ = array_field(arrays, "generalist_genomes", np.float32, 2,
                                                 (int(ev.generalists), spec.n_params)).copy()
        from .discriminator import build_discriminator, import_keras, restore_model_state

        import_keras(ev.threads, intra_op=1)
        model = build_discriminator(ev.image_shape_, learning_rate=ev.d_learning_rate, seed=ev.seed_,
                                    threads=ev.threads, minibatch_std=ev.minibatch_std or None)
        restore_model_state(model, [arrays[f"d_variable_{i}"] for i in range(int(meta["n_d_variables"]))],
                            [arrays[f"d_optimizer_{i}"] for i in range(int(meta["n_d_optimizer"]))])
        ev.discriminator_ = model
        return ev


class _SecondPhase:
    """:meth:`LineageGAN._fit_generalists` in a thread of its own, started at once.

    The two phases share nothing but the (read-only) images, so the results
    are the same bits as one phase after the other; the run's attributes are
    set from :meth:`result` in the calling thread only.
    """

    def __init__(self, gan, X):
        self._stop = threading.Event()
        self._out = {}
        self._thread = threading.Thread(target=self._work, args=(gan, X), daemon=True,
                                        name="fastga-generalists")
        self._thread.start()

    def _work(self, gan, X):
        try:
            self._out["run"] = gan._fit_generalists(X, stop=self._stop)
        except BaseException as exc:  # re-raised by result() in the caller's thread
            self._out["error"] = exc

    def result(self):
        """The generalists' run, once it has finished (its error re-raised here)."""
        while self._thread.is_alive():  # a timed join, so that Ctrl-C reaches the caller
            self._thread.join(0.2)
        if "error" in self._out:
            raise self._out["error"]
        return self._out["run"]

    def cancel(self):
        """Stop it after the generation under way and wait for it."""
        self._stop.set()
        self._thread.join()
