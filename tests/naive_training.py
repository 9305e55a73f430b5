"""Slow, obviously-correct NumPy reference of the SGD training kernel.

Works in float64 on a list of ``(W, b)`` pairs. The randomness (epoch order
and dropout masks) is taken from the same counter-based helpers the kernel
uses, so a reference run and a kernel run can be compared step by step.
"""

import math

import numpy as np

LEAKY_SLOPE = 0.01


def _sigmoid(z):
    return 1.0 / (1.0 + np.exp(-z))


_erfc = np.vectorize(math.erfc)


def _softmax(z):
    e = np.exp(z - z.max(axis=1, keepdims=True))
    return e / e.sum(axis=1, keepdims=True)


def _softmax_vjp(z, g):
    a = _softmax(z)
    # J_ij = a_i (delta_ij - a_j); (g J)_j = a_j (g_j - sum_i g_i a_i)
    return a * (g - (g * a).sum(axis=1, keepdims=True))


#: Every activation by name: ``(a(z), vjp(z, g))``, the function and dL/dz
#: from dL/da, both computed from the pre-activations ``z``.
ACTIVATIONS = {
    "linear": (lambda z: z, lambda z, g: g),
    "relu": (lambda z: np.maximum(z, 0.0), lambda z, g: g * (z > 0)),
    "leaky_relu": (lambda z: np.where(z > 0, z, LEAKY_SLOPE * z),
                   lambda z, g: g * np.where(z > 0, 1.0, LEAKY_SLOPE)),
    "sigmoid": (_sigmoid, lambda z, g: g * _sigmoid(z) * (1 - _sigmoid(z))),
    "tanh": (np.tanh, lambda z, g: g * (1 - np.tanh(z) ** 2)),
    "softmax": (_softmax, _softmax_vjp),
    "gelu": (lambda z: 0.5 * z * _erfc(-z / math.sqrt(2.0)),
             lambda z, g: g * (0.5 * _erfc(-z / math.sqrt(2.0))
                               + z * np.exp(-0.5 * z * z) / math.sqrt(2.0 * math.pi))),
}


def activate(z, act):
    return ACTIVATIONS[act][0](z)


def activation_vjp(z, g, act):
    """dL/dz from dL/da for a = act(z), computed from z (not from a)."""
    return ACTIVATIONS[act][1](z, g)


def forward(weights, acts, X, mask=None):
    """Return (pre-activations, inputs of each layer, output)."""
    a = np.asarray(X, dtype=np.float64)
    zs, ins = [], []
    for li, ((W, b), act) in enumerate(zip(weights, acts)):
        if li == 1 and mask is not None:
            a = a * mask
        ins.append(a)
        z = a @ W + b
        zs.append(z)
        a = activate(z, act)
    return zs, ins, a


def loss_and_grads(weights, acts, X, y, mask=None):
    """MSE (mean over samples and outputs) and its gradient per (W, b)."""
    zs, ins, out = forward(weights, acts, X, mask)
    y = np.asarray(y, dtype=np.float64)
    loss = ((out - y) ** 2).mean()
    g = 2.0 * (out - y) / out.size
    grads = [None] * len(weights)
    for li in range(len(weights) - 1, -1, -1):
        gz = activation_vjp(zs[li], g, acts[li])
        grads[li] = (ins[li].T @ gz, gz.sum(axis=0))
        g = gz @ weights[li][0].T
        if li == 1 and mask is not None:
            g = g * mask
    return loss, grads


def train(weights, acts, X, y, batch_size, lr, momentum, decay, dropout, epochs,
          order_fn, mask_fn):
    """Reference minibatch SGD (Keras semantics); returns the trained weights.

    ``order_fn(epoch)`` gives the sample order of an epoch and
    ``mask_fn(step, m, h1)`` the inverted-dropout factors of a batch.
    """
    weights = [(np.array(W, dtype=np.float64), np.array(b, dtype=np.float64)) for W, b in weights]
    vel = [(np.zeros_like(W), np.zeros_like(b)) for W, b in weights]
    n = X.shape[0]
    bs = min(batch_size, n)
    step = 0
    use_mask = dropout > 0 and len(weights) > 1
    for epoch in range(epochs):
        order = order_fn(epoch)
        for start in range(0, n, bs):
            idx = order[start:start + bs]
            mask = mask_fn(step, len(idx), weights[0][0].shape[1]) if use_mask else None
            _, grads = loss_and_grads(weights, acts, X[idx], y[idx], mask)
            lr_t = lr / (1.0 + decay * step)
            new_w, new_v = [], []
            for (W, b), (vW, vb), (gW, gb) in zip(weights, vel, grads):
                vW = momentum * vW - lr_t * gW
                vb = momentum * vb - lr_t * gb
                new_w.append((W + vW, b + vb))
                new_v.append((vW, vb))
            weights, vel = new_w, new_v
            step += 1
    return weights
