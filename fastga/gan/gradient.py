"""A gradient variation operator for the GA-GAN's generators.

:class:`GradientVariation` moves some of a generation's children down the
gradient of a generator loss through the discriminator (E-GAN's variation
by an adversarial objective). TensorFlow gives only the gradient with
respect to the images (:func:`~fastga.gan.discriminator.input_gradient`);
the backward pass through the generator MLPs is NumPy, batched over the
generators, so the generators stay rows of the population buffer.

A step on generator ``i`` with latent batch ``Z`` (shared by all):

    g = d/dtheta_i  mean_b loss(D(G_i(z_b)))
    theta_i <- theta_i - lr * g / rms(g)      (per layer, weights and biases apart)

The per-layer RMS normalisation makes ``lr`` the typical change of one
parameter whatever the scale of D's gradient, which keeps a step useful as
D sharpens and harmless as it saturates.
"""

from __future__ import annotations

import numpy as np

from ..registry import LEAKY_SLOPE

__all__ = ["GradientVariation", "generator_gradients", "GRADIENT_ACTIVATIONS"]

#: Activations whose derivative the NumPy backward pass knows.
GRADIENT_ACTIVATIONS = ("linear", "relu", "leaky_relu", "sigmoid", "tanh")


def _act(name, x):
    if name == "linear":
        return x
    if name == "relu":
        return np.maximum(x, 0.0)
    if name == "leaky_relu":
        return np.where(x >= 0, x, x * LEAKY_SLOPE)
    if name == "sigmoid":
        return 1.0 / (1.0 + np.exp(-x))
    if name == "tanh":
        return np.tanh(x)
    raise ValueError(f"activations: the gradient variation supports {GRADIENT_ACTIVATIONS}, got {name!r}")


def _act_grad(name, pre, out):
    if name == "linear":
        return np.ones_like(pre)
    if name == "relu":
        return (pre > 0).astype(pre.dtype)
    if name == "leaky_relu":
        return np.where(pre >= 0, 1.0, LEAKY_SLOPE).astype(pre.dtype)
    if name == "sigmoid":
        return out * (1.0 - out)
    return 1.0 - out * out  # tanh


def generator_forward(spec, genomes, Z):
    """Outputs of generators ``genomes`` (k, n_params) on latents ``Z`` (B, n_in): (k, B, n_out).

    Also returns the per-layer inputs and pre-activations the backward pass needs.
    """
    h = np.broadcast_to(np.asarray(Z, dtype=np.float64), (genomes.shape[0],) + Z.shape)
    cache = []
    for layer in range(spec.n_layers):
        ws, bs, shape = spec.layer_slices(layer)
        W = genomes[:, ws].reshape(-1, *shape).astype(np.float64)
        b = genomes[:, bs].astype(np.float64)
        pre = np.matmul(h, W) + b[:, None, :]
        out = _act(spec.activations[layer], pre)
        cache.append((h, W, pre, out))
        h = out
    return h, cache


def generator_gradients(spec, genomes, Z, grad_out):
    """Gradients of ``sum(grad_out * G(Z))`` with respect to each generator's genome.

    Parameters
    ----------
    spec : NetworkSpec
    genomes : ndarray (k, n_params)
    Z : ndarray (B, n_in)
    grad_out : ndarray (k, B, n_out)
        d loss / d output, for each generator and latent.

    Returns
    -------
    ndarray of float64, shape (k, n_params)
    """
    _, cache = generator_forward(spec, genomes, Z)
    grads = np.zeros(genomes.shape, dtype=np.float64)
    g = np.asarray(grad_out, dtype=np.float64)
    for layer in range(spec.n_layers - 1, -1, -1):
        h, W, pre, out = cache[layer]
        ws, bs, _ = spec.layer_slices(layer)
        gp = g * _act_grad(spec.activations[layer], pre, out)
        grads[:, ws] = np.matmul(np.swapaxes(h, 1, 2), gp).reshape(genomes.shape[0], -1)
        grads[:, bs] = gp.sum(axis=1)
        if layer:
            g = np.matmul(gp, np.swapaxes(W, 1, 2))
    return grads


class GradientVariation:
    """Gradient steps through the discriminator on some generators' weights.

    Parameters
    ----------
    spec : NetworkSpec
        The generators' layout (activations among :data:`GRADIENT_ACTIVATIONS`).
    image_shape : (rows, cols)
    lr : float, default=0.01
        Typical change of one parameter per step (see the module's doc).
    steps : int, default=1
        Steps per call, each on a new latent batch.
    batch_size : int, default=64
        Latents per step (a multiple of the discriminator's group size).
    loss : {"nonsaturating", "minimax", "least_squares"}
    """

    def __init__(self, spec, image_shape, lr=0.01, steps=1, batch_size=64, loss="nonsaturating"):
        for a in spec.activations:
            if a not in GRADIENT_ACTIVATIONS:
                raise ValueError(f"generator_spec: the gradient variation supports activations "
                                 f"{GRADIENT_ACTIVATIONS}, got {a!r}")
        self.spec = spec
        self.image_shape = tuple(image_shape)
        self.lr = float(lr)
        self.steps = int(steps)
        self.batch_size = int(batch_size)
        self.loss = loss
        self._slices = []
        for layer in range(spec.n_layers):
            ws, bs, _ = spec.layer_slices(layer)
            self._slices += [ws, bs]

    def __call__(self, discriminator, genomes, latents):
        """New genomes: ``genomes`` (k, n_params) after one step per latent batch in ``latents``.

        Returns ``(genomes, mean_d)``: float32 genomes and the mean D(fake)
        seen before each step.
        """
        from .discriminator import input_gradient

        theta = np.array(genomes, dtype=np.float64)
        k = theta.shape[0]
        seen = []
        for Z in latents:
            B = Z.shape[0]
            fakes, _ = generator_forward(self.spec, theta, Z)
            images = fakes.astype(np.float32).reshape(k * B, *self.image_shape, 1)
            grad_img, d = input_gradient(discriminator, images, self.loss)
            seen.append(float(d.mean()))
            g = generator_gradients(self.spec, theta, Z, grad_img.reshape(k, B, -1) / B)
            for sl in self._slices:
                gs = g[:, sl]
                rms = np.sqrt((gs * gs).mean(axis=1, keepdims=True)) + 1e-12
                theta[:, sl] -= self.lr * gs / rms
        return theta.astype(np.float32), seen
