"""The reference's Keras discriminator, and the lazy TensorFlow import.

TensorFlow is imported here, inside functions, and only when a GAN is
actually built or run: ``import fastga`` and ``import fastga.gan`` never
load it.
"""

from __future__ import annotations

import os

import numpy as np

__all__ = ["import_keras", "build_discriminator", "configure_threads", "input_gradient",
           "restore_model_state"]

_THREADS_SET = None


def configure_threads(threads=None, intra_op=None):
    """Set TensorFlow's inter-op and intra-op thread counts (once per process).

    Parameters
    ----------
    threads : int, optional
        Inter-op threads (independent ops, and calls from several Python
        threads, run side by side); default ``os.cpu_count()``.
    intra_op : int, optional
        Threads one op may use; default ``threads``.
        :class:`~fastga.gan.LineageGAN` asks for 1: its ops are small, and
        its two populations train side by side, one a core (see
        ``bench/README.md``).

    Returns
    -------
    int or None
        The inter-op thread count in force (None if TensorFlow had already
        started with other settings, which it cannot change afterwards).
    """
    global _THREADS_SET
    import tensorflow as tf

    want = int(threads) if threads else max(1, os.cpu_count() or 1)
    if _THREADS_SET is not None:
        return _THREADS_SET
    try:
        tf.config.threading.set_intra_op_parallelism_threads(int(intra_op) if intra_op else want)
        tf.config.threading.set_inter_op_parallelism_threads(want)
        _THREADS_SET = want
    except RuntimeError:  # the runtime is already initialised: keep what it has
        _THREADS_SET = tf.config.threading.get_inter_op_parallelism_threads() or None
    return _THREADS_SET


def import_keras(threads=None, intra_op=None):
    """Import Keras (TensorFlow backend) with thread counts set (:func:`configure_threads`);
    returns the module."""
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
    try:
        import tensorflow  # noqa: F401
        import keras
    except ImportError as exc:  # pragma: no cover - depends on the environment
        raise ImportError(
            "fastga.gan needs TensorFlow: pip install 'fastga[gan]'"
        ) from exc
    configure_threads(threads, intra_op)
    return keras


def build_discriminator(image_shape, filters=64, dropout=0.4, learning_rate=2e-4, beta_1=0.5,
                        seed=0, threads=None, minibatch_std=None):
    """The reference's discriminator, built for ``image_shape``, compiled.

    Conv2D(filters, 3x3, stride 2, same) -> LeakyReLU(0.2) -> Dropout, twice,
    then Flatten -> Dense(1, sigmoid); Adam(learning_rate, beta_1) on binary
    cross-entropy with an accuracy metric.

    With ``minibatch_std=G`` the same layers get one more input to the final
    Dense: a :class:`~fastga.gan.layers.MinibatchStd` layer computes ProGAN's
    minibatch standard deviation of the second block's activations (after
    its LeakyReLU, before its Dropout, so dropout's per-sample masks add no
    spread of their own) over groups of ``G`` consecutive images, and it is
    concatenated to the flattened features.
    :class:`~fastga.gan.GANEvolver`'s default discriminator is the
    reference's plus this feature (``G = 8``), and it orders every batch it
    gives the model so that a group holds fakes of one generator or random
    real images: a generator whose samples do not vary with the latent then
    looks fake, and ``D(fake)`` itself rewards variety.

    Parameters
    ----------
    image_shape : (rows, cols)
    filters : int, default=64
    dropout : float, default=0.4
    learning_rate : float, default=2e-4
    beta_1 : float, default=0.5
    seed : int, default=0
        Seeds every kernel initialiser and dropout layer (per-layer seeds),
        so the same seed builds and trains the same model on the same
        machine and thread count. NumPy's global state is never touched.
    threads : int, optional
        TensorFlow threads (see :func:`configure_threads`).
    minibatch_std : int, optional
        Group size of the minibatch standard deviation feature (>= 2);
        None or 0: the reference's model exactly.

    Returns
    -------
    keras.Model
    """
    keras = import_keras(threads)
    from keras import layers

    rows, cols = (int(v) for v in image_shape)
    base = int(seed) % (2**31 - 16)

    def init(k):
        return keras.initializers.GlorotUniform(seed=base + k)

    conv1 = layers.Conv2D(filters, (3, 3), strides=(2, 2), padding="same", kernel_initializer=init(1))
    conv2 = layers.Conv2D(filters, (3, 3), strides=(2, 2), padding="same", kernel_initializer=init(3))
    stack = [
        conv1, layers.LeakyReLU(negative_slope=0.2), layers.Dropout(dropout, seed=base + 2),
        conv2, layers.LeakyReLU(negative_slope=0.2), layers.Dropout(dropout, seed=base + 4),
        layers.Flatten(),
    ]
    dense = layers.Dense(1, activation="sigmoid", kernel_initializer=init(5))
    if not minibatch_std:
        model = keras.Sequential([keras.Input(shape=(rows, cols, 1)), *stack, dense], name="discriminator")
    else:
        from .layers import MinibatchStd

        inputs = keras.Input(shape=(rows, cols, 1))
        h = inputs
        for i, layer in enumerate(stack):
            h = layer(h)
            if i == 4:
                features = h  # the second block's activations, before its dropout
        spread = MinibatchStd(int(minibatch_std))(features)
        out = dense(layers.Concatenate()([h, spread]))
        model = keras.Model(inputs, out, name="discriminator")
    model.compile(
        optimizer=keras.optimizers.Adam(learning_rate=learning_rate, beta_1=beta_1),
        loss="binary_crossentropy",
        metrics=["accuracy"],
    )
    return model


