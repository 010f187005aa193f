"""The building blocks every architecture in `rgan_tf.architectures` is assembled from.

One set of layers and residual blocks serves all baselines: the plain DCGAN-style convolutions,
WGAN-GP's ResNet (Gulrajani et al. 2017, `gan_cifar_resnet.py`) and SNGAN's ResNet (Miyato et al.
2018, `pfnet-research/sngan_projection`). The two ResNets share one block layout, which differs
only in spectral normalization, in the kind of batch normalization and in the final pooling:

  generator block (`generator_block`):      x -> BN -> ReLU -> up -> conv3 -> BN -> ReLU -> conv3
                                            shortcut: up -> conv1 (identity if no resampling and
                                            no change of width)
  discriminator block (`discriminator_block`): x -> ReLU -> conv3 -> ReLU -> conv3 [-> avgpool]
                                            shortcut: conv1 [-> avgpool] (or identity)
  first discriminator block (`optimized_discriminator_block`): x -> conv3 -> ReLU -> conv3 ->
                                            avgpool; shortcut: avgpool -> conv1

Blocks are functions on Keras tensors (for the functional API), so models stay plain functional
`keras.Model`s. Layers that need state a built-in layer lacks (`ConditionalBatchNormalization`,
`GlobalSumPooling2D`, `Projection`) are registered for serialization.
"""
import keras
from keras import ops

from rgan_tf.architectures import spectral_norm

# Batch-norm settings of the reference implementations: TF1 `batch_norm(decay=0.9, eps=1e-5)` in
# DCGAN-tensorflow, tflib's `fused_batch_norm(epsilon=1e-5)` in WGAN-GP, Chainer's
# `BatchNormalization(decay=0.9, eps=2e-5)` in SNGAN. Keras' defaults (0.99, 1e-3) differ.
BN_MOMENTUM = 0.9
BN_EPSILON = 1e-5

# The ResNets' residual convolutions use He-style uniform init, variance 4 / (fan_in + fan_out)
# (tflib `he_init=True`, Chainer `GlorotUniform(sqrt(2))`); shortcuts, linear layers and the
# output convolution use Glorot uniform (tflib `he_init=False`, Chainer `GlorotUniform()`).
RESIDUAL_INIT = "residual"
GLOROT_INIT = "glorot_uniform"


def initializer(name):
    """A Keras initializer for a name; `"residual"` is He-style fan-average uniform (see above)."""
    if name == RESIDUAL_INIT:
        return keras.initializers.VarianceScaling(2.0, mode="fan_avg", distribution="uniform")
    return keras.initializers.get(name)


def conv(filters, kernel_size, strides=1, *, spectral=False, use_bias=True,
         kernel_initializer=GLOROT_INIT, name=None):
    """A 'same'-padded `Conv2D`; `SNConv2D` (Miyato et al.'s spectral norm) when `spectral`."""
    layer = spectral_norm.SNConv2D if spectral else keras.layers.Conv2D
    return layer(filters, kernel_size, strides, padding="same", use_bias=use_bias,
                 kernel_initializer=initializer(kernel_initializer), name=name)


def conv_transpose(filters, kernel_size, strides=2, *, use_bias=True,
                   kernel_initializer=GLOROT_INIT, name=None):
    """A 'same'-padded `Conv2DTranspose` (output `strides` times larger)."""
    return keras.layers.Conv2DTranspose(filters, kernel_size, strides, padding="same",
                                        use_bias=use_bias,
                                        kernel_initializer=initializer(kernel_initializer),
                                        name=name)


def dense(units, *, spectral=False, use_bias=True, kernel_initializer=GLOROT_INIT, dtype=None,
          name=None):
    """A `Dense` layer, `SNDense` when `spectral`; `dtype="float32"` for a model's last layer."""
    layer = spectral_norm.SNDense if spectral else keras.layers.Dense
    return layer(units, use_bias=use_bias, kernel_initializer=initializer(kernel_initializer),
                 dtype=dtype, name=name)


