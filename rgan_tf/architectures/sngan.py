"""SNGAN's models (Miyato et al. 2018, https://arxiv.org/abs/1802.05957): spectral norm in every
discriminator layer (`rgan_tf.architectures.spectral_norm`, which normalizes as the references do).

- SN-DCGAN, the "standard CNN" (`sndcgan_generator`, `sndcgan_discriminator`), laid out as in
  pfnet-research/chainer-gan-lib `common/net.py` (`DCGANGenerator`, `SNDCGANDiscriminator`):
  G linear -> `M x M x 512` -> BN -> ReLU, 4x4 stride-2 transposed convolutions to 256, 128, 64
  (BN + ReLU), 3x3 convolution to 3, tanh; D 3x3 64, 4x4/2 128, 3x3 128, 4x4/2 256, 3x3 256,
  4x4/2 512, 3x3 512, each with LeakyReLU, SN linear. `M` = 4 for 32x32 (CIFAR-10), 6 for 48x48
  (STL-10). The LeakyReLU slope defaults to the SNGAN paper's 0.1 (its Table 3; `RobustGAN`
  draws z from N(0, I), also the paper's): the SNGAN paper's variant. chainer-gan-lib's code
  uses Chainer's default slope 0.2 (`F.leaky_relu`, `common/net.py` L214-220) and z ~ U(-1, 1)
  (`DCGANGenerator(z_distribution="uniform")`, L57 and L85-87).
- The ResNet (`sngan_resnet_generator`, `sngan_resnet_discriminator`), as in
  pfnet-research/sngan_projection (`gen_models/resnet_32.py`, `dis_models/snresnet_32.py`,
  configs `sn_cifar10_unconditional.yml` and, with `num_classes=10`,
  `sn_cifar10_conditional.yml`):
  G `ch`=256, three up-blocks with batch norm (categorical conditional batch norm when
  conditional), BN, ReLU, 3x3 conv, tanh; D `ch`=128, SN everywhere, optimized block, down block,
  two plain blocks, ReLU, global *sum* pool, SN linear without bias, plus the projection
  `<embed(y), h>` when conditional. At 48x48 (STL-10) the layout is the paper's Table 5 (as in
  google/compare_gan `resnet_stl.py`): G 6x6x512 and up-blocks to 256, 128, 64; D blocks of
  width 64 (optimized, down), 128, 256, 512 (down) and 1024 (plain): one more down block.
"""
import gin
import keras

from rgan_tf.architectures import blocks


def _bottom_width(image_size, builder):
    """4 for 32x32, 6 for 48x48; ValueError otherwise."""
    if isinstance(image_size, bool) or image_size not in (32, 48):
        raise ValueError(f"{builder} takes image_size 32 (CIFAR-10, 4x4 base) or 48 (STL-10, "
                         f"6x6 base); got {image_size!r}.")
    return image_size // 8


def _normal():
    return keras.initializers.RandomNormal(stddev=0.02)


