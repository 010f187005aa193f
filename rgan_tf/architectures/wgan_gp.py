"""WGAN-GP's CIFAR-10 models (Gulrajani et al. 2017, https://arxiv.org/abs/1704.00028).

Two pairs, as in igul222/improved_wgan_training:
- the CNN of `gan_cifar.py` (`wgan_gp_cnn_generator`, `wgan_gp_cnn_discriminator`): a DCGAN-like
  model with 5x5 convolutions, batch norm in G and (for WGAN-GP) no normalization in the critic;
- the ResNet of `gan_cifar_resnet.py`, unconditional (`wgan_gp_resnet_generator`,
  `wgan_gp_resnet_discriminator`): three up-blocks with batch norm in G; in the critic an optimized
  first block, a down block and two plain blocks, no normalization, ReLU, global mean pool, linear.

The CNN also serves as the Robust GAN paper's DCGAN: `gan_cifar.py` with `MODE = 'dcgan'` keeps
the generator and adds batch norm after the critic's second and third convolutions (lines 77-78,
82-83, `if MODE != 'wgan-gp'`); `wgan_gp_cnn_discriminator(normalization="batch")` builds that.

Layouts follow the reference layer by layer (biases everywhere, the CNN generator's first batch
norm per unit of the linear output); weights use the reference's initialization scheme: tflib's
He-style uniform for convolutions, variance `4 / (fan_in + fan_out)`, where a stride-2 layer counts
its low-resolution side as `k*k*C / 4` (`tflib/ops/conv2d.py` lines 62-70: the fan-out of a strided
convolution; `tflib/ops/deconv2d.py` lines 48-53: the fan-in of a transposed one; the ResNet's
convolutions all have stride 1); Glorot uniform for linear layers and shortcuts.
"""
import math

import gin
import keras

from rgan_tf.architectures import blocks


def _cnn_layout(image_size, builder):
    """`(base, steps)` of the CNN: 32 -> 4x4 and 3 steps (the reference), 48 -> 6x6 and 3."""
    for base in (4, 6):
        if image_size == base * 8:
            return base, 3
    raise ValueError(f"{builder} takes image_size 32 (4x4 base, the reference) or 48 (6x6 base, "
                     f"STL-10), 3 up-steps; got {image_size!r}.")


def tflib_conv_init(kernel_size, in_channels, out_channels, strides=2, transpose=False):
    """tflib's `he_init` for a (transposed) convolution: uniform, variance `4 / (fan_in + fan_out)`.

    `fan_in = k*k*in_channels` and `fan_out = k*k*out_channels`, the side at the lower resolution
    divided by `strides**2`: the fan-out of a strided convolution (`tflib/ops/conv2d.py`, lines
    62-63), the fan-in of a transposed one (`tflib/ops/deconv2d.py`, lines 48-50, always stride 2).

    Returns:
        A `keras.initializers.RandomUniform` on `[-sqrt(3) std, sqrt(3) std]`.
    """
    fan_in = kernel_size * kernel_size * in_channels
    fan_out = kernel_size * kernel_size * out_channels
    if transpose:
        fan_in /= strides ** 2
    else:
        fan_out /= strides ** 2
    limit = math.sqrt(3.0) * math.sqrt(4.0 / (fan_in + fan_out))
    return keras.initializers.RandomUniform(-limit, limit)


@gin.configurable
def wgan_gp_cnn_generator(latent_dim=128, dim=128, image_size=32, channels=3):
    """WGAN-GP CNN generator (`gan_cifar.py`): `z [B, latent_dim]` -> `[B, S, S, channels]`.

    linear -> `base*base*4 dim` -> BN (per unit) -> ReLU -> reshape; 5x5 stride-2 transposed
    convolutions to `2 dim` and `dim` (BN + ReLU each), then to `channels` with tanh.

    Args:
        latent_dim: size of `z` (128).
        dim: base width `DIM` (128).
        image_size: 32 (reference) or 48.
        channels: output channels.

    Returns:
        A built `keras.Model` named "wgan_gp_cnn_generator".
    """
    blocks.check_positive(dim=dim, channels=channels)
    base, _ = _cnn_layout(image_size, "wgan_gp_cnn_generator")
    inputs, z, _ = blocks.generator_inputs(latent_dim)
    h = blocks.dense(base * base * 4 * dim)(z)
    h = blocks.batch_norm()(h)  # the reference normalizes each of the linear layer's units
    h = keras.layers.ReLU()(h)
    h = keras.layers.Reshape((base, base, 4 * dim))(h)
    for width in (2 * dim, dim):
        init = tflib_conv_init(5, h.shape[-1], width, transpose=True)
        h = blocks.conv_transpose(width, 5, 2, kernel_initializer=init)(h)
        h = blocks.batch_norm()(h)
        h = keras.layers.ReLU()(h)
    out = blocks.image_output(h, channels, 5, transpose=True, strides=2,
                              kernel_initializer=tflib_conv_init(5, dim, channels, transpose=True))
    return keras.Model(inputs, out, name="wgan_gp_cnn_generator")


CRITIC_NORMALIZATIONS = (None, "batch")


