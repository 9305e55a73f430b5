"""K generator MLPs trained side by side in TensorFlow (imports TensorFlow: load lazily).

Only :mod:`fastga.gan.lineages` imports this module, inside the methods that
train, so ``import fastga.gan`` stays free of TensorFlow.

The K generators' weights are stacked as ``(K, n_in, n_out)`` and ``(K,
n_out)`` variables, so one batched matmul per layer draws the fakes of all
of them. One compiled call (:meth:`StackedGenerators.train`) runs a loop of
steps; each step is:

1. the discriminator's step: binary cross-entropy on a batch of real images
   (target ``real_label``) against the fakes of all K generators (target 0),
   through the discriminator's own compiled optimizer;
2. every generator's step under its own loss, chosen per generator by a
   one-hot row of ``loss_mix`` over E-GAN's three objectives
   (non-saturating ``-log D``, minimax ``log(1 - D)``, least squares
   ``(D - 1)^2``), each averaged over that generator's fakes; the sum over
   generators is differentiated once, which gives each generator the
   gradient of its own loss (the generators share no weights), and Adam
   updates the stacked weights element by element, which is one Adam per
   generator.
"""

from __future__ import annotations

import numpy as np
import tensorflow as tf

__all__ = ["StackedGenerators", "LOSSES"]

#: E-GAN's generator objectives, in the column order of ``loss_mix``.
LOSSES = ("nonsaturating", "minimax", "least_squares")

_EPS = 1e-7


def _activation(name):
    if name == "linear":
        return tf.identity
    if name == "relu":
        return tf.nn.relu
    if name == "leaky_relu":
        from ..registry import LEAKY_SLOPE

        return lambda x: tf.nn.leaky_relu(x, alpha=LEAKY_SLOPE)
    if name == "sigmoid":
        return tf.sigmoid
    if name == "tanh":
        return tf.tanh
    raise ValueError(f"activations: stacked generators support linear, relu, leaky_relu, sigmoid and "
                     f"tanh, got {name!r}")


def _bce(target, p):
    p = tf.clip_by_value(p, _EPS, 1.0 - _EPS)
    return -tf.reduce_mean(target * tf.math.log(p) + (1.0 - target) * tf.math.log(1.0 - p))