def restore_model_state(model, variables, optimizer_variables):
    """Set every variable of a compiled Keras ``model`` and of its optimizer.

    ``variables`` are the values of ``model.variables`` (weights and the
    dropout layers' seed states), ``optimizer_variables`` those of
    ``model.optimizer.variables`` (for Adam: the iteration count, the
    learning rate, then the first and second moments of each trainable
    variable), both in the order Keras lists them. An optimizer that has not
    taken a step yet is built first, so its moments exist to be set: a
    ``.keras`` reload skips them (Keras warns), this does not.

    Raises
    ------
    ValueError
        The counts, shapes or dtypes do not match the model's.
    """
    targets = list(model.variables)
    if len(targets) != len(variables):
        raise ValueError(f"variables: the model has {len(targets)} variables, got {len(variables)}")
    opt = model.optimizer
    opt_targets = []
    if len(optimizer_variables):
        if opt is None:
            raise ValueError("optimizer_variables: the model is not compiled (no optimizer)")
        if not opt.built and len(opt.variables) < len(optimizer_variables):
            opt.build(model.trainable_variables)
        opt_targets = list(opt.variables)
        if len(opt_targets) != len(optimizer_variables):
            raise ValueError(f"optimizer_variables: the optimizer has {len(opt_targets)} variables, "
                             f"got {len(optimizer_variables)}")
    pairs = [("variables", v, a) for v, a in zip(targets, variables)]
    pairs += [("optimizer_variables", v, a) for v, a in zip(opt_targets, optimizer_variables)]
    for what, v, a in pairs:  # check all before setting any
        a = np.asarray(a)
        if tuple(v.shape) != a.shape or np.dtype(v.dtype) != a.dtype:
            raise ValueError(f"{what}: {v.path} is {np.dtype(v.dtype)} {tuple(v.shape)}, "
                             f"got {a.dtype} {a.shape}")
    for _, v, a in pairs:
        v.assign(np.asarray(a))
    return model

_LOSSES = ("nonsaturating", "minimax", "least_squares")


def input_gradient(model, images, loss="nonsaturating"):
    """Gradient of a generator loss with respect to the images fed to ``model``.

    The loss is summed over the images: ``-log D(x)`` (``"nonsaturating"``),
    ``log(1 - D(x))`` (``"minimax"``) or ``(D(x) - 1) ** 2``
    (``"least_squares"``), the three generator objectives of E-GAN. ``model``
    runs in inference mode (no dropout); a minibatch standard deviation
    feature sees the batch as given, so each group's images get the gradient
    of their group's spread too.

    Parameters
    ----------
    model : keras.Model
        One sigmoid output per image.
    images : ndarray of float32, shape (n, rows, cols, 1)
    loss : {"nonsaturating", "minimax", "least_squares"}

    Returns
    -------
    (gradient, d) : ndarray of float32 (n, rows, cols, 1), ndarray of float64 (n,)
        The gradient and ``D(x)``.
    """
    import tensorflow as tf

    if loss not in _LOSSES:
        raise ValueError(f"loss: expected one of {_LOSSES}, got {loss!r}")
    cache = getattr(model, "_fastga_input_gradient", None)
    if cache is None:
        cache = {}
        model._fastga_input_gradient = cache
    fn = cache.get(loss)
    if fn is None:
        @tf.function(reduce_retracing=True)
        def fn(x):
            with tf.GradientTape() as tape:
                tape.watch(x)
                d = tf.reshape(model(x, training=False), [-1])
                dc = tf.clip_by_value(d, 1e-7, 1.0 - 1e-7)
                if loss == "nonsaturating":
                    value = -tf.reduce_sum(tf.math.log(dc))
                elif loss == "minimax":
                    value = tf.reduce_sum(tf.math.log(1.0 - dc))
                else:
                    value = tf.reduce_sum(tf.square(d - 1.0))
            return tape.gradient(value, x), d

        cache[loss] = fn
    grad, d = fn(tf.convert_to_tensor(images, dtype=tf.float32))
    return grad.numpy(), d.numpy().astype(np.float64)
