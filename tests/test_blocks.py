"""The shared blocks: the spectral flag, conditional batch norm, projection, residual blocks."""
import keras
import numpy as np
import pytest
import tensorflow as tf

from rgan_tf.architectures import blocks
from rgan_tf.architectures import spectral_norm


@pytest.mark.parametrize("make,kind", [
    (lambda: blocks.dense(7, spectral=True), spectral_norm.SNDense),
    (lambda: blocks.dense(7), keras.layers.Dense),
    (lambda: blocks.conv(6, 4, 2, spectral=True), spectral_norm.SNConv2D),
    (lambda: blocks.conv(6, 4, 2), keras.layers.Conv2D),
])
def test_spectral_flag_picks_the_sn_layer(make, kind):
    # The SN layers' maths is pinned in tests/test_spectral_norm.py.
    layer = make()
    assert type(layer) is kind


def test_conditional_batch_norm_scales_and_shifts_per_class():
    layer = blocks.ConditionalBatchNormalization(3)
    x = tf.random.normal([4, 2, 2, 5], seed=2) * 3.0 + 1.0
    labels = tf.constant([0, 1, 2, 1])
    out = layer([x, labels], training=True)
    # At init (gamma 1, beta 0) it is plain batch norm: zero mean, unit variance per channel
    # (the batch's biased variance v becomes v / (v + epsilon), within 1e-3 of 1 here).
    np.testing.assert_allclose(np.mean(out, axis=(0, 1, 2)), 0.0, atol=1e-5)
    variance = np.var(np.asarray(x), axis=(0, 1, 2))
    np.testing.assert_allclose(np.var(out, axis=(0, 1, 2)),
                               variance / (variance + blocks.BN_EPSILON), rtol=1e-4)
    np.testing.assert_allclose(np.var(out, axis=(0, 1, 2)), 1.0, atol=1e-3)
    gammas = np.arange(15, dtype=np.float32).reshape(3, 5)
    betas = -np.arange(15, dtype=np.float32).reshape(3, 5)
    layer.gamma.assign(gammas)
    layer.beta.assign(betas)
    got = layer([x, labels], training=True).numpy()
    for i, label in enumerate(labels.numpy()):
        np.testing.assert_allclose(got[i], out[i] * gammas[label] + betas[label], rtol=1e-4,
                                   atol=1e-4)
    changed = layer([x, tf.constant([2, 1, 2, 1])], training=True).numpy()
    assert not np.allclose(changed[0], got[0])
    np.testing.assert_allclose(changed[1:], got[1:], rtol=1e-5)


def test_conditional_batch_norm_uses_moving_statistics_in_inference():
    layer = blocks.ConditionalBatchNormalization(2, momentum=0.0)
    x = tf.random.normal([8, 3], seed=3) + 5.0
    layer([x, tf.zeros([8], tf.int32)], training=True)  # momentum 0: moving stats = batch stats
    out = layer([x[:1], tf.zeros([1], tf.int32)], training=False)
    mean, var = np.mean(x, 0), np.var(x, 0)
    np.testing.assert_allclose(out[0], (x[0] - mean) / np.sqrt(var + blocks.BN_EPSILON),
                               rtol=1e-3, atol=1e-3)


@pytest.mark.parametrize("spectral", [False, True])
def test_projection_is_the_inner_product_with_the_class_embedding(spectral):
    layer = blocks.Projection(4, spectral=spectral)
    h = tf.random.normal([3, 6], seed=4)
    labels = tf.constant([0, 3, 3])
    layer([h, labels], training=True)
    out = layer([h, labels], training=False)
    assert out.shape == (3, 1) and out.dtype == tf.float32
    if spectral:  # the SN embedding's table divided by its spectral norm
        assert isinstance(layer.embedding, spectral_norm.SNEmbedding)
        table = layer.embedding.normalized_kernel().numpy()
    else:
        table = layer.embedding.embeddings.numpy()
    np.testing.assert_allclose(out[:, 0], np.sum(table[[0, 3, 3]] * h, 1), rtol=1e-5, atol=1e-5)
    other = layer([h, tf.constant([1, 3, 3])], training=False)
    assert not np.isclose(other[0, 0], out[0, 0])


def test_global_sum_pooling():
    x = tf.reshape(tf.range(2 * 3 * 3 * 2, dtype=tf.float32), [2, 3, 3, 2])
    np.testing.assert_allclose(blocks.GlobalSumPooling2D()(x), tf.reduce_sum(x, [1, 2]))


def count_layers(model, kind):
    return sum(isinstance(layer, kind) for layer in model.layers)


@pytest.mark.parametrize("upsample,filters,shortcut_convs", [(True, 4, 1), (False, 4, 0),
                                                              (False, 6, 1)])
def test_generator_block_shapes_and_shortcut(upsample, filters, shortcut_convs):
    x = keras.Input((4, 4, 4))
    model = keras.Model(x, blocks.generator_block(x, filters, upsample=upsample))
    size = 8 if upsample else 4
    assert model.output.shape[1:] == (size, size, filters)
    assert count_layers(model, keras.layers.Conv2D) == 2 + shortcut_convs


@pytest.mark.parametrize("downsample,filters,shortcut_convs", [(True, 4, 1), (False, 4, 0),
                                                                (False, 8, 1)])
def test_discriminator_block_shapes_and_shortcut(downsample, filters, shortcut_convs):
    x = keras.Input((8, 8, 4))
    model = keras.Model(x, blocks.discriminator_block(x, filters, downsample=downsample,
                                                      spectral=True))
    size = 4 if downsample else 8
    assert model.output.shape[1:] == (size, size, filters)
    assert count_layers(model, spectral_norm.SNConv2D) == 2 + shortcut_convs
    assert count_layers(model, keras.layers.Conv2D) == 0


def test_optimized_block_pools_before_its_shortcut():
    x = keras.Input((8, 8, 3))
    model = keras.Model(x, blocks.optimized_discriminator_block(x, 5))
    assert model.output.shape[1:] == (4, 4, 5)
    shortcut = [layer for layer in model.layers
                if isinstance(layer, keras.layers.Conv2D) and layer.kernel_size == (1, 1)]
    assert len(shortcut) == 1 and shortcut[0].input.shape[1:] == (4, 4, 3)


def test_conditional_block_uses_the_label():
    keras.utils.set_random_seed(0)
    x, label = keras.Input((4, 4, 3)), keras.Input((), dtype="int32")
    model = keras.Model([x, label], blocks.generator_block(x, 3, label=label, num_classes=2))
    for layer in model.layers:
        if isinstance(layer, blocks.ConditionalBatchNormalization):
            layer.gamma.assign(tf.random.normal(layer.gamma.shape, seed=5))
    h = tf.random.normal([2, 4, 4, 3], seed=6)
    # Inference mode: batch statistics would couple the samples through the second norm.
    a = model([h, tf.constant([0, 0])], training=False)
    b = model([h, tf.constant([0, 1])], training=False)
    np.testing.assert_allclose(a[0], b[0], rtol=1e-5, atol=1e-6)
    assert not np.allclose(a[1], b[1])


def test_normalize_needs_the_label_when_conditional():
    with pytest.raises(ValueError, match="needs the label"):
        blocks.normalize(keras.Input((4, 4, 3)), None, 10)
    with pytest.raises(ValueError, match="num_classes"):
        blocks.ConditionalBatchNormalization(0)
