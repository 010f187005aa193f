"""Worst-case directions: unit norm per sample, steepest ascent, matching finite differences."""
import numpy as np
import pytest
import tensorflow as tf

from rgan_tf import perturbations

NORMS = ["l2", "l1", "linf"]


def loss_per_sample(x):
    """A smooth, non-linear per-sample loss `[B, 3, 3, 2] -> [B]`."""
    return tf.reduce_sum(tf.sin(x) + 0.3 * tf.square(x), axis=[1, 2, 3])


def input_gradient(x):
    with tf.GradientTape() as tape:
        tape.watch(x)
        loss = tf.reduce_mean(loss_per_sample(x))
    return tape.gradient(loss, x)


@pytest.fixture
def batch():
    return tf.random.stateless_normal([5, 3, 3, 2], [1, 2])


@pytest.mark.parametrize("norm", NORMS)
def test_direction_has_unit_norm_per_sample(batch, norm):
    direction = perturbations.worst_case_direction(input_gradient(batch), norm)
    np.testing.assert_allclose(perturbations.per_sample_norm(direction, norm), 1.0, rtol=1e-5)


def test_normalization_is_per_sample_not_per_batch():
    gradient = tf.concat([tf.fill([1, 2, 2, 1], 100.0), tf.fill([1, 2, 2, 1], 0.01)], 0)
    direction = perturbations.worst_case_direction(gradient, "l2")
    np.testing.assert_allclose(direction, tf.fill([2, 2, 2, 1], 0.5), rtol=1e-5)


def test_l2_direction_matches_finite_difference_gradient(batch):
    direction = perturbations.worst_case_direction(input_gradient(batch), "l2").numpy()
    x = batch.numpy().astype(np.float64)
    numeric = np.zeros_like(x)
    step = 1e-3
    for index in np.ndindex(*x.shape[1:]):
        for sign in (1, -1):
            shifted = x.copy()
            shifted[(slice(None),) + index] += sign * step
            numeric[(slice(None),) + index] += sign * loss_per_sample(
                tf.constant(shifted, tf.float32)).numpy() / (2 * step)
    numeric /= np.linalg.norm(numeric.reshape(len(x), -1), axis=1)[:, None, None, None]
    np.testing.assert_allclose(direction, numeric, atol=2e-3)


@pytest.mark.parametrize("norm", NORMS)
def test_worst_case_raises_loss_more_than_random(batch, norm):
    eps = 0.05
    clean = loss_per_sample(batch)
    worst = loss_per_sample(batch + eps * perturbations.worst_case_direction(
        input_gradient(batch), norm))
    gains = []
    for seed in range(20):
        noise = tf.random.stateless_normal(batch.shape, [seed, 7])
        random = loss_per_sample(batch + eps * perturbations.random_direction(noise, norm))
        gains.append(random - clean)
    assert np.all(worst - clean > 0)
    # No random direction of the same norm does better (an L1 one-hot may tie), and on
    # average random directions do much worse.
    assert np.all((worst - clean).numpy() >= np.max(gains, axis=0) - 1e-6)
    assert np.all((worst - clean).numpy() > np.mean(gains, axis=0) + 1e-3)


@pytest.mark.parametrize("norm", NORMS)
def test_random_direction_has_unit_norm_and_ignores_the_loss(norm):
    noise = tf.random.stateless_normal([4, 3, 3, 2], [3, 4])
    direction = perturbations.random_direction(noise, norm)
    np.testing.assert_allclose(perturbations.per_sample_norm(direction, norm), 1.0, rtol=1e-5)
    other = perturbations.random_direction(tf.random.stateless_normal([4, 3, 3, 2], [5, 6]), norm)
    assert not np.allclose(direction, other)


def test_linf_is_sign_and_l1_is_signed_one_hot():
    gradient = tf.constant([[[-3.0, 1.0, 2.0]]])[..., None]  # [1, 1, 3, 1]
    np.testing.assert_array_equal(
        perturbations.worst_case_direction(gradient, "linf")[0, 0, :, 0], [-1, 1, 1])
    np.testing.assert_array_equal(
        perturbations.worst_case_direction(gradient, "l1")[0, 0, :, 0], [-1, 0, 0])


def test_zero_or_nonfinite_gradient_gives_zero_direction():
    gradient = tf.stack([tf.zeros([2, 2, 1]), tf.fill([2, 2, 1], np.nan)])
    for norm in NORMS:
        np.testing.assert_array_equal(perturbations.worst_case_direction(gradient, norm), 0.0)


def test_direction_is_a_constant_for_the_update(batch):
    with tf.GradientTape() as tape:
        tape.watch(batch)
        direction = perturbations.worst_case_direction(batch * 2.0, "l2")
        total = tf.reduce_sum(direction)
    assert tape.gradient(total, batch) is None


def test_unknown_norm_is_rejected():
    with pytest.raises(ValueError, match="Unknown perturbation norm 'l3'"):
        perturbations.worst_case_direction(tf.zeros([1, 2]), "l3")


def test_logit_direction_recovers_the_logit_gradient_from_a_loss_gradient():
    # Logit D(x) = sum(sin x) per sample; losses of D with slopes of both signs and zero.
    x = tf.random.stateless_normal([4, 3, 3, 2], [3, 4])
    with tf.GradientTape(persistent=True) as tape:
        tape.watch(x)
        logits = tf.reduce_sum(tf.sin(x), axis=[1, 2, 3])
        loss = tf.reduce_sum(tf.constant([2.0, -0.5, 0.0, 1.0]) * logits)
    loss_gradient, slope = tape.gradient(loss, [x, logits])
    logit_gradient = tape.gradient(logits, x)
    calls = []

    def logit_gradient_fn():
        calls.append(1)
        return logit_gradient

    for sign in (1, -1):
        direction = perturbations.logit_direction(loss_gradient, slope, logit_gradient_fn, sign)
        expected = perturbations.worst_case_direction(sign * logit_gradient)
        np.testing.assert_allclose(direction, expected, atol=1e-6)
    assert len(calls) == 2  # asked for, because sample 2's loss has no slope

    def unused():
        raise AssertionError("the logit gradient was computed although every slope is non-zero")

    nonzero = tf.constant([2.0, -0.5, 3.0, 1.0])
    direction = perturbations.logit_direction(
        logit_gradient * nonzero[:, None, None, None], nonzero, unused, -1, "linf")
    np.testing.assert_allclose(direction, perturbations.worst_case_direction(-logit_gradient,
                                                                             "linf"))
    # Not lazy (multi-replica steps): computed even when unused, with the same result.
    eager = perturbations.logit_direction(
        logit_gradient * nonzero[:, None, None, None], nonzero, lambda: logit_gradient, -1,
        "linf", lazy=False)
    np.testing.assert_allclose(eager, direction)
    with pytest.raises(ValueError, match="sign must be"):
        perturbations.logit_direction(loss_gradient, slope, unused, 0)
