"""scikit-learn style estimators: GeneticMLPClassifier and GeneticMLPRegressor.

An estimator composes a search algorithm (``ga_``) with a
:class:`~fastga.SupervisedFitness` on the training data. The algorithm is
``algorithm``: the :class:`~fastga.GeneticAlgorithm` (``"ga"``) or one of the
evolution strategies of :mod:`fastga.es` (``"openes"``, ``"pgpe"``,
``"snes"``, ``"sepcmaes"``), whose hyperparameters are the dict
``algorithm_params``. The GA's parameters are the fields of
:class:`~fastga.settings.GASettings`, by the same names and with the same
defaults; they are flat keyword arguments (not one record) so that
``get_params``, ``clone`` and ``GridSearchCV`` see each of them. An ES
ignores them.

They are scikit-learn estimators in full: ``check_estimator`` passes every
check (none is marked as an expected failure, :data:`EXPECTED_FAILED_CHECKS`);
inputs go through scikit-learn's ``validate_data`` (``n_features_in_``,
``feature_names_in_``), the classifier takes any label type (``classes_``
sorted as ``LabelEncoder`` sorts them), ``fit`` takes ``sample_weight``, and
the parameters are checked in scikit-learn's declarative style
(``_parameter_constraints``) before each fit; a few cross-parameter rules
(e.g. ``mutation_rate_cap >= mutation_rate``) are
:meth:`GASettings.validate`'s.

The estimator's file format lives here too (:meth:`_GeneticMLP.save`,
:meth:`_GeneticMLP.load`, :func:`load_estimator`): its parameters, its
fitted attributes and its algorithm, written by the algorithm's own format
hooks under the prefix ``ga_`` (the algorithm's class is read back from its
class name).
"""

from __future__ import annotations

import inspect
import os
import re
from numbers import Integral, Real

import numpy as np
from sklearn.base import BaseEstimator, ClassifierMixin, RegressorMixin, _fit_context
from sklearn.preprocessing import LabelEncoder
from sklearn.utils._param_validation import Interval, StrOptions
from sklearn.utils.multiclass import check_classification_targets

try:  # scikit-learn >= 1.6
    from sklearn.utils.validation import validate_data as _validate_data
except ImportError:  # pragma: no cover - scikit-learn < 1.6
    def _validate_data(estimator, *args, **kwargs):
        return estimator._validate_data(*args, **kwargs)


def _validate(estimator, X, *args, **kwargs):
    """scikit-learn's ``validate_data``; an error whose message names neither
    ``X`` nor ``y`` gets the prefix ``"X, y: "``, so that every one names its argument."""
    try:
        return _validate_data(estimator, X, *args, **kwargs)
    except (TypeError, ValueError) as exc:
        if re.search(r"\b(X|y)\b", str(exc)):
            raise
        raise type(exc)(f"X, y: {exc}") from None

from .algorithm import interrupts_deferred
from .es import ALGORITHMS as _ES
from .fileio import (FileFormatError, array_field, build_checked, checkpoint_meta, from_json,
                     jsonable, params_of, read_checkpoint, require, save_npz)
from .fitness import SupervisedFitness
from .ga import GeneticAlgorithm
from .network import Network
from .population import Population
from .registry import Activation, Crossover, Init, names
from .settings import SELECTIONS, GASettings
from .spec import NetworkSpec
from .validation import check_int, check_sample_weight

__all__ = ["GeneticMLPClassifier", "GeneticMLPRegressor", "load_estimator"]

#: The ``kind`` of an estimator's checkpoint file.
KIND_ESTIMATOR = "estimator"

_D = GASettings()  # the defaults of every GA setting

# Parameters of the estimator handed to its algorithm besides the settings.
_RUN_PARAMS = ("patience", "verbose")

#: The algorithms by name; the estimators' ``algorithm`` is one of these.
ALGORITHMS = {"ga": GeneticAlgorithm, **_ES}

#: The estimators' default algorithm (bench/README.md, "Choosing the default algorithm").
DEFAULT_ALGORITHM = "openes"

#: ``pop_size=None``: the GA's population in an estimator (an ES takes its own default).
GA_POP_SIZE = 500