@gin.configurable
def wgan_gp_cnn_discriminator(dim=128, image_size=32, channels=3, normalization=None):
    """WGAN-GP CNN critic (`gan_cifar.py`): images `[B, S, S, channels]` -> logits `[B, 1]`.

    5x5 stride-2 convolutions to `dim`, `2 dim`, `4 dim`, each followed by LeakyReLU(0.2); flatten;
    linear to one logit. Without normalization (WGAN-GP) or with batch norm after the second and
    third convolutions (`MODE = 'dcgan'`, the Robust GAN paper's DCGAN; `gan_cifar.py` lines
    76-84). The reference's tflib batch norm always uses the batch's statistics; in training
    (`training=True`) Keras' does too, and `RobustGAN` scores real and fake batches in separate
    calls, as the reference does.

    Args:
        dim: base width `DIM` (128).
        image_size: 32 (reference) or 48.
        channels: input channels.
        normalization: None (WGAN-GP; a gradient penalty needs per-sample logits) or "batch"
            (the DCGAN critic).

    Returns:
        A built `keras.Model` named "wgan_gp_cnn_discriminator".

    Raises:
        ValueError: a bad size, width or normalization.
    """
    if normalization not in CRITIC_NORMALIZATIONS:
        raise ValueError(f"wgan_gp_cnn_discriminator normalization must be one of "
                         f"{CRITIC_NORMALIZATIONS}, got {normalization!r}.")
    blocks.check_positive(dim=dim, channels=channels)
    _cnn_layout(image_size, "wgan_gp_cnn_discriminator")
    inputs, image, _ = blocks.discriminator_inputs(image_size, channels)
    h = image
    for index, width in enumerate((dim, 2 * dim, 4 * dim)):
        h = blocks.conv(width, 5, 2, kernel_initializer=tflib_conv_init(5, h.shape[-1], width))(h)
        if normalization == "batch" and index > 0:
            h = blocks.batch_norm()(h)
        h = keras.layers.LeakyReLU(0.2)(h)
    h = keras.layers.Flatten()(h)
    out = blocks.logits_output(h)
    return keras.Model(inputs, out, name="wgan_gp_cnn_discriminator")


@gin.configurable
def wgan_gp_resnet_generator(latent_dim=128, dim=128, image_size=32, channels=3):
    """WGAN-GP ResNet generator (`gan_cifar_resnet.py`, unconditional).

    linear -> `base x base x dim`; three residual up-blocks of width `dim` with batch norm; BN ->
    ReLU -> 3x3 conv to `channels` -> tanh.

    Args:
        latent_dim: size of `z` (128).
        dim: width of every block (`DIM_G`, 128).
        image_size: 32 (4x4 base, the reference) or 48 (6x6 base).
        channels: output channels.

    Returns:
        A built `keras.Model` named "wgan_gp_resnet_generator".
    """
    blocks.check_positive(dim=dim, channels=channels)
    base, steps = _cnn_layout(image_size, "wgan_gp_resnet_generator")
    inputs, z, _ = blocks.generator_inputs(latent_dim)
    h = blocks.dense(base * base * dim)(z)
    h = keras.layers.Reshape((base, base, dim))(h)
    for _ in range(steps):
        h = blocks.generator_block(h, dim)
    h = blocks.batch_norm()(h)
    h = keras.layers.ReLU()(h)
    out = blocks.image_output(h, channels, 3)
    return keras.Model(inputs, out, name="wgan_gp_resnet_generator")


@gin.configurable
def wgan_gp_resnet_discriminator(dim=128, image_size=32, channels=3,
                                 first_initializer=blocks.RESIDUAL_INIT):
    """WGAN-GP ResNet critic (`gan_cifar_resnet.py`): images -> logits `[B, 1]`.

    Optimized first block (down), one down block, two plain blocks, all of width `dim` and without
    normalization; ReLU; global mean pool; linear.

    Args:
        dim: width of every block (`DIM_D`, 128).
        image_size: 32 (the reference) or 48 (same layout; 12x12 features before pooling).
        channels: input channels.
        first_initializer: initializer of the critic's first convolution (3x3, `channels` ->
            `dim`): "residual" (tflib's fan-average He init, variance `4 / (fan_in + fan_out)`)
            or "he_uniform" (fan-in, variance `2 / fan_in`): BWGAN's critic
            (adler-j/bwgan `cifar10_sobolev.py`, `apply_conv` lines 55-62:
            `variance_scaling_initializer(uniform=True)`, factor 2 over the fan-in; the first
            convolution at line 142). Every other He-initialized convolution of this model maps
            `dim` to `dim` channels, where the two schemes coincide.

    Returns:
        A built `keras.Model` named "wgan_gp_resnet_discriminator".
    """
    blocks.check_positive(dim=dim, channels=channels)
    _cnn_layout(image_size, "wgan_gp_resnet_discriminator")
    inputs, image, _ = blocks.discriminator_inputs(image_size, channels)
    h = blocks.optimized_discriminator_block(image, dim, first_initializer=first_initializer)
    h = blocks.discriminator_block(h, dim, downsample=True)
    h = blocks.discriminator_block(h, dim, downsample=False)
    h = blocks.discriminator_block(h, dim, downsample=False)
    h = keras.layers.ReLU()(h)
    h = keras.layers.GlobalAveragePooling2D()(h)
    out = blocks.logits_output(h)
    return keras.Model(inputs, out, name="wgan_gp_resnet_discriminator")
