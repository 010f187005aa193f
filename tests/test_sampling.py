"""Sampling outside training: "batch_stats" normalizes each generated batch with its own statistics
(as the training-mode generator on that batch) without touching the moving averages, "sample"
generates in batches of 100, and with `ema_decay` images come from the averaged weights."""
import keras
import numpy as np
import pytest
import tensorflow as tf

from conftest import IMAGE_SHAPE, LATENT_DIM, copy_model
from rgan_tf import sampling
from rgan_tf.robust_gan import RobustGAN


def trained(tiny_models, steps=2, **kwargs):
    generator, discriminator = tiny_models
    model = RobustGAN(copy_model(generator), copy_model(discriminator), eps_x=1.0, **kwargs)
    model.compile(keras.optimizers.Adam(1e-2), keras.optimizers.Adam(1e-2), jit_compile=False)
    images = np.random.default_rng(0).uniform(-1, 1, (8 * steps,) + IMAGE_SHAPE)
    # The steps move the weights and the batch-norm statistics away from their initial values.
    model.fit(tf.data.Dataset.from_tensor_slices(images.astype(np.float32)).batch(8), verbose=0)
    return model


def noise(n, seed=0):
    return np.random.default_rng(seed).normal(size=(n, LATENT_DIM)).astype(np.float32)


def state(model):
    return [np.asarray(v) for v in model.generator.variables]


def test_batch_stats_normalizes_with_the_batch_and_writes_nothing(tiny_models):
    model = trained(tiny_models, sampling="batch_stats")
    z = noise(10)
    before = state(model)
    images = np.asarray(model.generate(z))
    for a, b in zip(before, state(model)):  # the moving statistics are left alone
        np.testing.assert_array_equal(a, b)
    reference = copy_model(model.generator)  # the training-mode call on the same batch
    np.testing.assert_allclose(images, reference(z, training=True), rtol=1e-5, atol=1e-6)
    moving = np.asarray(model.generator(z, training=False))
    assert np.abs(images - moving).max() > 1e-3
    # An image depends on the batch it is generated in.
    assert np.abs(np.asarray(model.generate(z[:3]))[0] - images[0]).max() > 1e-3


def test_moving_average_mode_is_keras_inference(tiny_models):
    model = trained(tiny_models)
    z = noise(10)
    np.testing.assert_allclose(model.generate(z), model.generator(z, training=False), atol=0)


def test_sample_generates_in_batches_of_100(tiny_models):
    model = trained(tiny_models, sampling="batch_stats")
    images = np.asarray(model.sample(250, seed=4))
    z = sampling.sample_noise(250, 4, LATENT_DIM)
    batches = [model.generate(z[start:start + 100]) for start in (0, 100, 200)]
    np.testing.assert_allclose(images, np.concatenate(batches), rtol=1e-5, atol=1e-6)
    assert images.shape == (250,) + IMAGE_SHAPE
    assert np.abs(images[:100] - np.asarray(model.generate(z[:250]))[:100]).max() > 1e-3


def test_in_batches_inside_a_function_with_a_dynamic_batch():
    fn = tf.function(lambda z: sampling.in_batches(lambda b, _: b * tf.cast(tf.shape(b)[0],
                                                                             tf.float32), z,
                                                   batch_size=4),
                     input_signature=[tf.TensorSpec([None, 2], tf.float32)])
    out = np.asarray(fn(tf.ones([10, 2])))
    np.testing.assert_array_equal(out[:, 0], [4] * 8 + [2] * 2)


@pytest.mark.parametrize("mode", ["moving_average", "batch_stats"])
def test_ema_images_come_from_the_averaged_weights(tiny_models, mode):
    model = trained(tiny_models, sampling=mode, ema_decay=0.5)
    averaged = copy_model(model.generator)
    for variable, value in zip(averaged.trainable_variables, model.ema_weights):
        variable.assign(value)
    z = noise(10)
    expected = averaged(z, training=mode == "batch_stats")
    np.testing.assert_allclose(model.generate(z), expected, rtol=1e-5, atol=1e-6)
    assert np.abs(np.asarray(model.generate(z))
                  - np.asarray(sampling.generate(model.generator, z, mode))).max() > 1e-4


def test_unknown_sampling_mode_is_refused(tiny_models):
    with pytest.raises(ValueError, match="Unknown sampling mode 'running'"):
        RobustGAN(*tiny_models, sampling="running")
