"""Spectral normalization as Miyato et al.'s reference code does it (`SNDense`, `SNConv2D`,
`SNEmbedding`): the raw weight stays the parameter, the forward pass uses `W / sigma(W)` with one
power step from the stored `u`, the gradient flows through `sigma`, and `u` is stored in training
only. Every reference value here is computed independently in NumPy (float64)."""
import keras
import numpy as np
import pytest
import tensorflow as tf

from rgan_tf.architectures import spectral_norm as sn

KINDS = ["dense", "conv", "conv_strided", "embedding"]


def make(kind, dtype=None, seed=0):
    """A built SN layer of `kind`, its raw weight variable, and an input batch."""
    keras.utils.set_random_seed(seed)
    if kind == "dense":
        layer, x = sn.SNDense(4, dtype=dtype), tf.random.normal([3, 6], seed=1)
    elif kind == "conv":
        layer, x = sn.SNConv2D(3, 3, dtype=dtype), tf.random.normal([2, 5, 5, 2], seed=1)
    elif kind == "conv_strided":
        layer, x = sn.SNConv2D(3, 4, 2, dtype=dtype), tf.random.normal([2, 6, 6, 2], seed=1)
    else:
        layer, x = sn.SNEmbedding(5, 4, dtype=dtype), tf.constant([0, 3, 3, 4])
    layer.build(x.shape)
    weight = layer.embeddings if kind == "embedding" else layer.kernel
    return layer, weight, x


def as_matrix(kind, weight):
    """The matrix the references run the power method on, with `u` over its columns: a kernel
    reshaped to `[fan_in, units]`; an embedding table transposed (`u` over the classes)."""
    weight = np.asarray(weight, np.float64)
    return weight.T if kind == "embedding" else weight.reshape(-1, weight.shape[-1])


def normalize(x):
    return x / np.linalg.norm(x)


def power_step(matrix, u):
    """The references' one step (`max_sv.max_singular_value`, Ip=1) in our layout: `(u', v)`."""
    v = normalize(matrix @ u.T)
    return normalize(v.T @ matrix), v


def forward(kind, layer, weight, x):
    """The layer's output for a given (already normalized) weight, in float64."""
    x, weight = np.asarray(x), np.asarray(weight, np.float64)
    if kind == "embedding":
        return weight[x]
    if kind == "dense":
        return x.astype(np.float64) @ weight + np.asarray(layer.bias, np.float64)
    out = tf.nn.conv2d(tf.constant(x, tf.float64), tf.constant(weight), layer.strides, "SAME")
    return out.numpy() + np.asarray(layer.bias, np.float64)


def largest_singular_value(kind, weight):
    return np.linalg.svd(as_matrix(kind, weight), compute_uv=False)[0]


@pytest.mark.parametrize("kind", KINDS)
def test_a_training_call_leaves_the_raw_weight_unchanged(kind):
    layer, weight, x = make(kind)
    before = weight.numpy().copy()
    for _ in range(3):
        layer(x, training=True)
    np.testing.assert_array_equal(weight.numpy(), before)
    assert [w.name for w in layer.trainable_weights] == (
        ["embeddings"] if kind == "embedding" else ["kernel", "bias"])
    assert [w.name for w in layer.non_trainable_weights] == ["u"]