class StackedGenerators:
    """K generators (one :class:`~fastga.NetworkSpec` layout) and their Adam state, as TF variables.

    Parameters
    ----------
    spec : NetworkSpec
    genomes : ndarray (K, spec.n_params)
    discriminator : keras.Model
        Compiled (its optimizer takes the discriminator's steps), one
        sigmoid output.
    X_real : ndarray of float32 (n, n_pixels)
    image_shape : (rows, cols)
    loss_mix : ndarray (K, 3)
        Weight of each of :data:`LOSSES` in each generator's loss.
    learning_rate, beta_1, beta_2, epsilon : float
        The generators' Adam.
    real_label : float
        Target of real images in the discriminator's loss.
    """

    def __init__(self, spec, genomes, discriminator, X_real, image_shape, loss_mix, learning_rate=2e-4,
                 beta_1=0.5, beta_2=0.999, epsilon=1e-7, real_label=0.9, mode_seeking=None):
        self.spec = spec
        self.discriminator = discriminator
        self.image_shape = tuple(int(v) for v in image_shape)
        self.k = int(genomes.shape[0])
        self.acts = [_activation(a) for a in spec.activations]
        self.lr = float(learning_rate)
        self.beta_1, self.beta_2, self.epsilon = float(beta_1), float(beta_2), float(epsilon)
        self.real_label = float(real_label)
        self.X = tf.constant(np.asarray(X_real, dtype=np.float32))
        self.params = []
        for layer in range(spec.n_layers):
            ws, bs, shape = spec.layer_slices(layer)
            self.params.append(tf.Variable(genomes[:, ws].reshape(self.k, *shape).astype(np.float32)))
            self.params.append(tf.Variable(genomes[:, bs].astype(np.float32)))
        self.m = [tf.Variable(tf.zeros_like(p)) for p in self.params]
        self.v = [tf.Variable(tf.zeros_like(p)) for p in self.params]
        self.t = tf.Variable(0.0, dtype=tf.float32)
        self.lr_scale = tf.Variable(1.0, dtype=tf.float32)
        self.loss_mix = tf.Variable(np.asarray(loss_mix, dtype=np.float32))
        ms = np.zeros(self.k, np.float32) if mode_seeking is None else np.asarray(mode_seeking, np.float32)
        self.mode_seeking = tf.Variable(ms.reshape(self.k))
        self._train = tf.function(self._train_impl)
        self._score = tf.function(self._score_impl)
        self._score_d = tf.function(lambda x: self.discriminator(self._images(x), training=False))

    # ------------------------------------------------------------ state as arrays
    def genomes(self):
        """The generators' weights as genomes, float32 (K, n_params)."""
        out = np.empty((self.k, self.spec.n_params), dtype=np.float32)
        for layer in range(self.spec.n_layers):
            ws, bs, _ = self.spec.layer_slices(layer)
            out[:, ws] = self.params[2 * layer].numpy().reshape(self.k, -1)
            out[:, bs] = self.params[2 * layer + 1].numpy()
        return out

    def state(self):
        """Every variable as arrays: ``{"genomes", "adam_m", "adam_v", "adam_t", "loss_mix"}``."""
        def flat(vs):
            return np.concatenate([v.numpy().reshape(self.k, -1) for v in vs], axis=1)

        return {"genomes": self.genomes(), "adam_m": flat(self.m), "adam_v": flat(self.v),
                "adam_t": np.asarray(self.t.numpy(), dtype=np.float32).reshape(1),
                "loss_mix": self.loss_mix.numpy()}

    def set_state(self, genomes=None, adam_m=None, adam_v=None, adam_t=None, loss_mix=None):
        """Overwrite variables from arrays laid out as :meth:`state` gives them."""
        for arrays, variables in ((genomes, self.params), (adam_m, self.m), (adam_v, self.v)):
            if arrays is None:
                continue
            arrays = np.asarray(arrays, dtype=np.float32)
            for layer in range(self.spec.n_layers):
                ws, bs, shape = self.spec.layer_slices(layer)
                variables[2 * layer].assign(arrays[:, ws].reshape(self.k, *shape))
                variables[2 * layer + 1].assign(arrays[:, bs])
        if adam_t is not None:
            self.t.assign(float(np.asarray(adam_t).reshape(-1)[0]))
        if loss_mix is not None:
            self.loss_mix.assign(np.asarray(loss_mix, dtype=np.float32))

    # ------------------------------------------------------------ compiled parts
    def _generate(self, z):
        h = z
        for layer, act in enumerate(self.acts):
            h = act(tf.linalg.matmul(h, self.params[2 * layer]) + self.params[2 * layer + 1][:, None, :])
        return h

    def _images(self, flat):
        return tf.reshape(flat, (-1, *self.image_shape, 1))

    def _train_impl(self, z_all, real_idx):
        D = self.discriminator
        d_vars = D.trainable_variables
        b1, b2 = self.beta_1, self.beta_2
        k = self.k
        d_loss = tf.constant(0.0)
        d_fake = tf.constant(0.0)
        for i in tf.range(tf.shape(z_all)[0]):
            z = z_all[i]  # (K, b, latent)
            real = self._images(tf.gather(self.X, real_idx[i]))
            fakes = self._images(self._generate(z))
            with tf.GradientTape() as tape:
                dr = D(real, training=True)
                df = D(fakes, training=True)
                d_loss = _bce(self.real_label, dr) + _bce(0.0, df)
            D.optimizer.apply_gradients(zip(tape.gradient(d_loss, d_vars), d_vars))
            with tf.GradientTape() as tape:
                fk = self._generate(z)
                d = tf.reshape(D(self._images(fk), training=True), (k, -1))
                dc = tf.clip_by_value(d, _EPS, 1.0 - _EPS)
                per = tf.stack([tf.reduce_mean(-tf.math.log(dc), axis=1),
                                tf.reduce_mean(tf.math.log(1.0 - dc), axis=1),
                                tf.reduce_mean(tf.square(d - 1.0), axis=1)], axis=1)  # (K, 3)
                total = tf.reduce_sum(per * self.loss_mix)
                # Mode seeking (MSGAN): penalise fakes that vary less than their latents.
                half = tf.shape(z)[1] // 2
                dz = tf.reduce_mean(tf.abs(z[:, :half] - z[:, half:2 * half]), axis=[1, 2])
                dx = tf.reduce_mean(tf.abs(fk[:, :half] - fk[:, half:2 * half]), axis=[1, 2])
                total += tf.reduce_sum(self.mode_seeking / (dx / dz + 1e-5))
            grads = tape.gradient(total, self.params)
            self.t.assign_add(1.0)
            lr_t = self.lr * self.lr_scale * tf.sqrt(1.0 - tf.pow(b2, self.t)) / (1.0 - tf.pow(b1, self.t))
            for p, m, v, g in zip(self.params, self.m, self.v, grads):
                m.assign(b1 * m + (1.0 - b1) * g)
                v.assign(b2 * v + (1.0 - b2) * tf.square(g))
                p.assign_sub(lr_t * m / (tf.sqrt(v) + self.epsilon))
            d_fake = tf.reduce_mean(d)
        return d_loss, d_fake

    def _score_impl(self, z):
        fakes = self._generate(z)
        d = tf.reshape(self.discriminator(self._images(fakes), training=False), tf.shape(fakes)[:2])
        return fakes, d

    def score_real(self, images):
        """D of real images (n, n_pixels), inference mode: (n,) float64."""
        d = self._score_d(tf.convert_to_tensor(np.asarray(images, dtype=np.float32)))
        return d.numpy().reshape(-1).astype(np.float64)

    def train(self, z_all, real_idx):
        """``len(z_all)`` steps; ``z_all`` (steps, K, b, latent), ``real_idx`` (steps, d_batch).

        Returns the last step's discriminator loss and mean D(fake) (floats).
        """
        d_loss, d_fake = self._train(tf.convert_to_tensor(z_all, dtype=tf.float32),
                                     tf.convert_to_tensor(real_idx, dtype=tf.int32))
        return float(d_loss), float(d_fake)

    def score(self, z):
        """Fakes (K, n, n_pixels) of latents ``z`` (K, n, latent) and D of them (K, n), inference mode."""
        fakes, d = self._score(tf.convert_to_tensor(z, dtype=tf.float32))
        return fakes.numpy(), d.numpy().astype(np.float64)
