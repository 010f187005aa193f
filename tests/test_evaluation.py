"""rgan_tf.evaluation's noise and measures: worst-case noise raises the generator's loss more than
random noise of the same radius; the paired noise sources; the discriminator's gap and
sensitivity; metric names; the resource meter; real images read as stored. (Run folders:
test_assess.py; during training: test_metrics_callback.py.)"""
import gin
import keras
import numpy as np
import pytest
import tensorflow as tf

from conftest import LATENT_DIM, tiny_discriminator, tiny_generator
from rgan_tf import perturbations
from rgan_tf.data import arrays
from rgan_tf.evaluation import measures
from rgan_tf.evaluation import noise
from rgan_tf.evaluation import resources
from rgan_tf.robust_gan import RobustGAN
from rgan_tf.run import operative_config


def tiny_gan(num_classes=None, seed=0, **kwargs):
    keras.utils.set_random_seed(seed)
    return RobustGAN(tiny_generator(num_classes=num_classes),
                     tiny_discriminator(num_classes=num_classes), num_classes=num_classes,
                     **kwargs)


# --- noise and perturbations ----------------------------------------------------------------


@pytest.mark.parametrize("num_classes", [None, 3])
def test_worst_case_noise_raises_the_generator_loss_more_than_random_noise(num_classes):
    model = tiny_gan(num_classes)
    losses = measures.generator_loss_under_noise(model, 256, [0.5, 2.0], batch_size=64)
    for eps in (0.5, 2.0):
        worst = losses[f"g_loss_worst_eps{eps:g}"] - losses["g_loss"]
        random = losses[f"g_loss_random_eps{eps:g}"] - losses["g_loss"]
        assert worst > 0 and worst > 3 * abs(random), (eps, worst, random)
    # A larger radius raises it further.
    assert losses["g_loss_worst_eps2"] > losses["g_loss_worst_eps0.5"]


def test_worst_case_noise_is_the_ascent_direction_at_radius_eps():
    model = tiny_gan()
    z = tf.random.stateless_normal([16, LATENT_DIM], [1, 2])
    moved = noise.worst_case_noise(model, z, 0.3)
    np.testing.assert_allclose(perturbations.per_sample_norm(moved - z).numpy(), 0.3, rtol=1e-4)
    with tf.GradientTape() as tape:
        tape.watch(z)
        loss = tf.reduce_sum(noise.generator_losses(model, z))
    gradient = tape.gradient(loss, z).numpy()
    direction = (moved - z).numpy() / 0.3
    np.testing.assert_allclose(direction, gradient / np.linalg.norm(
        gradient, axis=1, keepdims=True), atol=1e-4)
    # Linf: every coordinate moves by eps.
    moved = noise.worst_case_noise(model, z, 0.1, norm="linf")
    np.testing.assert_allclose(np.abs((moved - z).numpy()), 0.1, rtol=1e-4)


def test_noise_sources_share_their_base_noise():
    model = tiny_gan()
    normal = noise.NoiseImages(model, "normal", seed=3)
    worst_zero = noise.NoiseImages(model, "worst", 0.0, seed=3)
    worst = noise.NoiseImages(model, "worst", 0.5, seed=3)
    random = noise.NoiseImages(model, "random", 0.5, seed=3)
    first = normal(10).numpy()
    np.testing.assert_allclose(worst_zero(10).numpy(), first, atol=1e-6)
    assert not np.allclose(worst(10).numpy(), first)
    assert not np.allclose(random(10).numpy(), first)
    assert not np.allclose(normal(10).numpy(), first)  # the next call: fresh noise
    z, _ = normal.noise(10, 0)
    z_random, _ = random.latent(10, 0)
    np.testing.assert_allclose(perturbations.per_sample_norm(z_random - z).numpy(), 0.5,
                               rtol=1e-4)
    with pytest.raises(ValueError, match="noise mode"):
        noise.NoiseImages(model, "adversarial")
    with pytest.raises(ValueError, match="radius"):
        noise.NoiseImages(model, "worst", -1.0)


