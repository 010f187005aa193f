"""GAN loss families as pure functions of discriminator logits.

Every family is split into its three per-sample parts, because robust training needs them apart:
the worst-case real perturbation ascends `real`, the worst-case fake perturbation ascends `fake`,
and the worst-case noise ascends `generator` (see `docs` of `RobustGAN`). Each part maps logits
of shape `[B]` or `[B, 1]` to a per-sample loss of shape `[B]`; the model averages.
"""
import collections
import math

import gin
import tensorflow as tf

GANLoss = collections.namedtuple("GANLoss", ["real", "fake", "generator"])
GANLoss.__doc__ = """The three per-sample parts of a GAN loss family.

Attributes:
    real: logits on real images -> per-sample discriminator loss `[B]`.
    fake: logits on generated images -> per-sample discriminator loss `[B]`.
    generator: logits on generated images -> per-sample generator loss `[B]`.
"""


def _flat(logits):
    logits = tf.convert_to_tensor(logits)
    if logits.shape.rank == 2 and logits.shape[-1] == 1:
        logits = logits[:, 0]
    if logits.shape.rank != 1:
        raise ValueError(f"Expected logits of shape [B] or [B, 1], got {logits.shape}.")
    return tf.cast(logits, tf.float32)


# Non-saturating loss (Goodfellow et al. 2014, as used by DCGAN, Radford et al. 2016).
def non_saturating_real(logits):
    """`-log sigmoid(D(x)) = softplus(-D(x))`."""
    return tf.nn.softplus(-_flat(logits))


def non_saturating_fake(logits):
    """`-log(1 - sigmoid(D(G(z)))) = softplus(D(G(z)))`."""
    return tf.nn.softplus(_flat(logits))


def non_saturating_generator(logits):
    """`-log sigmoid(D(G(z))) = softplus(-D(G(z)))`: the non-saturating generator loss."""
    return tf.nn.softplus(-_flat(logits))


# Wasserstein loss (Arjovsky et al. 2017; with gradient penalty, Gulrajani et al. 2017).
def wasserstein_real(logits):
    """`-D(x)`: the critic raises its score on real images."""
    return -_flat(logits)


def wasserstein_fake(logits):
    """`D(G(z))`: the critic lowers its score on generated images."""
    return _flat(logits)


def wasserstein_generator(logits):
    """`-D(G(z))`."""
    return -_flat(logits)


# Hinge loss (Lim & Ye 2017; Miyato et al. 2018, SNGAN).
def hinge_real(logits):
    """`max(0, 1 - D(x))`."""
    return tf.nn.relu(1.0 - _flat(logits))


def hinge_fake(logits):
    """`max(0, 1 + D(G(z)))`."""
    return tf.nn.relu(1.0 + _flat(logits))


def hinge_generator(logits):
    """`-D(G(z))`."""
    return -_flat(logits)


@gin.configurable
def non_saturating_loss(discriminator_scale=1.0):
    """DCGAN's loss family: cross-entropy for D, non-saturating `-log D(G(z))` for G.

    Args:
        discriminator_scale: factor on the discriminator's two terms, `real` and `fake` (the
            generator's term is unscaled). 1 is DCGAN's `L_real + L_fake`; 0.5 is WGAN-GP's
            `MODE='dcgan'` (igul222/improved_wgan_training `gan_cifar.py`, lines 141-144:
            `disc_cost /= 2.`), the DCGAN baseline of the Robust GAN paper. A robust
            discriminator term uses the same scaled parts, so it stays relative to the baseline.

    Returns:
        A `GANLoss`: `real = s softplus(-D(x))`, `fake = s softplus(D(x~))`,
        `generator = softplus(-D(G(z)))` with `s = discriminator_scale`.

    Raises:
        ValueError: `discriminator_scale` is not a finite number > 0.
    """
    if (isinstance(discriminator_scale, bool) or not isinstance(discriminator_scale, (int, float))
            or not math.isfinite(discriminator_scale) or discriminator_scale <= 0):
        raise ValueError("non_saturating_loss discriminator_scale must be a finite number > 0, "
                         f"got {discriminator_scale!r}.")
    if discriminator_scale == 1:
        return GANLoss(non_saturating_real, non_saturating_fake, non_saturating_generator)
    scale = float(discriminator_scale)

    def scaled_non_saturating_real(logits):
        return scale * non_saturating_real(logits)

    def scaled_non_saturating_fake(logits):
        return scale * non_saturating_fake(logits)

    return GANLoss(scaled_non_saturating_real, scaled_non_saturating_fake,
                   non_saturating_generator)


@gin.configurable
def wasserstein_loss():
    """WGAN's loss family; pair it with `gradient_penalty` for WGAN-GP."""
    return GANLoss(wasserstein_real, wasserstein_fake, wasserstein_generator)


@gin.configurable
def hinge_loss():
    """SNGAN's loss family: hinge for D, `-D(G(z))` for G."""
    return GANLoss(hinge_real, hinge_fake, hinge_generator)


# Banach Wasserstein loss (Adler & Lunz 2018, adler-j/bwgan): the Wasserstein loss divided by the
# critic's target dual norm gamma, plus a small drift term 1e-5 * D(x)^2 on real logits that keeps
# the critic's values near 0. Pair with `rgan_tf.penalties.bwgan_penalty(gamma=gamma)`.
@gin.configurable
def banach_wasserstein_loss(gamma=1.0, drift=1e-5):
    """BWGAN's loss family: `real = -D(x)/gamma + drift D(x)^2`, `fake = D(x~)/gamma`,
    `generator = -D(G(z))/gamma` (the reference's signs flipped to this module's convention).

    Args:
        gamma: the critic's target dual norm, as bound for `bwgan_penalty` (estimate it with
            `rgan_tf.penalties.bwgan_constants`).
        drift: weight of the drift term on real logits (1e-5 in the reference).
    """
    if not gamma > 0:
        raise ValueError(f"banach_wasserstein_loss gamma must be > 0, got {gamma}.")
    if not drift >= 0:
        raise ValueError(f"banach_wasserstein_loss drift must be >= 0, got {drift}.")
    gamma, drift = float(gamma), float(drift)

    def banach_wasserstein_real(logits):
        logits = _flat(logits)
        return -logits / gamma + drift * tf.square(logits)

    def banach_wasserstein_fake(logits):
        return _flat(logits) / gamma

    def banach_wasserstein_generator(logits):
        return -_flat(logits) / gamma

    return GANLoss(banach_wasserstein_real, banach_wasserstein_fake, banach_wasserstein_generator)
