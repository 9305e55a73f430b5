"""The GeneticMLP of the reference notebook (seed 004), NumPy only: the baseline.

Copied as it was, fixed only where it cannot run today:

* NumPy >= 1.24 refuses ragged ``np.array([...])`` of per-layer weight
  lists; such lists become 1-D/2-D object arrays (:func:`_objects`).
* The global NumPy random state is replaced by one module Generator,
  ``_rng`` (same calls: ``uniform``, ``choice``), seeded by :func:`seed`,
  so a benchmark is repeatable and touches no global state.
* ``fit`` takes integer labels (the notebook read floats from CSV files).

The quirks of the original are kept on purpose (mutation types chosen once
per layer, the die-off slice ``[0:ceil(n * (rate - 1))]``, softmax through
``np.apply_along_axis``): this is the speed baseline, not a correct GA.
"""

import numpy as np

_rng = np.random.default_rng(0)


def seed(s):
    global _rng
    _rng = np.random.default_rng(s)


def _objects(items, ndim=1):
    """A ragged list as an object array (1-D, or 2-D of networks x arrays)."""
    items = list(items)
    if ndim == 2:
        out = np.empty((len(items), len(items[0]) if items else 0), dtype=object)
        for i, row in enumerate(items):
            for j, a in enumerate(row):
                out[i, j] = a
        return out
    out = np.empty(len(items), dtype=object)
    for i, a in enumerate(items):
        out[i] = a
    return out


def relu(x):
    return np.where(x > 0, x, 0)


def softmax(x):
    x = np.exp(x - np.max(x))
    return np.array(x / x.sum())


def create_network(n_units=(128, 64), input_shape=784, output_shape=10):
    weights = []
    biases = []
    for i in range(len(n_units)):
        if i == 0:
            weights.append(_rng.uniform(-0.15, 0.15, size=(input_shape, n_units[0])).astype('float32'))
            biases.append(np.zeros(n_units[0]).astype('float32'))
        else:
            weights.append(_rng.uniform(-0.15, 0.15, size=(n_units[i - 1], n_units[i])).astype('float32'))
            biases.append(np.zeros(n_units[i]).astype('float32'))
    weights.append(_rng.uniform(-0.15, 0.15, size=(n_units[-1], output_shape)).astype('float32'))
    biases.append(np.zeros(output_shape))
    return weights + biases


