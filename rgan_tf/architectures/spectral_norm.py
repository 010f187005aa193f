"""Spectral normalization as Miyato et al. (2018) implement it: the layers of every SN model.

The references (pfnet-research/sngan_projection `source/links/sn_linear.py`,
`sn_convolution_2d.py`, `sn_embed_id.py` with `source/functions/max_sv.py`; pfnet-research/
chainer-gan-lib `common/sn/` computes the same, but keeps `u` out of the saved state) keep the
raw weight `W` (Chainer's `[out, in]`) as the trainable parameter and use `W / sigma(W)` in the
forward pass, where `sigma` comes from one step of the power method started at a stored `u`:

    v = normalize(W^T u),   u' = normalize(W v),   sigma = u'^T W v    (u', v constants)

`u'` and `v` carry no gradient, `sigma` does: the gradient of a loss with respect to the raw `W`
is taken through `W / sigma(W)` (the paper's Eq. 9-12). Only `u` is stored, and only in training
(`sn_convolution_2d.py` stores it under `chainer.config.train`; `sn_linear.py` and
`sn_embed_id.py` store it on every call, but the references only run the discriminator in
training mode, so the two agree wherever it matters). An inference call takes the same power step
from the stored `u` without storing the result, so it is deterministic and changes no state.

Why our own layers rather than `keras.layers.SpectralNormalization`: that wrapper assigns
`W / sigma` back into the kernel on every training call, so the optimizer's gradient is taken at
the normalized kernel and `sigma` never enters it. Why three small layers rather than a wrapper of
Keras' `Dense` / `Conv2D` / `Embedding`: calling a wrapped layer with a substituted kernel needs
Keras' stateless-scope machinery and its autocasting rules; here each layer owns its kernel
(created with `autocast=False`, so the power method and `sigma` run in the variable dtype, float32,
also under mixed precision) and casts only the normalized kernel to the compute dtype.

Layouts. The matrix the power method sees is the references': a Keras kernel reshaped to
`[fan_in, units]` (the transpose of Chainer's `W.reshape(out, -1)`, up to a permutation of rows,
which changes no singular value), with `u` over the output units; for an embedding table
`[num_classes, dim]`, `u` runs over the classes, as in `SNEmbedID`. `u` is a non-trainable float32
weight of shape `[1, units]` (or `[1, num_classes]`), initialized from N(0, 1) like the reference,
saved in checkpoints. Under a `tf.distribute` strategy it is assigned with aggregation "mean":
every replica computes the same value, and the mean keeps the copies equal by construction
(with aggregation "none", TensorFlow lets each replica write its own copy).
"""
import keras
from keras import ops

#: `max_sv._l2normalize`'s epsilon: `x / (||x|| + eps)`.
EPSILON = 1e-12


def l2_normalize(x, epsilon=EPSILON):
    """`x / (||x||_2 + epsilon)` over all entries, as the references normalize `u` and `v`."""
    return x / (ops.sqrt(ops.sum(ops.square(x))) + epsilon)


def power_iteration(matrix, u, iterations=1):
    """Power-method estimate of the largest singular value of `matrix`, differentiable in it.

    Args:
        matrix: `[n, m]` float tensor (the kernel reshaped to `[fan_in, units]`).
        u: `[1, m]` the stored estimate of the singular vector over the columns.
        iterations: power-method steps (the references' `Ip`, 1).

    Returns:
        `(sigma, u_new)`: `sigma` a scalar, `v^T matrix u_new^T` with `v` `[n, 1]` and `u_new`
        `[1, m]` held constant (stop-gradient), so the gradient of `sigma` with respect to
        `matrix` is `v u_new`; `u_new` is the vector to store.
    """
    if iterations < 1:
        raise ValueError(f"iterations must be >= 1, got {iterations!r}.")
    u = ops.stop_gradient(u)
    for _ in range(iterations):
        v = l2_normalize(ops.matmul(matrix, ops.transpose(u)))  # [n, 1]
        u = ops.stop_gradient(l2_normalize(ops.matmul(ops.transpose(v), matrix)))  # [1, m]
    v = ops.stop_gradient(v)
    sigma = ops.sum(ops.matmul(ops.transpose(v), matrix) * u)
    return sigma, u