def batch_norm(name=None):
    """Batch normalization over the last axis with the references' momentum and epsilon."""
    return keras.layers.BatchNormalization(momentum=BN_MOMENTUM, epsilon=BN_EPSILON, name=name)


@keras.saving.register_keras_serializable(package="rgan_tf")
class ConditionalBatchNormalization(keras.layers.Layer):
    """Categorical conditional batch norm (de Vries et al. 2017; Miyato & Koyama 2018).

    Normalizes like batch norm (batch statistics in training, moving averages in inference), then
    scales and shifts with a per-class `gamma` and `beta` looked up from two embeddings (initialized
    to ones and zeros, so every class starts as plain batch norm). Call it on `[x, label]`.

    Args:
        num_classes: number of classes.
        momentum, epsilon: as in `keras.layers.BatchNormalization`.

    Call args:
        inputs: `[x, label]`, `x` `[B, ..., C]` and `label` int `[B]`.

    Returns:
        `[B, ..., C]`, `gamma[label] * normalize(x) + beta[label]`.
    """

    def __init__(self, num_classes, momentum=BN_MOMENTUM, epsilon=BN_EPSILON, **kwargs):
        super().__init__(**kwargs)
        if not isinstance(num_classes, int) or num_classes < 1:
            raise ValueError(f"num_classes must be an integer >= 1, got {num_classes!r}.")
        self.num_classes = num_classes
        self.momentum = momentum
        self.epsilon = epsilon
        self.norm = keras.layers.BatchNormalization(momentum=momentum, epsilon=epsilon,
                                                    center=False, scale=False, name="norm")

    def build(self, input_shape):
        x_shape, _ = input_shape
        channels = x_shape[-1]
        self.norm.build(x_shape)
        self.gamma = self.add_weight(shape=(self.num_classes, channels), initializer="ones",
                                     name="gamma")
        self.beta = self.add_weight(shape=(self.num_classes, channels), initializer="zeros",
                                    name="beta")

    def call(self, inputs, training=None):
        x, label = inputs
        label = ops.cast(ops.reshape(label, [-1]), "int32")
        normalized = self.norm(x, training=training)
        shape = [-1] + [1] * (len(x.shape) - 2) + [x.shape[-1]]
        gamma = ops.reshape(ops.take(self.gamma, label, axis=0), shape)
        beta = ops.reshape(ops.take(self.beta, label, axis=0), shape)
        return normalized * ops.cast(gamma, normalized.dtype) + ops.cast(beta, normalized.dtype)

    def compute_output_shape(self, input_shape):
        return input_shape[0]

    def get_config(self):
        return {**super().get_config(), "num_classes": self.num_classes,
                "momentum": self.momentum, "epsilon": self.epsilon}


@keras.saving.register_keras_serializable(package="rgan_tf")
class GlobalSumPooling2D(keras.layers.Layer):
    """Sum over height and width: `[B, H, W, C] -> [B, C]` (SNGAN's ResNet discriminators)."""

    def call(self, inputs):
        return ops.sum(inputs, axis=[1, 2])

    def compute_output_shape(self, input_shape):
        return (input_shape[0], input_shape[-1])


@keras.saving.register_keras_serializable(package="rgan_tf")
class Projection(keras.layers.Layer):
    """The class term of a projection discriminator (Miyato & Koyama 2018): `<embed(y), h>`.

    Call it on `[h, label]` with features `h` `[B, C]` and `label` int `[B]`; returns `[B, 1]`,
    float32. The embedding is spectrally normalized when `spectral` (`SNEmbedding`, the
    reference's `SNEmbedID`).
    """

    def __init__(self, num_classes, spectral=True, **kwargs):
        kwargs.setdefault("dtype", "float32")
        super().__init__(**kwargs)
        if not isinstance(num_classes, int) or num_classes < 1:
            raise ValueError(f"num_classes must be an integer >= 1, got {num_classes!r}.")
        self.num_classes = num_classes
        self.spectral = spectral

    def build(self, input_shape):
        h_shape, label_shape = input_shape
        embedding = spectral_norm.SNEmbedding if self.spectral else keras.layers.Embedding
        self.embedding = embedding(self.num_classes, h_shape[-1],
                                   embeddings_initializer=initializer(GLOROT_INIT),
                                   dtype=self.dtype_policy, name="embedding")
        self.embedding.build(tuple(label_shape))

    def call(self, inputs, training=None):
        h, label = inputs
        w_y = self.embedding(ops.cast(ops.reshape(label, [-1]), "int32"), training=training)
        return ops.sum(ops.cast(w_y, h.dtype) * h, axis=-1, keepdims=True)

    def compute_output_shape(self, input_shape):
        return (input_shape[0][0], 1)

    def get_config(self):
        return {**super().get_config(), "num_classes": self.num_classes,
                "spectral": self.spectral}