# Parameters of an ES that the estimator sets itself (not in ``algorithm_params``).
_OWN = frozenset({"spec", "pop_size", "random_state", "threshold", "patience", "verbose"})

# Classes an estimator file may hold as its algorithm, by class name.
_BY_CLASS = {cls.__name__: cls for cls in ALGORITHMS.values()}

_RATE = Interval(Real, 0, 1, closed="both")
_NON_NEGATIVE = Interval(Real, 0, None, closed="left")

#: Expected failures of scikit-learn's ``check_estimator`` (check name -> reason);
#: given to ``parametrize_with_checks(expected_failed_checks=...)`` and, before
#: scikit-learn 1.6, the ``_xfail_checks`` tag. Empty: every check passes.
EXPECTED_FAILED_CHECKS = {}


class _GeneticMLP(BaseEstimator):
    """Shared machinery of the GeneticMLP estimators (not public)."""

    _metric = None
    _output_activation = None

    _parameter_constraints = {
        "architecture": ["array-like", Interval(Integral, 1, None, closed="left")],
        "activation": [StrOptions(set(names(Activation)) - {"softmax"})],
        "algorithm": [StrOptions(set(ALGORITHMS))],
        "algorithm_params": [dict, None],
        "pop_size": [Interval(Integral, 2, None, closed="left"), None],
        "generations": [Interval(Integral, 0, None, closed="left")],
        "die_off_rate": [_RATE],
        "fitness_pref": [_NON_NEGATIVE],
        "selection": [StrOptions(set(SELECTIONS))],
        "tournament_size": [Interval(Integral, 1, None, closed="left")],
        "elitism": [Interval(Integral, 0, None, closed="left")],
        "crossover": [StrOptions(set(names(Crossover)))],
        "max_crossover": [_RATE],
        "crossover_prob": [_RATE],
        "mutation_rate": [_RATE],
        "type_probs": ["array-like"],
        "shift_max": [_NON_NEGATIVE],
        "swap_max": [_NON_NEGATIVE],
        "sigma": [_NON_NEGATIVE],
        "mutation_rate_cap": [_RATE],
        "mutation_rate_increase": [_NON_NEGATIVE],
        "init": [StrOptions(set(names(Init)))],
        "init_scale": [Interval(Real, 0, None, closed="neither"), None],
        "batch_size": [Interval(Integral, 1, None, closed="left"), None],
        "threshold": [Interval(Real, None, None, closed="neither"), None],
        "patience": [Interval(Integral, 1, None, closed="left"), None],
        "warm_start": ["boolean"],
        "random_state": [Interval(Integral, 0, None, closed="left"), np.random.Generator,
                         np.random.SeedSequence, None],
        "verbose": ["verbose"],
        "checkpoint_every": [Interval(Integral, 1, None, closed="left"), None],
        "checkpoint_path": [str, os.PathLike, None],
    }

    def __sklearn_tags__(self):
        tags = super().__sklearn_tags__()
        tags.non_deterministic = False  # a given random_state gives the same bits
        tags.input_tags.sparse = False
        tags.input_tags.allow_nan = False
        return tags

    def _more_tags(self):  # scikit-learn < 1.6
        return {"_xfail_checks": dict(EXPECTED_FAILED_CHECKS)}

    def __init__(self, architecture=(32,), activation="relu", algorithm=DEFAULT_ALGORITHM,
                 algorithm_params=None, pop_size=None, generations=400,
                 die_off_rate=_D.die_off_rate, fitness_pref=_D.fitness_pref,
                 selection=_D.selection, tournament_size=_D.tournament_size, elitism=_D.elitism,
                 crossover=_D.crossover, max_crossover=_D.max_crossover,
                 crossover_prob=_D.crossover_prob, mutation_rate=_D.mutation_rate,
                 type_probs=_D.type_probs, shift_max=_D.shift_max, swap_max=_D.swap_max,
                 sigma=_D.sigma, mutation_rate_cap=_D.mutation_rate_cap,
                 mutation_rate_increase=_D.mutation_rate_increase, init=_D.init,
                 init_scale=_D.init_scale, batch_size=512, threshold=None, patience=None,
                 warm_start=False, random_state=None, verbose=False, checkpoint_every=None,
                 checkpoint_path=None):
        self.architecture = architecture
        self.activation = activation
        self.algorithm = algorithm
        self.algorithm_params = algorithm_params
        self.pop_size = pop_size
        self.generations = generations
        self.die_off_rate = die_off_rate
        self.fitness_pref = fitness_pref
        self.selection = selection
        self.tournament_size = tournament_size
        self.elitism = elitism
        self.crossover = crossover
        self.max_crossover = max_crossover
        self.crossover_prob = crossover_prob
        self.mutation_rate = mutation_rate
        self.type_probs = type_probs
        self.shift_max = shift_max
        self.swap_max = swap_max
        self.sigma = sigma
        self.mutation_rate_cap = mutation_rate_cap
        self.mutation_rate_increase = mutation_rate_increase
        self.init = init
        self.init_scale = init_scale
        self.batch_size = batch_size
        self.threshold = threshold
        self.patience = patience
        self.warm_start = warm_start
        self.random_state = random_state
        self.verbose = verbose
        self.checkpoint_every = checkpoint_every
        self.checkpoint_path = checkpoint_path

    # ------------------------------------------------------------ helpers
    def network_spec(self, n_features, n_outputs):
        """The :class:`~fastga.NetworkSpec` a fit on ``n_features`` inputs and
        ``n_outputs`` outputs evolves (``architecture``, ``activation`` and the
        estimator's output activation)."""
        n_in, n_out = n_features, n_outputs
        arch = self.architecture
        if isinstance(arch, (int, np.integer)) and not isinstance(arch, bool):
            arch = (arch,)
        try:
            hidden = [check_int(h, "architecture", minimum=1) for h in arch]
        except TypeError:
            raise TypeError(f"architecture: expected a sequence of ints, got {arch!r}") from None
        acts = [self.activation] * len(hidden) + [self._output_activation]
        return NetworkSpec([n_in, *hidden, n_out], acts)

    def _check_xy(self, X, y):  # pragma: no cover - overridden
        """``(X, y_fit, n_outputs)``: validated (``validate_data``, which also sets
        ``n_features_in_`` and ``feature_names_in_``) and encoded for the fitness."""
        raise NotImplementedError

    def _check_X(self, X):
        """``X`` for prediction: float32, the features (count and names) seen in ``fit``."""
        self._check_fitted()
        return _validate(self, X, reset=False, dtype=np.float32, order="C")

    def _stop_callback(self):
        return None

    def _algorithm_class(self):
        return ALGORITHMS[self.algorithm]

    def _es_params(self, cls):
        """``algorithm_params`` for the ES ``cls``, checked for names (the values are
        the strategy's to check)."""
        params = {} if self.algorithm_params is None else dict(self.algorithm_params)
        allowed = set(cls._param_names()) - _OWN
        for k in params:
            if k in _OWN:
                raise ValueError(f"algorithm_params: {k!r} is a parameter of the estimator "
                                 "itself, not of algorithm_params")
            if k not in allowed:
                raise ValueError(f"algorithm_params: {k!r} is not a parameter of "
                                 f"{cls.__name__}; expected some of {sorted(allowed)}")
        return params

    def _algorithm_settings(self):
        """What the algorithm takes from the estimator's parameters (on a fresh fit
        and when a warm start goes on)."""
        run = {k: getattr(self, k) for k in _RUN_PARAMS}
        if self.algorithm == "ga":
            if self.algorithm_params:
                raise ValueError("algorithm_params: the GA takes its settings as the "
                                 "estimator's own parameters (mutation_rate, sigma, ...), "
                                 f"got {sorted(self.algorithm_params)}")
            return {**{k: getattr(self, k) for k in GASettings.names()}, **run}
        cls = self._algorithm_class()
        defaults = {k: p.default for k, p in inspect.signature(cls.__init__).parameters.items()
                    if k in set(cls._param_names()) - _OWN}
        return {**defaults, **self._es_params(cls), **run}

    def _make_algorithm(self, spec, population):
        """The search algorithm of a fresh fit, initialised (the one place it is built)."""
        cls = self._algorithm_class()
        settings = self._algorithm_settings()
        if self.algorithm == "ga":
            pop_size = GA_POP_SIZE if self.pop_size is None else self.pop_size
            algo = GeneticAlgorithm.from_settings(
                spec, GASettings.from_params(self), pop_size=pop_size,
                random_state=self.random_state, **{k: settings[k] for k in _RUN_PARAMS})
        else:
            sized = {} if self.pop_size is None else {"pop_size": self.pop_size}
            algo = cls(spec, random_state=self.random_state, **sized, **settings)
        algo.initialize(population)  # checks the settings and the population first
        return algo

    @_fit_context(prefer_skip_nested_validation=True)
    def fit(self, X, y, sample_weight=None, callbacks=(), population=None):
        """Evolve a population of networks on ``(X, y)``.

        With ``warm_start=True`` and a fitted population of the same layout,
        breed ``generations`` more generations from it (bit-identical to one
        longer fit, also after :meth:`save` and :meth:`load`).

        Parameters
        ----------
        X : array-like of shape (n_samples, n_features)
        y : array-like
        sample_weight : array-like of shape (n_samples,), optional
            Non-negative weights of the samples in the fitness (weighted mean
            loss and accuracy, see :class:`~fastga.SupervisedFitness`) and in
            the choice of the final network. A zero weight is the same as
            leaving the sample out.
        callbacks : sequence of callables, optional
            ``callback(ga, record)`` after each generation; True stops. The
            loggers of :mod:`fastga.callbacks` fit here.
        population : Population, optional
            Initial genomes of a fresh fit (``pop_size`` networks of the
            estimator's layout), e.g. from :func:`fastga.seeding.seed_population`.
            An evolution strategy starts from their mean as its center.

        Returns
        -------
        self
        """
        X, y_fit, n_out = self._check_xy(X, y)
        sw = None
        if sample_weight is not None:
            sw = check_sample_weight(sample_weight, X.shape[0])
            keep = sw > 0
            if not keep.all():  # zero weight = left out (also of the minibatches)
                X, y_fit, sw = X[keep], y_fit[keep], sw[keep]
                self._check_kept(y_fit)
            if sw.min() == sw.max():
                sw = None  # equal weights: the plain mean
        generations = self.generations
        every = self.checkpoint_every
        if every is not None and self.checkpoint_path is None:
            raise ValueError("checkpoint_path: required with checkpoint_every")
        spec = self.network_spec(X.shape[1], n_out)
        go_on = (self.warm_start and hasattr(self, "ga_")
                 and type(self.ga_) is self._algorithm_class()
                 and self.ga_.population_.spec == spec)
        if not go_on:
            self.ga_ = self._make_algorithm(spec, population)
        elif population is not None:
            raise ValueError("population: give it only for a fresh fit (not when warm starting)")
        else:  # the run goes on with the current settings (pop_size and the seed are the run's)
            self.ga_.set_params(**self._algorithm_settings())
        fitness = SupervisedFitness(X, y_fit, self._metric, self.batch_size,
                                    seed=self.ga_.state_.seed, n_outputs=n_out, sample_weight=sw)
        cbs = []
        if every is not None:
            start = self.ga_.population_.generation

            def checkpoint(ga, record):
                gen = ga.population_.generation
                if gen != start and gen % every == 0:
                    self._finish(fitness, spec)
                    self.save(self.checkpoint_path)

            cbs.append(checkpoint)
        cbs.extend(callbacks)
        stop = self._stop_callback()
        if stop is not None:
            cbs.append(stop)
        try:
            self.ga_.run(fitness, generations, callbacks=cbs, warm_start=True)
        except KeyboardInterrupt:
            if self.checkpoint_path is None:
                raise
            # The GA's state is consistent (updates are all or nothing): keep the best so far.
        if self.checkpoint_path is None:
            self._finish(fitness, spec)
            return self
        with interrupts_deferred(reraise=False) as late:  # a Ctrl-C now still saves first
            self._finish(fitness, spec)
            self.save(self.checkpoint_path)
        if late:
            self.ga_.state_.stopped = "interrupted"
            self.save(self.checkpoint_path)
        return self

    def _check_kept(self, y_fit):
        """Check the samples of nonzero weight (subclass)."""

    def _finish(self, fitness, spec):
        """Pick the best network on the whole (weighted) training set among the current
        population and, for an evolution strategy, its center (``mean_``)."""
        algo = self.ga_
        pop = algo.population_
        if hasattr(algo, "mean_"):
            pop = Population(spec, np.vstack([pop.genomes, algo.mean_[None]]))
        loss, _ = fitness.losses(pop)
        full = np.where(np.isfinite(loss), -loss, -np.inf)
        best = int(np.argmax(full))
        self.best_network_ = Network(spec, pop.genomes[best])
        self.train_loss_ = float(loss[best])
        self.history_ = self.ga_.history_
        self.n_generations_ = int(algo.population_.generation)

    # ---------------------------------------------------------------- files
    def _payload(self):
        """``(arrays, meta)``: the parameters, the fitted attributes and the GA's run."""
        has_ga = hasattr(self, "ga_")
        seed = self.ga_.state_.seed if has_ga and self.ga_.initialized else None
        names = sorted(set(self.get_params(deep=False)) - {"algorithm_params"})
        params = params_of(self, names, seed)
        ap = self.algorithm_params
        if ap is not None:
            if not isinstance(ap, dict) or not all(isinstance(k, str) for k in ap):
                raise TypeError("algorithm_params: expected a dict with str keys to save, "
                                f"got {ap!r:.60}")
            ap = {k: jsonable(v, f"algorithm_params[{k!r}]") for k, v in sorted(ap.items())}
        params["algorithm_params"] = ap
        meta = {
            "class": type(self).__name__,
            "params": params,
            "has_ga": has_ga,
            "fitted": hasattr(self, "best_network_"),
        }
        arrays = {}
        if has_ga:
            ga_arrays, meta["ga"] = self.ga_.payload(prefix="ga_")
            arrays.update(ga_arrays)
        if meta["fitted"]:
            net = self.best_network_
            arrays["best_network"] = net.genome
            meta["best_network_spec"] = net.spec.to_dict()
            attrs = {"n_features_in_": int(self.n_features_in_),
                     "n_generations_": int(self.n_generations_),
                     "train_loss_": float(self.train_loss_)}
            if hasattr(self, "feature_names_in_"):
                attrs["feature_names_in_"] = [str(f) for f in self.feature_names_in_]
            self._fitted_payload(arrays, attrs)
            meta["fitted_attrs"] = attrs
        return arrays, meta

    def _fitted_payload(self, arrays, attrs):
        """Add the class's own fitted attributes (subclass)."""

    def _fitted_from(self, arrays, attrs, spec):
        """Check and return a setter of the class's own fitted attributes (subclass)."""
        return lambda: None

    @classmethod
    def _from_payload(cls, arrays, meta):
        params = meta["params"]
        require(isinstance(params, dict), "params is not a dict")
        unknown = set(params) - set(cls().get_params(deep=False))
        require(not unknown, f"unknown {cls.__name__} parameters {sorted(unknown)}")
        ap = params.get("algorithm_params")
        require(ap is None or isinstance(ap, dict), "algorithm_params is not a dict")
        est = cls(**{k: from_json(v) for k, v in params.items() if k != "algorithm_params"})
        if "algorithm" not in params:  # files of fastga before the evolution strategies
            est.algorithm = "ga"
        if ap is not None:
            est.algorithm_params = {k: from_json(v) for k, v in ap.items()}
        ga = None
        if meta.get("has_ga"):
            name = meta["ga"].get("class", "GeneticAlgorithm")
            require(name in _BY_CLASS, f"unknown algorithm class {name!r}")
            ga = _BY_CLASS[name].from_payload(arrays, meta["ga"], prefix="ga_")
        fitted = meta.get("fitted")
        if fitted:  # check everything before setting anything
            require(ga is not None, "a fitted estimator without its GA")
            spec = NetworkSpec.from_dict(meta["best_network_spec"])
            net = Network(spec, array_field(arrays, "best_network", np.float32, 1, (spec.n_params,)))
            attrs = meta["fitted_attrs"]
            n_features = int(attrs["n_features_in_"])
            require(n_features == spec.n_inputs, "n_features_in_ does not match the network")
            feature_names = attrs.get("feature_names_in_")
            if feature_names is not None:
                require(isinstance(feature_names, list) and len(feature_names) == n_features
                        and all(isinstance(f, str) for f in feature_names),
                        "feature_names_in_ is not a list of n_features_in_ names")
                feature_names = np.asarray(feature_names, dtype=object)
            set_own = est._fitted_from(arrays, attrs, spec)
        if ga is not None:
            est.ga_ = ga
        if fitted:
            est.best_network_ = net
            est.n_features_in_ = n_features
            if feature_names is not None:
                est.feature_names_in_ = feature_names
            est.n_generations_ = int(attrs["n_generations_"])
            est.train_loss_ = float(attrs["train_loss_"])
            est.history_ = ga.history_
            set_own()
        return est

    def save(self, path):
        """Write the parameters, fitted attributes and GA state to ``path``.

        One ``.npz``, atomic and pickle-free (:mod:`fastga.fileio`).
        ``Estimator.load(path)`` gives back an estimator that predicts the
        same and, with ``warm_start=True``, whose ``fit`` goes on
        bit-identically.

        Returns
        -------
        str
            ``path``.
        """
        arrays, meta = self._payload()
        return save_npz(path, KIND_ESTIMATOR, arrays, checkpoint_meta(meta))

    @classmethod
    def load(cls, path):
        """Read an estimator of this class written by :meth:`save`.

        To go on evolving it: ``est.set_params(warm_start=True, generations=more).fit(X, y)``.

        Raises
        ------
        fastga.fileio.FileFormatError
            The file is corrupt, truncated, not an estimator of this class or
            of a newer version.
        """
        return load_estimator(path, cls)

    def _check_fitted(self):
        if not hasattr(self, "best_network_"):
            from sklearn.exceptions import NotFittedError

            raise NotFittedError(f"{type(self).__name__} is not fitted yet: call fit first")


