"""Discriminator regularizers, as pure functions written with `GradientTape`.

A penalty has the signature `penalty(discriminator_fn, real, fake, alpha) -> scalar`, where
`discriminator_fn` maps images `[B, H, W, C]` to logits, `real` and `fake` are image batches of one
shape and `alpha` `[B]` holds the interpolation weights drawn U[0, 1] by the model. The returned
scalar is already weighted and averaged over the batch. (TF-GAN's penalty uses `tf.gradients`,
which fails eagerly; these run eagerly, under `tf.function` and under XLA.)
"""
import gin
import tensorflow as tf


def interpolate(real, fake, alpha):
    """Points on the segments between paired real and fake images: `real + alpha (fake - real)`.

    Inputs are treated as constants, so a penalty never leaks into the gradient that gives the
    worst-case directions of robust training.
    """
    real = tf.stop_gradient(tf.cast(real, tf.float32))
    fake = tf.stop_gradient(tf.cast(fake, tf.float32))
    alpha = tf.reshape(tf.cast(alpha, tf.float32), [-1] + [1] * (real.shape.rank - 1))
    return real + alpha * (fake - real)


def input_gradients(discriminator_fn, images):
    """Gradient of the summed logits with respect to each input image, shape of `images`."""
    with tf.GradientTape() as tape:
        tape.watch(images)
        total = tf.reduce_sum(tf.cast(discriminator_fn(images), tf.float32))
    return tape.gradient(total, images)


@gin.configurable(denylist=["discriminator_fn", "real", "fake", "alpha"])
def gradient_penalty(discriminator_fn, real, fake, alpha, weight=10.0, target=1.0):
    """WGAN-GP's two-sided penalty `weight * E[(||grad D(x^)||_2 - target)^2]` (Gulrajani et al. 2017).

    Args:
        discriminator_fn: images `[B, H, W, C]` -> logits `[B]` or `[B, 1]`.
        real: real images `[B, H, W, C]`.
        fake: generated images, same shape.
        alpha: interpolation weights `[B]`, drawn U[0, 1].
        weight: the penalty's coefficient (10 in WGAN-GP).
        target: the gradient norm the critic is pushed towards.

    Returns:
        A float32 scalar.
    """
    if weight < 0:
        raise ValueError(f"gradient_penalty weight must be >= 0, got {weight}.")
    grads = input_gradients(discriminator_fn, interpolate(real, fake, alpha))
    norms = tf.sqrt(tf.reduce_sum(tf.square(grads), axis=list(range(1, grads.shape.rank))) + 1e-12)
    return weight * tf.reduce_mean(tf.square(norms - target))