def normalize(h, label=None, num_classes=None):
    """Batch norm, or categorical conditional batch norm when `num_classes` is given."""
    if num_classes is None:
        return batch_norm()(h)
    if label is None:
        raise ValueError("Conditional batch norm needs the label tensor.")
    return ConditionalBatchNormalization(num_classes)([h, label])


def generator_block(h, filters, *, upsample=True, label=None, num_classes=None):
    """Pre-activation residual generator block (WGAN-GP ResNet and SNGAN ResNet).

    Residual: BN -> ReLU -> [nearest 2x upsample] -> conv3x3(filters) -> BN -> ReLU ->
    conv3x3(filters). Shortcut: [upsample] -> conv1x1(filters), or the identity when neither the
    size nor the width changes. BN is class-conditional when `num_classes` is given.

    Args:
        h: features `[B, H, W, C]`.
        filters: output channels.
        upsample: double H and W.
        label: int labels `[B]` (conditional only).
        num_classes: number of classes for conditional BN, or None.

    Returns:
        `[B, 2H, 2W, filters]` (or `[B, H, W, filters]` without upsampling).
    """
    shortcut = h
    if upsample:
        shortcut = keras.layers.UpSampling2D(2)(shortcut)
    if upsample or h.shape[-1] != filters:
        shortcut = conv(filters, 1, kernel_initializer=GLOROT_INIT)(shortcut)
    x = normalize(h, label, num_classes)
    x = keras.layers.ReLU()(x)
    if upsample:
        x = keras.layers.UpSampling2D(2)(x)
    x = conv(filters, 3, kernel_initializer=RESIDUAL_INIT)(x)
    x = normalize(x, label, num_classes)
    x = keras.layers.ReLU()(x)
    x = conv(filters, 3, kernel_initializer=RESIDUAL_INIT)(x)
    return keras.layers.Add()([shortcut, x])


def discriminator_block(h, filters, *, downsample=True, spectral=False):
    """Pre-activation residual discriminator block, no normalization (both ResNets).

    Residual: ReLU -> conv3x3(C) -> ReLU -> conv3x3(filters) -> [2x2 mean pool]. Shortcut:
    conv1x1(filters) -> [mean pool], or the identity when neither the size nor the width changes.

    Args:
        h: features `[B, H, W, C]`.
        filters: output channels.
        downsample: halve H and W.
        spectral: spectrally normalize every convolution (SNGAN).

    Returns:
        `[B, H/2, W/2, filters]` (or `[B, H, W, filters]`).
    """
    shortcut = h
    if downsample or h.shape[-1] != filters:
        shortcut = conv(filters, 1, spectral=spectral, kernel_initializer=GLOROT_INIT)(shortcut)
        if downsample:
            shortcut = keras.layers.AveragePooling2D(2)(shortcut)
    x = keras.layers.ReLU()(h)
    x = conv(h.shape[-1], 3, spectral=spectral, kernel_initializer=RESIDUAL_INIT)(x)
    x = keras.layers.ReLU()(x)
    x = conv(filters, 3, spectral=spectral, kernel_initializer=RESIDUAL_INIT)(x)
    if downsample:
        x = keras.layers.AveragePooling2D(2)(x)
    return keras.layers.Add()([shortcut, x])