def test_discriminator_gap_and_sensitivity():
    model = tiny_gan()
    rng = np.random.default_rng(0)
    train = rng.uniform(-1, 1, (50, 8, 8, 1)).astype(np.float32)
    heldout = rng.uniform(-1, 1, (30, 8, 8, 1)).astype(np.float32)
    record = measures.discriminator_generalization(model, train, heldout, [0.5, 2.0],
                                                     batch_size=16)
    # By hand: the non-saturating loss on real images, softplus(-D(x)), in numpy.
    def loss(images):
        return float(np.mean(np.logaddexp(0.0, -model.discriminator(images).numpy())))

    def worst_case(images, eps):  # x + eps * (per-sample unit gradient of softplus(-D(x)))
        images = tf.constant(images)
        with tf.GradientTape() as tape:
            tape.watch(images)
            total = tf.reduce_sum(tf.nn.softplus(-model.discriminator(images)))
        gradient = tape.gradient(total, images).numpy()
        norms = np.linalg.norm(gradient.reshape(len(gradient), -1), axis=1)
        return images.numpy() + eps * gradient / norms[:, None, None, None]

    assert record["d_loss_train"] == pytest.approx(loss(train), rel=1e-5)
    assert record["d_loss_heldout"] == pytest.approx(loss(heldout), rel=1e-5)
    assert record["d_gap"] == pytest.approx(loss(heldout) - loss(train), rel=1e-4, abs=1e-6)
    assert record["d_num_train"] == 50 and record["d_num_heldout"] == 30
    for eps in (0.5, 2.0):
        assert record[f"d_sensitivity_eps{eps:g}"] == pytest.approx(
            loss(worst_case(train, eps)) - loss(train), rel=1e-4, abs=1e-6)
    # The worst-case perturbation raises the loss, more at the larger radius.
    assert 0 < record["d_sensitivity_eps0.5"] < record["d_sensitivity_eps2"]
    no_heldout = measures.discriminator_generalization(model, train, None, [])
    assert set(no_heldout) == {"d_loss_train", "d_num_train"}
    # Conditional: labels go with the images.
    conditional = tiny_gan(num_classes=3)
    labels = np.arange(50, dtype=np.int32) % 3
    record = measures.discriminator_generalization(conditional, (train, labels),
                                                     (heldout, labels[:30]), [0.5])
    assert np.isfinite(record["d_gap"]) and record["d_sensitivity_eps0.5"] > 0


def test_real_images_are_read_without_the_training_dequantization(tmp_path):
    # `dataset.dequantize = True` in a config is a training option: the real images scored
    # (the discriminator's gap, FID statistics) are the data as stored, x / 127.5 - 1.
    levels = np.random.default_rng(0).integers(0, 256, size=(6, 4, 4, 3), dtype=np.uint8)
    np.savez(tmp_path / "real.npz", images=levels)
    source = f"npz:{tmp_path / 'real.npz'}"
    gin.parse_config([f"dataset.source = '{source}'", "dataset.dequantize = True"])
    images = arrays.load_images(source, "train", 6)
    expected = levels.astype(np.float32) / np.float32(127.5) - np.float32(1.0)
    np.testing.assert_allclose(np.sort(images.ravel()), np.sort(expected.ravel()), atol=1e-6)
    # A run's data settings, which the evaluation reads real data with, leave it out too.
    settings = operative_config.run_data_settings(
        {"dataset.source": source, "dataset.dequantize": True, "dataset.holdout": 2})
    assert settings == (source, None, {"holdout": 2})


def test_metric_names_carry_the_sample_count_and_the_radius():
    assert measures.metric_name("is", 2000) == "is2k"
    assert measures.metric_name("fid", 50000, "worst", 1.0) == "fid50k_worst_eps1"
    assert measures.metric_name("is", 100, "worst", 0.5) == "is100_worst_eps0.5"
    assert measures.sensitivity_name(2.3) == "d_sensitivity_eps2.3"


def test_resource_meter_sees_memory_allocated_inside_the_block():
    before_mib = resources._rss_bytes() / 2**20
    with resources.ResourceMeter() as meter:
        block = np.ones(200 * 2**20 // 8)  # 200 MiB, every page touched
    fields = meter.fields("eval")
    del block
    assert fields["eval_peak_rss_mib"] >= before_mib + 190
    assert fields["eval_seconds"] >= 0 and fields["eval_cpu_seconds"] >= 0
