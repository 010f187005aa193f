"""GAN architectures of the baselines, as gin-configurable builders of functional `keras.Model`s.

Generators map `z` `(latent_dim,)` (and `label` int32 `()` when conditional) to float32 images in
[-1, 1], NHWC; discriminators map `image` (and `label`) to float32 logits `[B, 1]`. All are built
from the shared layers and residual blocks in `rgan_tf.architectures.blocks`.
"""
from rgan_tf.architectures import blocks
from rgan_tf.architectures.dcgan import dcgan_discriminator
from rgan_tf.architectures.dcgan import dcgan_generator
from rgan_tf.architectures.sngan import sndcgan_discriminator
from rgan_tf.architectures.sngan import sndcgan_generator
from rgan_tf.architectures.sngan import sngan_resnet_discriminator
from rgan_tf.architectures.sngan import sngan_resnet_generator
from rgan_tf.architectures.wgan_gp import wgan_gp_cnn_discriminator
from rgan_tf.architectures.wgan_gp import wgan_gp_cnn_generator
from rgan_tf.architectures.wgan_gp import wgan_gp_resnet_discriminator
from rgan_tf.architectures.wgan_gp import wgan_gp_resnet_generator

__all__ = [
    "blocks",
    "dcgan_discriminator",
    "dcgan_generator",
    "sndcgan_discriminator",
    "sndcgan_generator",
    "sngan_resnet_discriminator",
    "sngan_resnet_generator",
    "wgan_gp_cnn_discriminator",
    "wgan_gp_cnn_generator",
    "wgan_gp_resnet_discriminator",
    "wgan_gp_resnet_generator",
]