class GeneticMLPClassifier(ClassifierMixin, _GeneticMLP):
    """An MLP classifier whose weights are evolved, not trained by gradients.

    The population lives in one float32 buffer; each generation it is scored
    (minus the cross-entropy on a minibatch, by a fused Numba kernel) and the
    algorithm makes the next one. With the GA (``algorithm="ga"``), the
    worst ``die_off_rate`` share dies, the best ``elitism`` pass unchanged,
    and the rest are bred from the survivors by fitness-preference mating,
    neuron-wise crossover and mutation, with a mutation rate that rises while
    the best score stalls. With an evolution strategy, the population is
    sampled around a center that the ranked fitness moves (:mod:`fastga.es`).
    The network with the lowest loss on the whole training set is kept,
    among the final population and, for an ES, its center.

    Parameters
    ----------
    architecture : sequence of int, default=(32,)
        Hidden layer sizes.
    activation : str, default="relu"
        Hidden activation; the output layer is softmax.
    algorithm : {"ga", "openes", "pgpe", "snes", "sepcmaes"}, default="openes"
        The search algorithm: the GA (:class:`~fastga.GeneticAlgorithm`) or
        an evolution strategy of :mod:`fastga.es` (:class:`~fastga.es.OpenES`,
        :class:`~fastga.es.PGPE`, :class:`~fastga.es.SNES`,
        :class:`~fastga.es.SepCMAES`).
    algorithm_params : dict, optional
        An evolution strategy's hyperparameters by name (e.g. ``{"sigma":
        0.05, "learning_rate": 0.1}`` for PGPE); those left out take the
        strategy's defaults. Checked by the strategy at ``fit``; an unknown
        name raises a ValueError naming it. Not used by the GA (its settings
        are the parameters below).
    pop_size : int, optional
        Networks per generation. Default: 500 for the GA, the strategy's
        own default (100) for an ES.
    generations : int, default=400
    die_off_rate, fitness_pref, selection, tournament_size, elitism, crossover, \
max_crossover, crossover_prob, mutation_rate, type_probs, shift_max, swap_max, sigma, \
mutation_rate_cap, mutation_rate_increase, init, init_scale
        The GA's operator settings, with the meaning and defaults of
        :class:`~fastga.settings.GASettings` (gaussian mutation of 20% of
        the weights, sigma 0.05, die-off 0.9, 5 elites). To use a
        ``GASettings`` record ``s``:
        ``GeneticMLPClassifier(**dataclasses.asdict(s))``; e.g.
        ``GASettings.reference()`` holds the GeneticMLP reference's
        shift / sign / swap operators. An evolution strategy ignores them
        (its ``sigma`` is in ``algorithm_params``).
    batch_size : int or None, default=512
        Samples per generation's fitness minibatch (None: all).
    threshold : float, optional
        Stop once the best network's minibatch accuracy reaches it.
    patience : int, optional
        Stop after this many generations without a better best fitness.
    warm_start : bool, default=False
        If True, ``fit`` goes on from the fitted population (and, for an ES,
        its search distribution), if it has the same layout and algorithm.
    random_state : None, int or numpy.random.Generator
    verbose : bool, default=False
        Show a progress bar.
    checkpoint_every : int, optional
        During ``fit``, save the estimator (:meth:`save`) to
        ``checkpoint_path`` after every generation that is a multiple of this.
    checkpoint_path : str, optional
        Where checkpoints go. When given, ``fit`` also saves at its end and
        on Ctrl-C (KeyboardInterrupt), after which it returns normally with
        the best network so far and ``ga_.state_.stopped == "interrupted"``.

    Attributes
    ----------
    classes_ : ndarray
        The labels seen in ``fit``, sorted as :class:`~sklearn.preprocessing.LabelEncoder`
        sorts them (any label type: ints, strings, objects).
    best_network_ : Network
        The network with the lowest training loss among the final
        population (and, for an ES, its center).
    history_ : History
        Per generation: best and mean fitness, best accuracy, prediction
        variance, fitness variance, seconds, and the GA's mutation rate or
        an ES's mean spread (``sigma_mean``).
    ga_ : GeneticAlgorithm or an evolution strategy of :mod:`fastga.es`
        The fitted algorithm (``ga_.mean_`` is an ES's center).
    n_generations_ : int
    train_loss_ : float
        The (weighted) mean loss of ``best_network_`` on the training set.
    n_features_in_ : int
    feature_names_in_ : ndarray of str
        Set when ``X`` has feature names (a pandas frame); checked in ``predict``.

    Examples
    --------
    >>> from fastga.datasets import load_digits_split
    >>> X_tr, X_te, y_tr, y_te = load_digits_split()
    >>> clf = GeneticMLPClassifier(pop_size=50, generations=5, random_state=0)
    >>> clf = clf.fit(X_tr, y_tr)
    >>> clf.predict(X_te).shape
    (360,)
    """

    _metric = "cross_entropy"
    _output_activation = "softmax"

    def _check_xy(self, X, y):
        X, y = _validate(self, X, y, dtype=np.float32, order="C")
        check_classification_targets(y)
        encoder = LabelEncoder().fit(y)
        self.classes_ = encoder.classes_
        y_fit = encoder.transform(y).astype(np.int64)
        self._check_kept(y_fit)
        return X, y_fit, len(self.classes_)

    def _check_kept(self, y_fit):
        n = np.unique(y_fit).shape[0]
        if n < 2:
            raise ValueError(f"y: the samples (of nonzero weight) hold {n} class; "
                             "a classifier needs at least 2 classes")

    def _stop_callback(self):
        if self.threshold is None:
            return None
        threshold = float(self.threshold)
        return lambda ga, rec: rec.get("best_accuracy", -np.inf) >= threshold and "threshold"

    def _fitted_payload(self, arrays, attrs):
        classes = np.asarray(self.classes_)
        attrs["classes_dtype"] = "object" if classes.dtype == object else classes.dtype.str
        attrs["classes"] = [c.item() if isinstance(c, np.generic) else c for c in classes.tolist()]

    def _fitted_from(self, arrays, attrs, spec):
        values = attrs.get("classes")
        require(isinstance(values, list) and len(values) == spec.n_outputs,
                f"classes is not a list of {spec.n_outputs} labels")
        dtype = attrs.get("classes_dtype")
        require(isinstance(dtype, str), "classes_dtype is missing")
        try:
            classes = np.array(values, dtype=np.dtype(dtype))
        except (TypeError, ValueError) as exc:
            raise ValueError(f"classes do not fit dtype {dtype!r}: {exc}") from None

        def set_own():
            self.classes_ = classes

        return set_own

    def predict_proba(self, X):
        """Class probabilities, float64 (n_samples, n_classes), in the order of ``classes_``."""
        X = self._check_X(X)
        return self.best_network_.predict(X).astype(np.float64)

    def predict(self, X):
        """Predicted class labels (elements of ``classes_``)."""
        proba = self.predict_proba(X)
        return self.classes_[np.argmax(proba, axis=1)]