class SpectralNormLayer(keras.layers.Layer):
    """Base of the SN layers: the stored vector `u` and the normalized kernel.

    Subclasses create their kernel in `build` (with `autocast=False`), call `build_u(m)` and
    implement `matrix()` (the kernel as the `[n, m]` matrix of the power method).

    Args:
        power_iterations: power-method steps per call (1 in the references).
    """

    def __init__(self, power_iterations=1, **kwargs):
        super().__init__(**kwargs)
        if isinstance(power_iterations, bool) or not isinstance(power_iterations, int) \
                or power_iterations < 1:
            raise ValueError(f"power_iterations must be an integer >= 1, got {power_iterations!r}.")
        self.power_iterations = power_iterations

    def build_u(self, size):
        """Creates `u` `[1, size]`: non-trainable, float32 (never autocast), N(0, 1)."""
        self.u = self.add_weight(
            shape=(1, size), initializer=keras.initializers.RandomNormal(0.0, 1.0),
            trainable=False, autocast=False, aggregation="mean", name="u")

    def matrix(self):
        """The kernel as the `[n, m]` matrix whose columns `u` runs over."""
        raise NotImplementedError

    def normalized_kernel(self, training=False):
        """The kernel divided by `sigma`, in the variable dtype; stores the new `u` if training.

        Differentiable with respect to the raw kernel, through `sigma` too.
        """
        sigma, u = power_iteration(self.matrix(), self.u.value, self.power_iterations)
        if training:
            self.u.assign(u)
        return self.kernel_variable() / sigma

    def kernel_variable(self):
        """The raw trainable kernel (or embedding table)."""
        return self.kernel

    def get_config(self):
        return {**super().get_config(), "power_iterations": self.power_iterations}


@keras.saving.register_keras_serializable(package="rgan_tf")
class SNDense(SpectralNormLayer):
    """A dense layer `x W / sigma(W) + b` (the references' `SNLinear`).

    Args:
        units: output features.
        use_bias: add a bias.
        kernel_initializer, bias_initializer: Keras initializers (or their names).
        power_iterations: power-method steps per call.

    Call args:
        inputs: `[B, ..., fan_in]`.
        training: store the new `u`.

    Returns:
        `[B, ..., units]` in the compute dtype.
    """

    def __init__(self, units, use_bias=True, kernel_initializer="glorot_uniform",
                 bias_initializer="zeros", power_iterations=1, **kwargs):
        super().__init__(power_iterations, **kwargs)
        self.units = units
        self.use_bias = use_bias
        self.kernel_initializer = keras.initializers.get(kernel_initializer)
        self.bias_initializer = keras.initializers.get(bias_initializer)

    def build(self, input_shape):
        self.kernel = self.add_weight(shape=(input_shape[-1], self.units),
                                      initializer=self.kernel_initializer, autocast=False,
                                      name="kernel")
        self.bias = (self.add_weight(shape=(self.units,), initializer=self.bias_initializer,
                                     name="bias") if self.use_bias else None)
        self.build_u(self.units)

    def matrix(self):
        return self.kernel

    def call(self, inputs, training=None):
        kernel = ops.cast(self.normalized_kernel(training), inputs.dtype)
        outputs = ops.matmul(inputs, kernel)
        return ops.add(outputs, self.bias) if self.use_bias else outputs

    def compute_output_shape(self, input_shape):
        return tuple(input_shape[:-1]) + (self.units,)

    def get_config(self):
        return {**super().get_config(), "units": self.units, "use_bias": self.use_bias,
                "kernel_initializer": keras.initializers.serialize(self.kernel_initializer),
                "bias_initializer": keras.initializers.serialize(self.bias_initializer)}


