"""BWGAN's penalty, its Sobolev filter and data-derived constants, and its loss family."""
import numpy as np
import pytest
import tensorflow as tf

from rgan_tf import losses
from rgan_tf import penalties


def linear_critic(weights):
    flat = tf.reshape(tf.constant(weights, tf.float32), [-1])
    return lambda images: tf.reduce_sum(tf.reshape(images, [tf.shape(images)[0], -1]) * flat, 1)


def small_critic():
    """A nonlinear critic whose input gradient varies from point to point."""
    kernel = tf.constant(np.random.RandomState(0).normal(size=[3, 3, 2, 4]), tf.float32)
    return lambda x: tf.reduce_sum(tf.tanh(tf.nn.conv2d(x, kernel, 1, "SAME")), axis=[1, 2, 3])


def test_sobolev_filter_matches_hand_computed_fourier_multipliers():
    # On a 4x4 grid the frequency of index k is min(k, 4 - k) / 2: 0, 0.5, 1, 0.5. A constant
    # (xi = 0) is kept; cos(pi w / 2) (xi = (0, 0.5)) is scaled by (1 + 5 * 0.25)^(s/2); the
    # checkerboard cos(pi (h + w)) (xi = (1, 1)) by (1 + 5 * 2)^(s/2).
    h, w = np.meshgrid(np.arange(4), np.arange(4), indexing="ij")
    const, wave, checker = np.ones([4, 4]), np.cos(np.pi * w / 2), np.cos(np.pi * (h + w))
    image = (0.3 * const + wave - 0.5 * checker).astype(np.float32)[None, :, :, None]
    for s in (2.0, -1.0):
        expected = 0.3 * const + 2.25 ** (s / 2) * wave - 0.5 * 11.0 ** (s / 2) * checker
        got = penalties.sobolev_filter(image, s=s, c=5.0)
        np.testing.assert_allclose(got[0, :, :, 0], expected, atol=1e-5)


def test_sobolev_filter_handles_channels_and_rectangles_and_inverts():
    x = tf.random.normal([2, 6, 8, 3], seed=0)
    # Each channel is filtered alone: filtering a channel slice gives that slice of the result.
    y = penalties.sobolev_filter(x, s=1.5, c=5.0)
    np.testing.assert_allclose(penalties.sobolev_filter(x[..., 1:2], s=1.5), y[..., 1:2],
                               atol=1e-5)
    np.testing.assert_allclose(penalties.sobolev_filter(y, s=-1.5, c=5.0), x, atol=1e-4)
    np.testing.assert_array_equal(penalties.sobolev_filter(x, s=0.0), x)


@pytest.mark.parametrize("p,q", [(2.0, 2.0), (1.0, np.inf), (np.inf, 1.0), (4.0, 4.0 / 3.0)])
def test_dual_exponent_and_lp_norms(p, q):
    assert penalties.dual_exponent(p) == pytest.approx(q)
    x = np.random.RandomState(1).normal(size=[3, 2, 2, 2]).astype(np.float32)
    flat = x.reshape(3, -1)
    expected = np.linalg.norm(flat, ord=q, axis=1)
    np.testing.assert_allclose(penalties.lp_norms(x, q), expected, rtol=1e-5)


def test_dual_exponent_rejects_p_below_one():
    with pytest.raises(ValueError, match="p must be >= 1"):
        penalties.dual_exponent(0.5)


@pytest.mark.parametrize("weight,gamma", [(10.0, 1.0), (3.0, 2.5)])
def test_bwgan_penalty_at_s0_p2_is_wgan_gp_up_to_scale(weight, gamma):
    # weight * (||g|| / gamma - 1)^2 = (weight / gamma^2) * (||g|| - gamma)^2.
    critic = small_critic()
    real = tf.random.normal([4, 5, 5, 2], seed=2)
    fake = tf.random.normal([4, 5, 5, 2], seed=3)
    alpha = tf.random.uniform([4], seed=4)
    bw = penalties.bwgan_penalty(critic, real, fake, alpha, weight=weight, gamma=gamma)
    gp = penalties.gradient_penalty(critic, real, fake, alpha, weight=weight / gamma ** 2,
                                    target=gamma)
    assert float(gp) > 1e-3
    np.testing.assert_allclose(bw, gp, rtol=1e-4)


