"""Keras layers of the GA-GAN discriminator (imports TensorFlow: load lazily).

Only :mod:`fastga.gan.discriminator` imports this module, inside the
functions that build a model, so ``import fastga.gan`` stays free of
TensorFlow.
"""

from __future__ import annotations

import keras
import tensorflow as tf

__all__ = ["MinibatchStd", "group_std"]


def group_std(x, group_size):
    """Per-group feature spread of a batch, one value per sample.

    The batch is cut into groups of ``group_size`` consecutive samples (the
    last group may be smaller). For each group: the standard deviation over
    the group's samples of every feature, averaged over the features. Each
    sample gets its group's value, shape ``(n,)``.
    """
    g = int(group_size)
    n = tf.shape(x)[0]
    flat = tf.reshape(x, [n, -1])
    ids = tf.range(n) // g
    k = (n + g - 1) // g
    count = tf.math.unsorted_segment_sum(tf.ones([n], flat.dtype), ids, k)[:, None]
    mean = tf.math.unsorted_segment_sum(flat, ids, k) / count
    dev = flat - tf.gather(mean, ids)
    var = tf.math.unsorted_segment_sum(dev * dev, ids, k) / count
    std = tf.reduce_mean(tf.sqrt(var + 1e-8), axis=1)  # (k,)
    return tf.gather(std, ids)


@keras.saving.register_keras_serializable(package="fastga")
class MinibatchStd(keras.layers.Layer):
    """ProGAN's minibatch standard deviation, as one feature per sample.

    Outputs :func:`group_std` of its input over groups of ``group_size``
    consecutive samples, shape ``(n, 1)``. A discriminator that gets it sees
    how much a group of images varies, so a generator that ignores its
    latent (every sample alike) is told apart from a group of real images
    even when each sample on its own looks real. The caller decides what a
    group holds: the GA-GAN puts fakes of one generator, or random real
    images, in each.

    Parameters
    ----------
    group_size : int, default=4
    """

    def __init__(self, group_size=4, **kwargs):
        super().__init__(**kwargs)
        if int(group_size) < 2:
            raise ValueError(f"group_size: must be >= 2, got {group_size}")
        self.group_size = int(group_size)

    def call(self, x):
        return group_std(x, self.group_size)[:, None]

    def compute_output_shape(self, input_shape):
        return (input_shape[0], 1)

    def get_config(self):
        return {**super().get_config(), "group_size": self.group_size}
