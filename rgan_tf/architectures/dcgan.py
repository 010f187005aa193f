"""DCGAN (Radford et al. 2016, arxiv.org/abs/1511.06434) with carpedm20/DCGAN-tensorflow's layers.

Generator: linear -> `base x base x width*2^(n-1)` -> BN -> ReLU, then `n` 5x5 stride-2 transposed
convolutions halving the width (BN + ReLU), the last to `channels` with tanh. Discriminator: `n`
5x5 stride-2 convolutions of width `width, 2 width, 4 width, ...` with LeakyReLU(0.2), batch norm on
all but the first (or layer norm, as WGAN-GP's 64x64 DCGAN critic), then flatten and linear. All
layers have biases (the ones before batch norm are redundant but kept, so the parameter counts
match), transposed convolutions and linear layers N(0, 0.02) weights, convolutions truncated
N(0, 0.02) weights, as carpedm20's `ops.py` (lines 56-57, 70-71, 98-99).

The number of up-steps `n` follows from the image size: it is halved while it is even and larger
than 7, so 64 -> 4x4 base and 4 steps: carpedm20's network at its own size, layer for layer
(`model.py` lines 333-396; CelebA). At other sizes this is NOT carpedm20's network: its code
always takes four steps from `ceil(s / 16)` (2x2x512 at 32 pixels, 4,514,819 generator
parameters), updates G twice per D step with z ~ U(-1, 1) (`model.py` lines 283-290, `main.py`
line 37) and builds a label-conditional model for MNIST (`main.py` line 88). Here 32 -> 4x4 and
3 steps, 28 -> 7x7 and 2, 48 -> 6x6 and 3: the same layer rules, stopped at a 4x4 to 7x7 base,
for the offline `digits` and the `mnist` configs. The Robust GAN paper's CIFAR-10 / STL-10 DCGAN
is another network: WGAN-GP's `gan_cifar.py` with `MODE = 'dcgan'` (see `wgan_gp.py`).
"""
import gin
import keras

from rgan_tf.architectures import blocks


def dcgan_layout(image_size):
    """`(base, steps)` with `image_size == base * 2**steps`, `4 <= base <= 7`, `steps >= 1`.

    Raises:
        ValueError: for a size that does not halve down to a 4..7 base in at least one step.
    """
    if isinstance(image_size, bool) or not isinstance(image_size, int) or image_size < 1:
        raise ValueError(f"image_size must be an integer >= 1, got {image_size!r}.")
    base, steps = image_size, 0
    while base > 7 and base % 2 == 0:
        base, steps = base // 2, steps + 1
    if steps == 0 or base > 7:
        raise ValueError(
            f"DCGAN cannot take image_size={image_size}: it must be base * 2**steps with a base "
            "of 4 to 7 and at least one step (e.g. 28, 32, 48, 64).")
    return base, steps


def _init():
    """carpedm20's `linear` and `deconv2d` weights: N(0, 0.02)."""
    return keras.initializers.RandomNormal(stddev=0.02)


def _conv_init():
    """carpedm20's `conv2d` weights: N(0, 0.02) truncated at two standard deviations."""
    return keras.initializers.TruncatedNormal(stddev=0.02)


def _reject_labels(num_classes, builder):
    if num_classes is not None:
        raise ValueError(f"{builder} is unconditional; got num_classes={num_classes!r} "
                         "(use the conditional SNGAN ResNet for class-conditional models).")


@gin.configurable
def dcgan_generator(image_size=32, channels=3, latent_dim=100, width=64, num_classes=None):
    """DCGAN generator: `z [B, latent_dim]` -> images `[B, image_size, image_size, channels]`.

    Args:
        image_size: output height and width (see `dcgan_layout`).
        channels: output channels.
        latent_dim: size of `z` (100 in DCGAN).
        width: channels of the last hidden layer (`gf_dim`, 64); the first has `width * 2**(n-1)`.
        num_classes: unsupported; must be None.

    Returns:
        A built `keras.Model` named "dcgan_generator".
    """
    _reject_labels(num_classes, "dcgan_generator")
    blocks.check_positive(channels=channels, width=width)
    base, steps = dcgan_layout(image_size)
    inputs, z, _ = blocks.generator_inputs(latent_dim)
    top = width * 2 ** (steps - 1)
    h = keras.layers.Dense(base * base * top, kernel_initializer=_init())(z)
    h = keras.layers.Reshape((base, base, top))(h)
    h = blocks.batch_norm()(h)
    h = keras.layers.ReLU()(h)
    for step in range(1, steps):
        h = keras.layers.Conv2DTranspose(top // 2 ** step, 5, 2, padding="same",
                                         kernel_initializer=_init())(h)
        h = blocks.batch_norm()(h)
        h = keras.layers.ReLU()(h)
    h = keras.layers.Conv2DTranspose(channels, 5, 2, padding="same", kernel_initializer=_init())(h)
    out = keras.layers.Activation("tanh", dtype="float32", name="image")(h)
    return keras.Model(inputs, out, name="dcgan_generator")


NORMALIZATIONS = ("batch", "layer")


def _discriminator_norm(normalization):
    """The critic's normalization layer: batch norm (DCGAN) or per-sample layer norm.

    "layer" is WGAN-GP's choice for a DCGAN critic (`gan_64x64.py`, tflib `Layernorm` over
    C, H, W with a per-channel scale and offset): the gradient penalty is per sample, and batch
    norm would make each sample's logit depend on the rest of the batch. `GroupNormalization`
    with one group is exactly that layer (its parameter count equals batch norm's, 2 C).
    """
    if normalization == "layer":
        return keras.layers.GroupNormalization(groups=1, epsilon=blocks.BN_EPSILON)
    return blocks.batch_norm()


@gin.configurable
def dcgan_discriminator(image_size=32, channels=3, width=64, num_classes=None,
                        normalization="batch"):
    """DCGAN discriminator: images `[B, image_size, image_size, channels]` -> logits `[B, 1]`.

    Args:
        image_size: input height and width (see `dcgan_layout`); the model has as many stride-2
            convolutions as the generator has up-steps.
        channels: input channels.
        width: channels of the first convolution (`df_dim`, 64).
        num_classes: unsupported; must be None.
        normalization: "batch" (DCGAN) or "layer" (per-sample layer norm over H, W, C with a
            per-channel scale and offset: WGAN-GP's DCGAN critic, for gradient-penalty losses).

    Returns:
        A built `keras.Model` named "dcgan_discriminator".
    """
    _reject_labels(num_classes, "dcgan_discriminator")
    if normalization not in NORMALIZATIONS:
        raise ValueError(f"dcgan_discriminator normalization must be one of {NORMALIZATIONS}, "
                         f"got {normalization!r}.")
    blocks.check_positive(channels=channels, width=width)
    _, steps = dcgan_layout(image_size)
    inputs, image, _ = blocks.discriminator_inputs(image_size, channels)
    h = image
    for step in range(steps):
        h = keras.layers.Conv2D(width * 2 ** step, 5, 2, padding="same",
                                kernel_initializer=_conv_init())(h)
        if step > 0:
            h = _discriminator_norm(normalization)(h)
        h = keras.layers.LeakyReLU(0.2)(h)
    h = keras.layers.Flatten()(h)
    out = keras.layers.Dense(1, kernel_initializer=_init(), dtype="float32", name="logits")(h)
    return keras.Model(inputs, out, name="dcgan_discriminator")
