"""The loss families on fixed logits, against hand-computed values."""
import numpy as np
import pytest
import tensorflow as tf

from rgan_tf import losses

LOGITS = np.array([-1.0, 0.0, 2.0], np.float32)
LOG2 = np.log(2.0)


class LossFamilyChecks:
    """Shared checks; each family pins its expected per-sample values."""
    family = None
    real = fake = generator = None

    def test_values(self):
        family = self.family()
        np.testing.assert_allclose(family.real(LOGITS), self.real, rtol=1e-6)
        np.testing.assert_allclose(family.fake(LOGITS), self.fake, rtol=1e-6)
        np.testing.assert_allclose(family.generator(LOGITS), self.generator, rtol=1e-6)

    def test_accepts_column_logits(self):
        family = self.family()
        np.testing.assert_allclose(family.real(LOGITS[:, None]), self.real, rtol=1e-6)

    def test_rejects_other_shapes(self):
        with pytest.raises(ValueError, match="logits of shape"):
            self.family().real(tf.zeros([2, 2, 1]))


class TestNonSaturating(LossFamilyChecks):
    family = staticmethod(losses.non_saturating_loss)
    # softplus(-l) = log(1 + e^-l); softplus(l) = log(1 + e^l)
    real = [np.log(1 + np.e), LOG2, np.log(1 + np.exp(-2.0))]
    fake = [np.log(1 + np.exp(-1.0)), LOG2, np.log(1 + np.exp(2.0))]
    generator = real


class TestWasserstein(LossFamilyChecks):
    family = staticmethod(losses.wasserstein_loss)
    real = [1.0, 0.0, -2.0]
    fake = [-1.0, 0.0, 2.0]
    generator = [1.0, 0.0, -2.0]


class TestHinge(LossFamilyChecks):
    family = staticmethod(losses.hinge_loss)
    real = [2.0, 1.0, 0.0]
    fake = [0.0, 1.0, 3.0]
    generator = [1.0, 0.0, -2.0]


def test_non_saturating_matches_sigmoid_cross_entropy():
    family = losses.non_saturating_loss()
    logits = tf.constant(LOGITS)
    expected_real = tf.nn.sigmoid_cross_entropy_with_logits(tf.ones_like(logits), logits)
    expected_fake = tf.nn.sigmoid_cross_entropy_with_logits(tf.zeros_like(logits), logits)
    np.testing.assert_allclose(family.real(logits), expected_real, rtol=1e-6)
    np.testing.assert_allclose(family.fake(logits), expected_fake, rtol=1e-6)


class TestNonSaturatingHalvedDiscriminator(LossFamilyChecks):
    # gan_cifar.py MODE='dcgan' (lines 141-144): disc_cost = (CE(D(fake), 0) + CE(D(real), 1)) / 2,
    # gen_cost = CE(D(fake), 1) unhalved. Hand values: half of log(1 + e^-l) and log(1 + e^l).
    family = staticmethod(lambda: losses.non_saturating_loss(discriminator_scale=0.5))
    real = [0.5 * np.log(1 + np.e), 0.5 * LOG2, 0.5 * np.log(1 + np.exp(-2.0))]
    fake = [0.5 * np.log(1 + np.exp(-1.0)), 0.5 * LOG2, 0.5 * np.log(1 + np.exp(2.0))]
    generator = [np.log(1 + np.e), LOG2, np.log(1 + np.exp(-2.0))]


def test_halved_discriminator_cost_is_gan_cifars_disc_cost():
    # The batch cost the model forms, mean(real) + mean(fake), equals the reference's expression.
    real_logits = tf.constant([0.3, -1.2, 2.5])
    fake_logits = tf.constant([-0.7, 0.4, 1.9])
    family = losses.non_saturating_loss(discriminator_scale=0.5)
    ours = tf.reduce_mean(family.real(real_logits)) + tf.reduce_mean(family.fake(fake_logits))
    reference = (tf.reduce_mean(tf.nn.sigmoid_cross_entropy_with_logits(
        tf.zeros_like(fake_logits), fake_logits)) + tf.reduce_mean(
        tf.nn.sigmoid_cross_entropy_with_logits(tf.ones_like(real_logits), real_logits))) / 2.0
    np.testing.assert_allclose(ours, reference, rtol=1e-6)


@pytest.mark.parametrize("scale", [0.0, -0.5, float("nan"), float("inf"), True, "0.5"])
def test_non_saturating_rejects_bad_discriminator_scales(scale):
    with pytest.raises(ValueError, match="discriminator_scale"):
        losses.non_saturating_loss(discriminator_scale=scale)