@keras.saving.register_keras_serializable(package="rgan_tf")
class SNConv2D(SpectralNormLayer):
    """A 2-D convolution with kernel `W / sigma(W)` (the references' `SNConvolution2D`), NHWC.

    `sigma` is that of the kernel reshaped to `[kh * kw * in, filters]`, as the references do.

    Args:
        filters: output channels.
        kernel_size: int or pair.
        strides: int or pair.
        padding: "same" or "valid".
        use_bias: add a bias.
        kernel_initializer, bias_initializer: Keras initializers (or their names).
        power_iterations: power-method steps per call.

    Call args:
        inputs: `[B, H, W, C]`.
        training: store the new `u`.

    Returns:
        `[B, H', W', filters]` in the compute dtype.
    """

    def __init__(self, filters, kernel_size, strides=1, padding="same", use_bias=True,
                 kernel_initializer="glorot_uniform", bias_initializer="zeros",
                 power_iterations=1, **kwargs):
        super().__init__(power_iterations, **kwargs)
        if padding not in ("same", "valid"):
            raise ValueError(f"padding must be 'same' or 'valid', got {padding!r}.")
        self.filters = filters
        self.kernel_size = _pair(kernel_size, "kernel_size")
        self.strides = _pair(strides, "strides")
        self.padding = padding
        self.use_bias = use_bias
        self.kernel_initializer = keras.initializers.get(kernel_initializer)
        self.bias_initializer = keras.initializers.get(bias_initializer)

    def build(self, input_shape):
        shape = self.kernel_size + (input_shape[-1], self.filters)
        self.kernel = self.add_weight(shape=shape, initializer=self.kernel_initializer,
                                      autocast=False, name="kernel")
        self.bias = (self.add_weight(shape=(self.filters,), initializer=self.bias_initializer,
                                     name="bias") if self.use_bias else None)
        self.build_u(self.filters)

    def matrix(self):
        return ops.reshape(self.kernel, [-1, self.filters])

    def call(self, inputs, training=None):
        kernel = ops.cast(self.normalized_kernel(training), inputs.dtype)
        outputs = ops.conv(inputs, kernel, strides=self.strides, padding=self.padding)
        return ops.add(outputs, self.bias) if self.use_bias else outputs

    def compute_output_shape(self, input_shape):
        spatial = []
        for size, kernel, stride in zip(input_shape[1:3], self.kernel_size, self.strides):
            if size is None:
                spatial.append(None)
            elif self.padding == "same":
                spatial.append(-(-size // stride))
            else:
                spatial.append((size - kernel) // stride + 1)
        return (input_shape[0], *spatial, self.filters)

    def get_config(self):
        return {**super().get_config(), "filters": self.filters,
                "kernel_size": self.kernel_size, "strides": self.strides,
                "padding": self.padding, "use_bias": self.use_bias,
                "kernel_initializer": keras.initializers.serialize(self.kernel_initializer),
                "bias_initializer": keras.initializers.serialize(self.bias_initializer)}


@keras.saving.register_keras_serializable(package="rgan_tf")
class SNEmbedding(SpectralNormLayer):
    """An embedding whose table is `E / sigma(E)` (the reference's `SNEmbedID`).

    `u` runs over the classes (the rows of the table), as in `SNEmbedID`.

    Args:
        input_dim: number of classes.
        output_dim: embedding size.
        embeddings_initializer: a Keras initializer (or its name).
        power_iterations: power-method steps per call.

    Call args:
        inputs: int labels `[B, ...]`.
        training: store the new `u`.

    Returns:
        `[B, ..., output_dim]` in the compute dtype.
    """

    def __init__(self, input_dim, output_dim, embeddings_initializer="glorot_uniform",
                 power_iterations=1, **kwargs):
        super().__init__(power_iterations, **kwargs)
        self.input_dim = input_dim
        self.output_dim = output_dim
        self.embeddings_initializer = keras.initializers.get(embeddings_initializer)

    def build(self, input_shape):
        del input_shape
        self.embeddings = self.add_weight(
            shape=(self.input_dim, self.output_dim), initializer=self.embeddings_initializer,
            autocast=False, name="embeddings")
        self.build_u(self.input_dim)

    def kernel_variable(self):
        return self.embeddings

    def matrix(self):
        return ops.transpose(self.embeddings)

    def call(self, inputs, training=None):
        table = ops.cast(self.normalized_kernel(training), self.compute_dtype)
        return ops.take(table, ops.cast(inputs, "int32"), axis=0)

    def compute_output_shape(self, input_shape):
        return tuple(input_shape) + (self.output_dim,)

    def get_config(self):
        return {**super().get_config(), "input_dim": self.input_dim,
                "output_dim": self.output_dim,
                "embeddings_initializer":
                    keras.initializers.serialize(self.embeddings_initializer)}


def _pair(value, name):
    """`(a, b)` from an int or a pair of ints >= 1; ValueError otherwise."""
    pair = (value, value) if isinstance(value, int) else tuple(value)
    if len(pair) != 2 or any(isinstance(x, bool) or not isinstance(x, int) or x < 1
                             for x in pair):
        raise ValueError(f"{name} must be an integer >= 1 or a pair of them, got {value!r}.")
    return pair
