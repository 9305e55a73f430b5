"""The GA-GAN reference's per-agent structure, as a speed baseline.

Taken from ``shared/seeds/000_*.txt`` and kept as it was (one agent object
per generator holding a list of weight matrices, a Python loop over samples
for the forward pass, and one ``model.fit`` plus one ``model.evaluate`` per
generator per generation), fixed only where it cannot run or cannot mean
anything:

- typos (``random.ragendint``, ``np.asrray``) and ``np.product``;
- fakes were cast to uint8 (every image black): images stay float32 in
  [0, 1], like the digits data;
- the labels alternated 0, 1, 0, 1 while the images were fakes then reals:
  they now line up (zeros for the fakes, ones for the reals);
- NumPy's global random state and ``random`` are replaced by one
  ``numpy.random.Generator``.

Not used by fastga itself: ``bench/test_bench_gan.py`` times it against
:class:`fastga.gan.DiscriminatorFitness` in the same run.
"""

import numpy as np


def sigmoid(z):
    return 1.0 / (1.0 + np.exp(-z))


class ReferenceAgent:
    """One generator as the reference held it: weights per layer, no biases."""

    def __init__(self, network, rng):
        self.weights = []
        self.activations = []
        for i, (n_in, n_out, act) in enumerate(network):
            if n_in is None:
                n_in = network[i - 1][1]
            self.weights.append(rng.standard_normal((n_in, n_out)))
            self.activations.append(act)
        self.fitness = 0

    def propagate(self, data):
        a = data
        for w, act in zip(self.weights, self.activations):
            a = act(np.dot(a, w))
        return a


def generate_agents(population, network, rng):
    return [ReferenceAgent(network, rng) for _ in range(population)]


def _batch(agent, X_real, side, latent_size, n_fake, rng):
    fake, real = [], []
    for _ in range(n_fake):
        fake.append(agent.propagate(rng.standard_normal(latent_size)).reshape(side, side))
        real.append(X_real[rng.integers(0, X_real.shape[0])].reshape(side, side))
    X = np.array(fake + real, dtype=np.float32).reshape(2 * n_fake, side, side, 1)
    y = np.array([0] * n_fake + [1] * n_fake, dtype=np.float32)
    return X, y


def reference_fitness(agents, model, X_real, side, latent_size, n_fake, rng):
    """The reference's fitness: per agent, one ``fit`` and one ``evaluate``.

    The discriminator trains between agents, so an agent's score depends on
    its place in the list (one of the reference's flaws, kept: it is the
    structure being timed). Fitness is D's accuracy in percent (lower is
    better for the generator).
    """
    for agent in agents:
        X, y = _batch(agent, X_real, side, latent_size, n_fake, rng)
        model.fit(X, y, verbose=0)
        X, y = _batch(agent, X_real, side, latent_size, n_fake, rng)
        agent.fitness = model.evaluate(X, y, verbose=0)[1] * 100
    return agents