@pytest.mark.parametrize("kind", KINDS)
def test_output_and_weight_gradient_are_those_of_w_over_sigma_with_u_and_v_fixed(kind):
    layer, weight, x = make(kind)
    weight.assign(weight * 3.0)  # sigma far from 1
    raw, u0 = weight.numpy().astype(np.float64), layer.u.numpy().astype(np.float64)
    u1, v = power_step(as_matrix(kind, raw), u0)

    def loss(w, cotangent):
        """L(W / sigma(W)), sigma(W) = v^T M(W) u1^T with u1, v held at the step's values."""
        sigma = (v.T @ as_matrix(kind, w) @ u1.T).item()
        return np.sum(forward(kind, layer, w / sigma, x) * cotangent)

    with tf.GradientTape() as tape:
        out = layer(x, training=True)
    cotangent = np.random.default_rng(0).normal(size=out.shape)
    grad = tf.convert_to_tensor(tape.gradient(
        out, weight, output_gradients=tf.constant(cotangent, out.dtype))).numpy()

    sigma = (v.T @ as_matrix(kind, raw) @ u1.T).item()
    np.testing.assert_allclose(out, forward(kind, layer, raw / sigma, x), rtol=1e-5, atol=1e-5)
    np.testing.assert_allclose(layer.u.numpy(), u1, rtol=1e-5, atol=1e-6)
    h = 1e-6
    numeric = np.zeros_like(raw)
    for index in np.ndindex(raw.shape):
        step = np.zeros_like(raw)
        step[index] = h
        numeric[index] = (loss(raw + step, cotangent) - loss(raw - step, cotangent)) / (2 * h)
    np.testing.assert_allclose(grad, numeric, rtol=1e-4, atol=1e-5)


def test_at_convergence_the_gradient_is_that_of_w_over_its_largest_singular_value():
    # The paper's Eq. 9: with u converged, d(W / sigma(W)) uses sigma's true gradient u1 v1^T.
    layer, kernel, x = make("dense")
    raw = kernel.numpy().astype(np.float64)
    layer.u.assign(np.linalg.svd(raw)[2][:1])  # the top singular vector over the columns
    cotangent = np.random.default_rng(1).normal(size=(3, 4))

    def loss(w):
        return np.sum(forward("dense", layer, w / largest_singular_value("dense", w), x)
                      * cotangent)

    with tf.GradientTape() as tape:
        out = layer(x, training=True)
    grad = tape.gradient(out, kernel, output_gradients=tf.constant(cotangent, out.dtype)).numpy()
    h = 1e-6
    numeric = np.zeros_like(raw)
    for index in np.ndindex(raw.shape):
        step = np.zeros_like(raw)
        step[index] = h
        numeric[index] = (loss(raw + step) - loss(raw - step)) / (2 * h)
    np.testing.assert_allclose(grad, numeric, rtol=1e-3, atol=1e-4)


@pytest.mark.parametrize("kind", KINDS)
def test_effective_weight_has_largest_singular_value_one_after_power_iterations(kind):
    layer, weight, x = make(kind)
    weight.assign(weight * 25.0)
    assert largest_singular_value(kind, weight.numpy()) > 5
    train = tf.function(lambda: layer(x, training=True))
    for _ in range(60):  # one power step per training call
        train()
    effective = layer.normalized_kernel().numpy()
    np.testing.assert_allclose(largest_singular_value(kind, effective), 1.0, atol=1e-3)
    # ... and it is the weight the layer computes with.
    np.testing.assert_allclose(layer(x, training=False), forward(kind, layer, effective, x),
                               rtol=1e-5, atol=1e-5)


@pytest.mark.parametrize("kind", KINDS)
def test_inference_does_not_store_u_and_training_does(kind):
    layer, _, x = make(kind)
    u0 = layer.u.numpy().copy()
    first = layer(x, training=False)
    np.testing.assert_array_equal(layer.u.numpy(), u0)
    np.testing.assert_array_equal(layer(x), first)  # training=None is inference too
    np.testing.assert_array_equal(layer.u.numpy(), u0)
    layer(x, training=True)
    assert not np.allclose(layer.u.numpy(), u0)
    np.testing.assert_allclose(np.linalg.norm(layer.u.numpy()), 1.0, rtol=1e-6)