class GeneticMLPRegressor(RegressorMixin, _GeneticMLP):
    """An MLP regressor whose weights are evolved (fitness: minus the MSE).

    Takes the same parameters as :class:`GeneticMLPClassifier`; the output
    layer is linear, ``threshold`` is an MSE to reach (stop once the best
    minibatch MSE is at or below it) and ``score`` is R^2.

    Attributes
    ----------
    best_network_ : Network
    history_ : History
    n_outputs_ : int
    """

    _metric = "mse"
    _output_activation = "linear"

    def _check_xy(self, X, y):
        X, y = _validate(self, X, y, dtype=np.float32, order="C", multi_output=True,
                              y_numeric=True)
        self._y_1d = y.ndim == 1
        y = np.ascontiguousarray(y.reshape(y.shape[0], -1), dtype=np.float32)
        if not np.isfinite(y).all():  # finite in float64 but not in float32
            raise ValueError("y: targets overflow float32")
        self.n_outputs_ = y.shape[1]
        return X, y, self.n_outputs_

    def _stop_callback(self):
        if self.threshold is None:
            return None
        threshold = float(self.threshold)
        return lambda ga, rec: -rec["best_fitness"] <= threshold and "threshold"

    def _fitted_payload(self, arrays, attrs):
        attrs["n_outputs_"] = int(self.n_outputs_)
        attrs["y_1d"] = bool(self._y_1d)

    def _fitted_from(self, arrays, attrs, spec):
        n_out, y_1d = int(attrs["n_outputs_"]), bool(attrs["y_1d"])
        require(n_out == spec.n_outputs, "n_outputs_ does not match the network")

        def set_own():
            self.n_outputs_ = n_out
            self._y_1d = y_1d

        return set_own

    def __sklearn_tags__(self):
        tags = super().__sklearn_tags__()
        tags.target_tags.multi_output = True
        return tags

    def predict(self, X):
        """Predicted targets, float64, (n_samples,) if fitted on 1-D ``y``."""
        X = self._check_X(X)
        out = self.best_network_.predict(X).astype(np.float64)
        return out[:, 0] if self._y_1d else out


_CLASSES = {c.__name__: c for c in (GeneticMLPClassifier, GeneticMLPRegressor)}


def load_estimator(path, cls=None):
    """Read an estimator written by :meth:`GeneticMLPClassifier.save` (or the regressor's).

    Parameters
    ----------
    path : str or os.PathLike
    cls : type, optional
        Expected class; a file holding another estimator raises
        :class:`~fastga.fileio.FileFormatError`.
    """
    arrays, meta = read_checkpoint(path, KIND_ESTIMATOR)
    name = meta.get("class")
    if cls is not None and name != cls.__name__:
        raise FileFormatError(f"{str(path)!r} holds a {name}, not a {cls.__name__}")
    if name not in _CLASSES:
        raise FileFormatError(f"{str(path)!r} is not a valid estimator checkpoint: "
                              f"unknown estimator class {name!r}")
    return build_checked(path, "estimator", _CLASSES[name]._from_payload, arrays, meta)
