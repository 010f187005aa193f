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