@pytest.mark.parametrize("kind", KINDS)
def test_mixed_precision_computes_sigma_in_float32(kind):
    reference, _, x = make(kind)
    keras.mixed_precision.set_global_policy("mixed_float16")
    try:
        layer, weight, _ = make(kind)
    finally:
        keras.mixed_precision.set_global_policy("float32")
    layer.set_weights(reference.get_weights())
    assert weight.dtype == layer.u.dtype == "float32"
    out = layer(x, training=True)
    assert out.dtype == tf.float16
    reference(x, training=True)
    # The power step runs on the float32 weight: u matches the float32 layer's to float32
    # precision (a float16 step would be off by ~1e-3).
    np.testing.assert_allclose(layer.u.numpy(), reference.u.numpy(), rtol=1e-6, atol=1e-7)


@pytest.mark.parametrize("kind", ["dense", "conv", "embedding"])
def test_xla_matches_eager(kind):
    eager, weight_e, x = make(kind)
    compiled, weight_c, _ = make(kind)

    def step(layer, weight):
        with tf.GradientTape() as tape:
            out = layer(x, training=True)
            loss = tf.reduce_sum(tf.square(tf.cast(out, tf.float32)))
        return out, tf.convert_to_tensor(tape.gradient(loss, weight))

    out_e, grad_e = step(eager, weight_e)
    out_c, grad_c = tf.function(lambda: step(compiled, weight_c), jit_compile=True)()
    np.testing.assert_allclose(out_c, out_e, rtol=1e-5, atol=1e-5)
    np.testing.assert_allclose(grad_c, grad_e, rtol=1e-4, atol=1e-5)
    np.testing.assert_allclose(compiled.u.numpy(), eager.u.numpy(), rtol=1e-5, atol=1e-6)


def model_with_every_kind():
    image, label = keras.Input((6, 6, 2)), keras.Input((), dtype="int32")
    h = sn.SNConv2D(3, 3, 2, name="conv")(image)
    h = keras.layers.Flatten()(h)
    logits = sn.SNDense(1, name="dense")(h)
    embedded = sn.SNEmbedding(4, 27, name="embed")(label)
    out = keras.layers.Add()([logits, keras.layers.Dot(axes=1)([h, embedded])])
    return keras.Model([image, label], out)


def test_u_is_saved_with_the_model_and_in_tf_checkpoints(tmp_path):
    keras.utils.set_random_seed(0)
    model = model_with_every_kind()
    inputs = [tf.random.normal([2, 6, 6, 2], seed=3), tf.constant([1, 3])]
    for _ in range(3):
        model(inputs, training=True)
    saved_u = [w.numpy().copy() for w in model.non_trainable_weights]
    assert len(saved_u) == 3
    expected = model(inputs, training=False)

    path = str(tmp_path / "model.keras")
    model.save(path)
    loaded = keras.models.load_model(path)
    for a, b in zip(saved_u, loaded.non_trainable_weights, strict=True):
        np.testing.assert_array_equal(a, b.numpy())
    np.testing.assert_allclose(loaded(inputs, training=False), expected, rtol=1e-6)

    prefix = tf.train.Checkpoint(model=model).save(str(tmp_path / "ckpt"))
    keras.utils.set_random_seed(1)
    other = model_with_every_kind()
    tf.train.Checkpoint(model=other).restore(prefix).assert_consumed()
    for a, b in zip(saved_u, other.non_trainable_weights, strict=True):
        np.testing.assert_array_equal(a, b.numpy())


def test_layers_rebuild_from_their_config():
    for layer in (sn.SNDense(3, use_bias=False, power_iterations=2),
                  sn.SNConv2D(4, (3, 1), (2, 1), padding="valid"),
                  sn.SNEmbedding(7, 2)):
        config = layer.get_config()
        assert type(layer).from_config(config).get_config() == config


def test_bad_arguments_are_refused():
    with pytest.raises(ValueError, match="power_iterations"):
        sn.SNDense(3, power_iterations=0)
    with pytest.raises(ValueError, match="padding"):
        sn.SNConv2D(3, 3, padding="full")
    with pytest.raises(ValueError, match="kernel_size"):
        sn.SNConv2D(3, 0)