def optimized_discriminator_block(h, filters, *, spectral=False, first_initializer=RESIDUAL_INIT):
    """The first discriminator block, on images (no leading ReLU; pool before the 1x1 shortcut).

    Residual: conv3x3(filters) -> ReLU -> conv3x3(filters) -> mean pool. Shortcut: mean pool ->
    conv1x1(filters).

    Args:
        h: images `[B, H, W, C]`.
        filters: output channels.
        spectral: spectrally normalize every convolution.
        first_initializer: initializer (name) of the first 3x3 convolution, the only one of the
            block whose fan-in (`9 C`) and fan-out (`9 filters`) differ.

    Returns:
        `[B, H/2, W/2, filters]`.
    """
    shortcut = keras.layers.AveragePooling2D(2)(h)
    shortcut = conv(filters, 1, spectral=spectral, kernel_initializer=GLOROT_INIT)(shortcut)
    x = conv(filters, 3, spectral=spectral, kernel_initializer=first_initializer)(h)
    x = keras.layers.ReLU()(x)
    x = conv(filters, 3, spectral=spectral, kernel_initializer=RESIDUAL_INIT)(x)
    x = keras.layers.AveragePooling2D(2)(x)
    return keras.layers.Add()([shortcut, x])


def image_output(h, channels, kernel_size=3, *, transpose=False, strides=1,
                 kernel_initializer=GLOROT_INIT):
    """The generator's last convolution to `channels`, then tanh in a float32 layer."""
    layer = conv_transpose if transpose else conv
    h = layer(channels, kernel_size, strides, kernel_initializer=kernel_initializer)(h)
    return keras.layers.Activation("tanh", dtype="float32", name="image")(h)


def generator_inputs(latent_dim, num_classes=None):
    """The generator's inputs: `z` `(latent_dim,)` float32 and, if conditional, `label` int32 `()`.

    Returns:
        `(inputs, z, label)`: the list to build the model from, and the two tensors (label None).
    """
    if not isinstance(latent_dim, int) or latent_dim < 1:
        raise ValueError(f"latent_dim must be an integer >= 1, got {latent_dim!r}.")
    check_num_classes(num_classes)
    z = keras.Input((latent_dim,), dtype="float32", name="z")
    if num_classes is None:
        return z, z, None
    label = keras.Input((), dtype="int32", name="label")
    return [z, label], z, label


def discriminator_inputs(image_size, channels, num_classes=None):
    """The discriminator's inputs: `image` `(H, W, C)` and, if conditional, `label` int32 `()`.

    Returns:
        `(inputs, image, label)` as in `generator_inputs`.
    """
    check_num_classes(num_classes)
    image = keras.Input((image_size, image_size, channels), dtype="float32", name="image")
    if num_classes is None:
        return image, image, None
    label = keras.Input((), dtype="int32", name="label")
    return [image, label], image, label


def check_num_classes(num_classes):
    """Raises ValueError unless `num_classes` is None or an integer >= 1."""
    if num_classes is not None and (not isinstance(num_classes, int) or num_classes < 1):
        raise ValueError(f"num_classes must be None or an integer >= 1, got {num_classes!r}.")


def check_positive(**values):
    """Raises ValueError for any argument that is not an integer >= 1."""
    for name, value in values.items():
        if isinstance(value, bool) or not isinstance(value, int) or value < 1:
            raise ValueError(f"{name} must be an integer >= 1, got {value!r}.")


def logits_output(h, *, spectral=False, use_bias=True, label=None, num_classes=None,
                  kernel_initializer=GLOROT_INIT):
    """The discriminator's head: a (SN) linear layer to one logit, plus the projection term
    `<embed(label), h>` when `num_classes` is given. Float32 `[B, 1]`."""
    logits = dense(1, spectral=spectral, use_bias=use_bias,
                   kernel_initializer=kernel_initializer, dtype="float32", name="logits")(h)
    if num_classes is None:
        return logits
    projection = Projection(num_classes, spectral=spectral, name="projection")([h, label])
    return keras.layers.Add(dtype="float32", name="projected_logits")([logits, projection])
