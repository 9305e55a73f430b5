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


def plain_gan(X_real, seconds, latent=16, hidden=100, batch=64, learning_rate=2e-4, beta_1=0.5,
              real_label=0.9, seed=0, max_steps=None):
    """A plain gradient-trained GAN with the GA-GAN's networks, trained for ``seconds`` of wall time.

    The generator is ``latent -> hidden (tanh) -> n_pixels (sigmoid)`` (the
    GA-GAN's default generator), the discriminator the reference's
    (:func:`fastga.gan.discriminator.build_discriminator` without the
    minibatch feature); both take Adam(``learning_rate``, ``beta_1``) steps
    on batches of ``batch`` with one-sided label smoothing (real target
    ``real_label``) and the non-saturating generator loss. The baseline the
    GA-GAN's sample quality is compared with in ``bench/test_bench_gan.py``.

    Returns
    -------
    (sample, steps) : a function ``sample(z) -> (n, n_pixels)`` and the number of steps taken
    """
    import time

    import tensorflow as tf

    from fastga.gan.discriminator import build_discriminator, import_keras

    keras = import_keras()
    X_real = np.asarray(X_real, dtype=np.float32)
    n_pix = X_real.shape[1]
    side = int(round(n_pix ** 0.5))
    tf.random.set_seed(seed)
    gen = keras.Sequential([
        keras.Input(shape=(latent,)),
        keras.layers.Dense(hidden, activation="tanh", kernel_initializer=keras.initializers.GlorotUniform(seed)),
        keras.layers.Dense(n_pix, activation="sigmoid",
                           kernel_initializer=keras.initializers.GlorotUniform(seed + 1)),
    ])
    disc = build_discriminator((side, side), learning_rate=learning_rate, beta_1=beta_1, seed=seed + 2)
    g_opt = keras.optimizers.Adam(learning_rate=learning_rate, beta_1=beta_1)
    d_opt = keras.optimizers.Adam(learning_rate=learning_rate, beta_1=beta_1)
    bce = keras.losses.BinaryCrossentropy()

    @tf.function
    def step(real, z):
        with tf.GradientTape() as dt:
            fake = tf.reshape(gen(z, training=True), (-1, side, side, 1))
            d_real = disc(tf.reshape(real, (-1, side, side, 1)), training=True)
            d_fake = disc(fake, training=True)
            d_loss = bce(tf.fill(tf.shape(d_real), real_label), d_real) + bce(tf.zeros_like(d_fake), d_fake)
        d_opt.apply_gradients(zip(dt.gradient(d_loss, disc.trainable_variables), disc.trainable_variables))
        with tf.GradientTape() as gt:
            d_fake = disc(tf.reshape(gen(z, training=True), (-1, side, side, 1)), training=True)
            g_loss = bce(tf.ones_like(d_fake), d_fake)
        g_opt.apply_gradients(zip(gt.gradient(g_loss, gen.trainable_variables), gen.trainable_variables))
        return d_loss, g_loss

    rng = np.random.default_rng(seed)
    steps, start = 0, time.perf_counter()
    while time.perf_counter() - start < seconds and (max_steps is None or steps < max_steps):
        real = X_real[rng.integers(0, X_real.shape[0], size=batch)]
        z = rng.standard_normal((batch, latent)).astype(np.float32)
        step(real, z)
        steps += 1

    def sample(z):
        return np.asarray(gen(np.asarray(z, dtype=np.float32), training=False), dtype=np.float32)

    return sample, steps
