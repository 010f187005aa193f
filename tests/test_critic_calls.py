"""Fused critic calls: real and fake (and their perturbed versions) scored in one call where the
critic scores samples independently, with the same training as separate calls; separate calls
kept for critics with batch norm or per-call state, where one call would change the result."""
import keras
import numpy as np
import pytest
import tensorflow as tf

from conftest import IMAGE_SHAPE, copy_model, tiny_discriminator, tiny_generator
from rgan_tf import critic_calls, losses, penalties
from rgan_tf.architectures import dcgan, wgan_gp
from rgan_tf.robust_gan import RobustGAN

NUM_CLASSES = 3


def _critic(normalization):
    image = keras.Input(IMAGE_SHAPE)
    h = keras.layers.Conv2D(4, 3, 2, padding="same")(image)
    if normalization == "batch":
        h = keras.layers.BatchNormalization()(h)
    elif normalization == "group":
        h = keras.layers.GroupNormalization(groups=1)(h)
    elif normalization == "spectral":
        h = keras.layers.SpectralNormalization(keras.layers.Conv2D(4, 3, padding="same"))(h)
    return keras.Model(image, keras.layers.Dense(1)(keras.layers.Flatten()(h)))


@pytest.mark.parametrize("normalization,independent", [
    (None, True), ("group", True), ("batch", False), ("spectral", False)])
def test_critics_with_batch_statistics_or_per_call_state_are_not_fused(normalization,
                                                                       independent):
    assert critic_calls.scores_samples_independently(_critic(normalization)) is independent


def test_shipped_critics_are_classified():
    assert critic_calls.scores_samples_independently(
        wgan_gp.wgan_gp_resnet_discriminator(dim=4))
    assert not critic_calls.scores_samples_independently(
        dcgan.dcgan_discriminator(width=4, channels=1))


def test_a_batch_norm_critic_scores_differently_in_one_call():
    # Why the detection matters: under batch norm one call of [real; fake] is another function.
    critic = _critic("batch")
    real, fake = tf.random.normal((4,) + IMAGE_SHAPE), tf.random.normal((4,) + IMAGE_SHAPE) + 2
    score = lambda images, labels: critic(images, training=True)  # noqa: E731
    fused = critic_calls.score_pair(score, real, fake, fused=True)
    separate = critic_calls.score_pair(score, real, fake, fused=False)
    assert not np.allclose(fused[0], separate[0], atol=1e-4)


def _gan(generator, discriminator, fused, **kwargs):
    model = RobustGAN(copy_model(generator), copy_model(discriminator), **kwargs)
    model.fused_critic_calls = fused
    # SGD: its step is proportional to the gradient. A WGAN critic's last bias gets a gradient
    # that is zero in exact arithmetic (it cancels between real and fake), so one call of
    # [real; fake] and two calls leave different rounding noise there, which Adam would turn into
    # a full step of one learning rate (seen: 0 against -2.4e-5).
    model.compile(keras.optimizers.SGD(0.1), keras.optimizers.SGD(0.1), jit_compile=False)
    return model


def _data(conditional, batches=2, batch=8):
    rng = np.random.default_rng(0)
    images = rng.uniform(-1, 1, (batches * batch,) + IMAGE_SHAPE).astype(np.float32)
    if not conditional:
        return tf.data.Dataset.from_tensor_slices(images).batch(batch)
    labels = (np.arange(batches * batch) % NUM_CLASSES).astype(np.int32)
    return tf.data.Dataset.from_tensor_slices((images, labels)).batch(batch)


@pytest.mark.parametrize("conditional,robust,penalty,d_steps", [
    (False, "both", None, 1),
    pytest.param(True, "both", penalties.gradient_penalty, 2, marks=pytest.mark.slow),
])
def test_fused_calls_train_as_separate_calls(conditional, robust, penalty, d_steps):
    keras.utils.set_random_seed(0)
    num_classes = NUM_CLASSES if conditional else None
    generator = tiny_generator(num_classes=num_classes)
    discriminator = tiny_discriminator(num_classes=num_classes)
    assert critic_calls.scores_samples_independently(discriminator)
    settings = dict(robust=robust, penalty=penalty, d_steps=d_steps, num_classes=num_classes,
                    loss=losses.wasserstein_loss() if penalty else losses.non_saturating_loss())
    fused = _gan(generator, discriminator, True, **settings)
    separate = _gan(generator, discriminator, False, **settings)
    data = _data(conditional, batch=8 * d_steps)
    initial = fused.get_weights()
    fused.fit(data, epochs=1, verbose=0)
    separate.fit(data, epochs=1, verbose=0)
    for a, b in zip(fused.get_weights(), separate.get_weights()):
        np.testing.assert_allclose(a, b, rtol=1e-4, atol=1e-5)
    assert any(not np.allclose(a, b) for a, b in zip(fused.get_weights(), initial))


def test_the_step_makes_one_critic_call_per_pair(monkeypatch):
    keras.utils.set_random_seed(0)
    calls = {}
    for fused in (True, False):
        model = _gan(tiny_generator(), tiny_discriminator(), fused, robust="both")
        model.run_eagerly = True
        count = []
        original = model.discriminate
        monkeypatch.setattr(model, "discriminate",
                            lambda *args, **kwargs: count.append(1) or original(*args, **kwargs))
        model.fit(_data(False, batches=1), epochs=1, verbose=0)
        calls[fused] = len(count)
    # Critic step: clean pair and perturbed pair; generator step: clean and perturbed.
    assert calls == {True: 4, False: 6}