@gin.configurable
def sndcgan_generator(latent_dim=128, image_size=32, channels=3, ch=512):
    """SN-DCGAN generator ("standard CNN"): `z [B, latent_dim]` -> `[B, S, S, channels]`.

    Args:
        latent_dim: size of `z` (128).
        image_size: 32 or 48 (bottom width 4 or 6).
        channels: output channels.
        ch: width of the first stage (512); then `ch/2`, `ch/4`, `ch/8`.

    Returns:
        A built `keras.Model` named "sndcgan_generator".
    """
    blocks.check_positive(channels=channels, ch=ch)
    if ch % 8:
        raise ValueError(f"sndcgan_generator needs ch divisible by 8, got {ch}.")
    base = _bottom_width(image_size, "sndcgan_generator")
    inputs, z, _ = blocks.generator_inputs(latent_dim)
    h = blocks.dense(base * base * ch, kernel_initializer=_normal())(z)
    h = blocks.batch_norm()(h)  # chainer-gan-lib normalizes each unit of the linear output
    h = keras.layers.ReLU()(h)
    h = keras.layers.Reshape((base, base, ch))(h)
    for width in (ch // 2, ch // 4, ch // 8):
        h = blocks.conv_transpose(width, 4, 2, kernel_initializer=_normal())(h)
        h = blocks.batch_norm()(h)
        h = keras.layers.ReLU()(h)
    out = blocks.image_output(h, channels, 3, kernel_initializer=_normal())
    return keras.Model(inputs, out, name="sndcgan_generator")


@gin.configurable
def sndcgan_discriminator(image_size=32, channels=3, ch=512, leaky_slope=0.1):
    """SN-DCGAN discriminator: images `[B, S, S, channels]` -> logits `[B, 1]`.

    Seven spectrally normalized convolutions (3x3 `ch/8`; 4x4/2 `ch/4`; 3x3 `ch/4`; 4x4/2 `ch/2`;
    3x3 `ch/2`; 4x4/2 `ch`; 3x3 `ch`), each followed by LeakyReLU, then an SN linear layer.

    Args:
        image_size: 32 or 48.
        channels: input channels.
        ch: width of the last stage (512).
        leaky_slope: LeakyReLU slope (0.1 in the SNGAN paper; 0.2 in chainer-gan-lib).

    Returns:
        A built `keras.Model` named "sndcgan_discriminator".
    """
    blocks.check_positive(channels=channels, ch=ch)
    if ch % 8:
        raise ValueError(f"sndcgan_discriminator needs ch divisible by 8, got {ch}.")
    _bottom_width(image_size, "sndcgan_discriminator")
    inputs, image, _ = blocks.discriminator_inputs(image_size, channels)
    layout = [(ch // 8, 3, 1), (ch // 4, 4, 2), (ch // 4, 3, 1), (ch // 2, 4, 2),
              (ch // 2, 3, 1), (ch, 4, 2), (ch, 3, 1)]
    h = image
    for width, kernel, stride in layout:
        h = blocks.conv(width, kernel, stride, spectral=True, kernel_initializer=_normal())(h)
        h = keras.layers.LeakyReLU(leaky_slope)(h)
    h = keras.layers.Flatten()(h)
    out = blocks.logits_output(h, spectral=True, kernel_initializer=_normal())
    return keras.Model(inputs, out, name="sndcgan_discriminator")


def _resnet_widths(image_size, ch, builder, default_32):
    """(bottom width, ch) for the ResNets; `ch=None` picks the reference width."""
    base = _bottom_width(image_size, builder)
    if ch is None:
        ch = default_32 if image_size == 32 else 64
    blocks.check_positive(ch=ch)
    return base, ch


@gin.configurable
def sngan_resnet_generator(latent_dim=128, image_size=32, channels=3, ch=None,
                           num_classes=None):
    """SNGAN ResNet generator, unconditional or class-conditional (conditional batch norm).

    32x32: linear -> 4x4x`ch`, three up-blocks of width `ch` (default 256). 48x48: linear ->
    6x6x`8 ch`, up-blocks to `4 ch`, `2 ch`, `ch` (default 64). Then BN, ReLU, 3x3 conv, tanh.

    Args:
        latent_dim: size of `z` (128).
        image_size: 32 (CIFAR-10) or 48 (STL-10).
        channels: output channels.
        ch: base width (None: the reference's, 256 at 32x32 and 64 at 48x48).
        num_classes: number of classes for a conditional generator (inputs `[z, label]`), or
            None.

    Returns:
        A built `keras.Model` named "sngan_resnet_generator".
    """
    blocks.check_positive(channels=channels)
    base, ch = _resnet_widths(image_size, ch, "sngan_resnet_generator", 256)
    widths = [ch] * 4 if image_size == 32 else [8 * ch, 4 * ch, 2 * ch, ch]
    inputs, z, label = blocks.generator_inputs(latent_dim, num_classes)
    h = blocks.dense(base * base * widths[0])(z)
    h = keras.layers.Reshape((base, base, widths[0]))(h)
    for width in widths[1:]:
        h = blocks.generator_block(h, width, label=label, num_classes=num_classes)
    h = blocks.batch_norm()(h)  # unconditional in the reference, also for conditional models
    h = keras.layers.ReLU()(h)
    out = blocks.image_output(h, channels, 3)
    return keras.Model(inputs, out, name="sngan_resnet_generator")


@gin.configurable
def sngan_resnet_discriminator(image_size=32, channels=3, ch=None, num_classes=None):
    """SNGAN ResNet discriminator, with a projection head when conditional.

    32x32: optimized block, down block, two plain blocks, all of width `ch` (default 128).
    48x48: optimized block to `ch`, down blocks to `2 ch`, `4 ch`, `8 ch`, a plain block to
    `16 ch` (default `ch` 64). Then ReLU, global sum pool, SN linear (no bias), plus
    `<embed(label), h>` with an SN embedding when `num_classes` is given.

    Args:
        image_size: 32 or 48.
        channels: input channels.
        ch: base width (None: the reference's, 128 at 32x32 and 64 at 48x48).
        num_classes: number of classes for a projection discriminator (inputs `[image, label]`),
            or None.

    Returns:
        A built `keras.Model` named "sngan_resnet_discriminator".
    """
    blocks.check_positive(channels=channels)
    _, ch = _resnet_widths(image_size, ch, "sngan_resnet_discriminator", 128)
    inputs, image, label = blocks.discriminator_inputs(image_size, channels, num_classes)
    if image_size == 32:
        plan = [(ch, True), (ch, False), (ch, False)]
    else:
        plan = [(2 * ch, True), (4 * ch, True), (8 * ch, True), (16 * ch, False)]
    h = blocks.optimized_discriminator_block(image, ch, spectral=True)
    for width, downsample in plan:
        h = blocks.discriminator_block(h, width, downsample=downsample, spectral=True)
    h = keras.layers.ReLU()(h)
    h = blocks.GlobalSumPooling2D()(h)
    out = blocks.logits_output(h, spectral=True, use_bias=False, label=label,
                               num_classes=num_classes)
    return keras.Model(inputs, out, name="sngan_resnet_discriminator")