def test_bwgan_penalty_uses_the_filtered_dual_norm():
    # A linear critic <w, x> has gradient w everywhere: penalty = weight (||F_{-s} w||_q / g - 1)^2.
    weights = np.random.RandomState(5).normal(size=[4, 4, 1]).astype(np.float32)
    real, fake = tf.zeros([2, 4, 4, 1]), tf.ones([2, 4, 4, 1])
    value = penalties.bwgan_penalty(linear_critic(weights), real, fake, tf.fill([2], 0.5),
                                    weight=2.0, gamma=3.0, p=3.0, s=1.0, c=5.0)
    filtered = penalties.sobolev_filter(weights[None], s=-1.0, c=5.0).numpy().ravel()
    dual = np.sum(np.abs(filtered) ** 1.5) ** (1 / 1.5)
    np.testing.assert_allclose(value, 2.0 * (dual / 3.0 - 1.0) ** 2, rtol=1e-4)


def test_bwgan_constants_follow_the_reference():
    images = tf.random.uniform([8, 4, 4, 3], -1.0, 1.0, seed=6)
    lam, gamma = penalties.bwgan_constants(images)  # p = 2, s = 0: both are mean ||x||_2
    norms = np.linalg.norm(images.numpy().reshape(8, -1), axis=1)
    np.testing.assert_allclose([lam, gamma], [norms.mean()] * 2, rtol=1e-5)
    lam, gamma = penalties.bwgan_constants(images, p=4.0, s=1.0, c=5.0)
    filtered = penalties.sobolev_filter(images, s=1.0, c=5.0).numpy().reshape(8, -1)
    np.testing.assert_allclose(lam, np.linalg.norm(filtered, 4, axis=1).mean(), rtol=1e-5)
    np.testing.assert_allclose(gamma, np.linalg.norm(filtered, 4 / 3, axis=1).mean(), rtol=1e-5)


def test_bwgan_penalty_estimates_missing_constants_from_the_real_batch():
    critic = small_critic()
    real = tf.random.uniform([4, 5, 5, 2], -1.0, 1.0, seed=7)
    fake = tf.random.normal([4, 5, 5, 2], seed=8)
    alpha = tf.random.uniform([4], seed=9)
    lam, gamma = penalties.bwgan_constants(real)
    np.testing.assert_allclose(
        penalties.bwgan_penalty(critic, real, fake, alpha),
        penalties.bwgan_penalty(critic, real, fake, alpha, weight=float(lam), gamma=float(gamma)),
        rtol=1e-5)


def test_bwgan_penalty_runs_under_xla_and_trains_the_critic():
    kernel = tf.Variable(tf.random.normal([3, 3, 1, 2], seed=10))

    def critic(x):
        return tf.reduce_sum(tf.tanh(tf.nn.conv2d(x, kernel, 1, "SAME")), axis=[1, 2, 3])

    @tf.function(jit_compile=True)
    def step(real, fake, alpha):
        with tf.GradientTape() as tape:
            value = penalties.bwgan_penalty(critic, real, fake, alpha, weight=1.0, gamma=2.0,
                                            s=1.0)
        return value, tape.gradient(value, kernel)

    value, grad = step(tf.random.normal([2, 8, 8, 1]), tf.random.normal([2, 8, 8, 1]),
                       tf.fill([2], 0.3))
    assert np.isfinite(value.numpy()) and value > 0
    assert np.all(np.isfinite(grad.numpy())) and np.any(grad.numpy() != 0)


def test_bwgan_penalty_gives_no_gradient_to_its_inputs():
    real = tf.random.normal([2, 4, 4, 2])
    fake = tf.random.normal([2, 4, 4, 2])
    with tf.GradientTape() as tape:
        tape.watch([real, fake])
        value = penalties.bwgan_penalty(small_critic(), real, fake, tf.fill([2], 0.5), s=1.0)
    assert all(g is None for g in tape.gradient(value, [real, fake]))


