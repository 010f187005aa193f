"""The WGAN-GP penalty, on critics whose input gradient is known in closed form."""
import numpy as np
import pytest
import tensorflow as tf

from rgan_tf import penalties


def linear_critic(weights):
    flat = tf.reshape(tf.constant(weights, tf.float32), [-1])
    return lambda images: tf.reduce_sum(tf.reshape(images, [tf.shape(images)[0], -1]) * flat, 1)


def test_interpolate_endpoints_and_midpoint():
    real = tf.zeros([3, 2, 2, 1])
    fake = tf.ones([3, 2, 2, 1])
    mixed = penalties.interpolate(real, fake, tf.constant([0.0, 1.0, 0.25]))
    np.testing.assert_allclose(mixed[:, 0, 0, 0], [0.0, 1.0, 0.25])


@pytest.mark.parametrize("norm", [0.5, 1.0, 3.0])
def test_linear_critic_penalty_is_closed_form(norm):
    # D(x) = <w, x> has gradient w at every point: penalty = weight * (||w|| - 1)^2.
    weights = np.zeros([2, 2, 1], np.float32)
    weights[0, 0, 0] = norm
    real = tf.random.normal([4, 2, 2, 1])
    fake = tf.random.normal([4, 2, 2, 1])
    value = penalties.gradient_penalty(linear_critic(weights), real, fake,
                                       tf.random.uniform([4]), weight=10.0)
    np.testing.assert_allclose(value, 10.0 * (norm - 1.0) ** 2, rtol=1e-4, atol=1e-6)


def test_quadratic_critic_penalty_depends_on_interpolates():
    # D(x) = 0.5 ||x||^2 has gradient x; at alpha = 1 the interpolate is the fake image.
    critic = lambda images: 0.5 * tf.reduce_sum(tf.square(images), axis=[1, 2, 3])  # noqa: E731
    real = tf.zeros([2, 1, 1, 2])
    fake = tf.constant([[[[3.0, 4.0]]], [[[0.0, 2.0]]]])
    value = penalties.gradient_penalty(critic, real, fake, tf.ones([2]), weight=1.0)
    np.testing.assert_allclose(value, ((5 - 1) ** 2 + (2 - 1) ** 2) / 2, rtol=1e-5)


def test_penalty_runs_in_tf_function_and_xla():
    weights = np.full([2, 2, 1], 0.5, np.float32)  # ||w|| = 1: zero penalty
    fn = tf.function(lambda r, f, a: penalties.gradient_penalty(linear_critic(weights), r, f, a),
                     jit_compile=True)
    value = fn(tf.random.normal([3, 2, 2, 1]), tf.random.normal([3, 2, 2, 1]), tf.ones([3]))
    np.testing.assert_allclose(value, 0.0, atol=1e-5)


def test_penalty_gives_no_gradient_to_its_inputs():
    real = tf.random.normal([2, 2, 2, 1])
    fake = tf.random.normal([2, 2, 2, 1])
    critic = lambda images: tf.reduce_sum(tf.square(images), axis=[1, 2, 3])  # noqa: E731
    with tf.GradientTape() as tape:
        tape.watch([real, fake])
        value = penalties.gradient_penalty(critic, real, fake, tf.fill([2], 0.5))
    assert all(g is None for g in tape.gradient(value, [real, fake]))


def test_negative_weight_is_rejected():
    with pytest.raises(ValueError, match="weight must be >= 0"):
        penalties.gradient_penalty(lambda x: x, tf.zeros([1, 1]), tf.zeros([1, 1]),
                                   tf.zeros([1]), weight=-1.0)
