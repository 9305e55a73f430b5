"""GA-GAN: generator MLPs evolved against a Keras discriminator (LineageGAN, GANEvolver).

Importing this package does not import TensorFlow; it is loaded only when a
discriminator is built or a run starts.
"""

from .evolver import (GAN_SETTINGS, HYBRID_SETTINGS, PURE_GA, DiscriminatorFitness, GANEvolver,
                      load_generator)
from .lineages import GeneratorMixture, LineageGAN, load_mixture
from .quality import SampleQuality

__all__ = ["DiscriminatorFitness", "GANEvolver", "GAN_SETTINGS", "GeneratorMixture", "HYBRID_SETTINGS",
           "LineageGAN", "PURE_GA", "SampleQuality", "build_discriminator", "load_generator", "load_mixture"]


def __getattr__(name):
    if name == "build_discriminator":
        from .discriminator import build_discriminator

        return build_discriminator
    raise AttributeError(f"module 'fastga.gan' has no attribute {name!r}")