def test_bwgan_penalty_rejects_bad_constants():
    args = (lambda x: x, tf.zeros([1, 2, 2, 1]), tf.zeros([1, 2, 2, 1]), tf.zeros([1]))
    with pytest.raises(ValueError, match="weight must be >= 0"):
        penalties.bwgan_penalty(*args, weight=-1.0, gamma=1.0)
    with pytest.raises(ValueError, match="gamma must be > 0"):
        penalties.bwgan_penalty(*args, weight=1.0, gamma=0.0)


def test_banach_wasserstein_loss_is_the_scaled_wasserstein_loss_with_drift():
    family = losses.banach_wasserstein_loss(gamma=4.0, drift=0.5)
    logits = tf.constant([[2.0], [-1.0]])
    np.testing.assert_allclose(family.real(logits), [-0.5 + 2.0, 0.25 + 0.5])
    np.testing.assert_allclose(family.fake(logits), [0.5, -0.25])
    np.testing.assert_allclose(family.generator(logits), [-0.5, 0.25])
    with pytest.raises(ValueError, match="gamma must be > 0"):
        losses.banach_wasserstein_loss(gamma=0.0)


def test_constants_tool_measures_the_mean_image_norm():
    # tools/bwgan_constants.py: at p = 2, s = 0 both constants are the mean L2 norm of the images,
    # here the first 300 digits (fixed order) at 32x32, as dataset() yields them.
    import subprocess
    import sys

    from rgan_tf import data
    from rgan_tf import launch
    images = np.concatenate([b.numpy() for b in data.dataset(
        "digits", batch_size=100, split="all", image_size=32, shuffle=False, repeat=False)])[:300]
    expected = np.linalg.norm(images.reshape(300, -1), axis=1).mean()
    result = subprocess.run(
        [sys.executable, launch.repo_path("tools/bwgan_constants.py"), "--source=digits",
         "--split=all", "--image_size=32", "--num_images=300", "--batch_size=128"],
        capture_output=True, text=True, timeout=300)
    assert result.returncode == 0, result.stderr[-2000:]
    lines = result.stdout.splitlines()
    assert "300 images" in lines[0]
    bound = {line.split(" = ")[0]: float(line.split(" = ")[1]) for line in lines[1:]}
    assert set(bound) == {"bwgan_penalty.weight", "bwgan_penalty.gamma",
                          "banach_wasserstein_loss.gamma"}
    for value in bound.values():
        assert value == pytest.approx(expected, abs=0.01)


def test_constants_tool_measures_dequantized_images_when_asked(tmp_path):
    # BWGAN estimates its constants on its dequantized real batches (adler-j/tensordata
    # cifar10.py lines 163-164): --dequantize reads the images as dataset(dequantize=True).
    import subprocess
    import sys

    from rgan_tf import data
    from rgan_tf import launch
    levels = np.random.default_rng(0).integers(0, 256, size=(40, 8, 8, 3), dtype=np.uint8)
    np.savez(tmp_path / "images.npz", images=levels)
    source = f"npz:{tmp_path / 'images.npz'}"

    def expected(dequantize):
        images = np.concatenate([b.numpy() for b in data.dataset(
            source, batch_size=16, shuffle=False, repeat=False, drop_remainder=False,
            dequantize=dequantize, seed=3)])
        return np.linalg.norm(images.reshape(40, -1), axis=1).mean()

    result = subprocess.run(
        [sys.executable, launch.repo_path("tools/bwgan_constants.py"), f"--source={source}",
         "--num_images=40", "--batch_size=16", "--seed=3", "--dequantize"],
        capture_output=True, text=True, timeout=300)
    assert result.returncode == 0, result.stderr[-2000:]
    assert "dequantized, 40 images" in result.stdout.splitlines()[0]
    measured = float(result.stdout.splitlines()[1].split(" = ")[1])
    assert measured == pytest.approx(expected(True), abs=0.01)
    assert abs(expected(True) - expected(False)) > 0.02  # the two readings differ here