def feed_forward(inputs, network):
    weights = network[0:len(network) // 2]
    biases = network[len(network) // 2:]
    a = relu((inputs @ weights[0]) + biases[0])
    for i in range(1, len(weights)):
        a = relu((a @ weights[i]) + biases[i])
    probs = np.apply_along_axis(softmax, axis=1, arr=a)
    return probs


def die_off(pops, scores, rate=0.5):
    sorted_inds = scores.argsort()
    sorted_scores = -np.sort(-scores)
    sorted_pops = pops[sorted_inds[::-1]]
    surviving_pop = sorted_pops[0:int(np.ceil(sorted_pops.shape[0] * (rate - 1.)))]
    surviving_scores = sorted_scores[0:int(np.ceil(sorted_pops.shape[0] * (rate - 1.)))]
    return surviving_pop, surviving_scores


def crossover_networks(weight_set1, weight_set2, max_crossover=0.5, crossover_prob=1.0):
    random = _rng.uniform(0.0, 1.0, 1)[0]
    if random <= crossover_prob:
        weights1, weights2 = weight_set1[:len(weight_set1) // 2], weight_set2[:len(weight_set1) // 2]
        bias1, bias2 = weight_set1[len(weight_set1) // 2:], weight_set2[len(weight_set2) // 2:]
        cross_prob = _rng.uniform(low=0.0, high=max_crossover, size=1)[0]
        selected_neurons = _objects([_rng.choice(range(i.shape[0]), size=int(i.shape[0] * cross_prob))
                                     for i in bias1])
        child_weights = [i.copy() for i in weights1]
        child_biases = [i.copy() for i in bias1]
        for i in range(selected_neurons.shape[0]):
            child_weights[i][:, tuple(selected_neurons[i])] = weights2[i][:, tuple(selected_neurons[i])]
            child_biases[i][selected_neurons[i]] = bias2[i][selected_neurons[i]]
        return child_weights + child_biases
    else:
        return weight_set1


def mutate_layer(x, mutation_prob=0.1, type_probs=(0.8, 0.1, 0.1), shift_max=2.0, swap_max=2):
    wts = x.flatten()
    to_mutate = _rng.choice((0, 1), size=wts.shape[0], p=(1 - mutation_prob, mutation_prob))
    to_mutate = np.array(np.where(to_mutate == 1))
    if len(np.where(to_mutate == 1)) > 0:
        mutation_type = _rng.choice(('shift', 'sign', 'swap'), size=to_mutate.shape[0], replace=True,
                                    p=type_probs)
        to_shift = np.where(mutation_type == 'shift')
        wts[to_shift] = np.multiply(wts[to_shift], _rng.uniform(low=0.0, high=shift_max, size=len(to_shift)))
        to_sign = np.where(mutation_type == 'sign')
        wts[to_sign] = wts[to_sign] * -1
        to_swap = np.where(mutation_type == 'swap')
        wts[to_swap] = _rng.uniform(low=-1 * swap_max, high=swap_max, size=len(to_swap))
    return wts.reshape(x.shape)


def mutate_network(network, mutation_prob=0.1, type_probs=(0.8, 0.1, 0.1), shift_max=2.0, swap_max=2):
    network = [mutate_layer(i, mutation_prob, type_probs, shift_max, swap_max) for i in network]
    return network


def mate(pops, scores, num_children, fit_preference=2, mutation_prob=0.1, type_probs=(0.8, 0.1, 0.1),
         shift_max=2.0, swap_max=2, max_crossover=0.5, crossover_prob=1.0):
    fitness = np.power(scores, fit_preference)
    probs = fitness / fitness.sum()
    parent1 = _rng.choice(a=range(pops.shape[0]), size=num_children, replace=True, p=probs)
    parent2 = _rng.choice(a=range(pops.shape[0]), size=num_children, replace=True, p=probs)
    parents = [(parent1[i], parent2[i]) for i in range(parent1.shape[0])]
    children = [crossover_networks(pops[parents[i][0]], pops[parents[i][1]], max_crossover, crossover_prob)
                for i in range(len(parents))]
    children = [mutate_network(i, mutation_prob, type_probs, shift_max, swap_max) for i in children]
    children = _objects(children, ndim=2)
    return np.concatenate([pops, children])


def one_hot(targets):
    y = np.zeros((targets.shape[0], len(np.unique(targets))))
    y[np.arange(targets.shape[0]), targets] = 1
    return y


def accuracy(actual, preds):
    return np.mean(np.where(actual == np.argmax(preds, axis=1), 1, 0))


def cross_entropy(actual, preds):
    return -np.sum(one_hot(actual) * np.log(preds)) / preds.shape[0]


def evaluate_fitness(preds, X, y):
    scores = np.array([1 / cross_entropy(y, i) for i in preds])
    return scores


def evaluate_accuracy(preds, X, y):
    scores = np.array([accuracy(y, i) for i in preds])
    return scores


def prediction_variance(preds):
    pred_var = preds.var().mean().round(8)
    return pred_var


class GeneticMLP():
    def __init__(self, architecture=(16,), input_shape=784, output_shape=10, pop_size=100, die_off_rate=0.5,
                 fitness_pref=1.0, generations=100, mutation_rate=0.1, type_probs=(0.8, 0.1, 0.1),
                 shift_max=2.0, swap_max=2.0, mutation_rate_cap=0.25, verbose=False, print_every=1,
                 mutation_rate_increase=0.025, max_crossover=0.5, crossover_prob=1.0):
        self.architecture = architecture
        self.input_shape = input_shape
        self.output_shape = output_shape
        self.pop_size = pop_size
        self.die_off_rate = die_off_rate
        self.fitness_pref = fitness_pref
        self.generations = generations
        self.mutation_rate = mutation_rate
        self.type_probs = type_probs
        self.shift_max = shift_max
        self.swap_max = swap_max
        self.mutation_rate_cap = mutation_rate_cap
        self.verbose = verbose
        self.print_every = print_every
        self.mutation_rate_increase = mutation_rate_increase
        self.max_crossover = max_crossover
        self.crossover_prob = crossover_prob
        self.best_ce = []
        self.best_accuracy = []
        self.pred_var = []
        self.ce_var = []

    def initial_population(self):
        return _objects([create_network(n_units=self.architecture, input_shape=self.input_shape,
                                        output_shape=self.output_shape) for _ in range(self.pop_size)], ndim=2)

    def fit(self, X, y, models=None):
        if models is None:
            models = self.initial_population()
        for i in range(self.generations):
            preds = [feed_forward(X, i) for i in models]
            scores = evaluate_fitness(preds, X, y)
            track_scores = evaluate_accuracy(preds, X, y)
            variance = prediction_variance(np.array(preds))
            ce_var = scores.var()
            self.best_ce.append(scores.min())
            self.best_accuracy.append(track_scores.min())
            self.pred_var.append(variance)
            self.ce_var.append(ce_var)
            if i == 0:
                previous_score = scores.max().round(4)
            models, scores = die_off(models, scores, self.die_off_rate)
            if scores.max() == previous_score and i != 0:
                current_mutation_rate += self.mutation_rate_increase
            else:
                current_mutation_rate = self.mutation_rate
            if current_mutation_rate > self.mutation_rate_cap:
                current_mutation_rate = self.mutation_rate_cap
            previous_score = scores.max().round(4)
            if (i + 1) % self.print_every == 0 and self.verbose is True:
                print('Generation', i + 1, '| Best Accuracy:', track_scores.max().round(4), ' | Best CE:',
                      round(1 / scores.min(), 4), '| Prediction Variance:', variance, '| CE Variance:', ce_var)
            models = mate(pops=models, scores=scores, num_children=self.pop_size - models.shape[0],
                          fit_preference=self.fitness_pref, mutation_prob=current_mutation_rate,
                          type_probs=self.type_probs, shift_max=self.shift_max, swap_max=self.swap_max,
                          max_crossover=self.max_crossover, crossover_prob=self.crossover_prob)
        self.models_ = models
        self.model = models[np.argmax(scores)]
        return self

    def predict(self, X):
        prob_preds = feed_forward(X, self.model)
        preds = np.argmax(prob_preds, axis=1)
        return preds
