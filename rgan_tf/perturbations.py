"""Worst-case perturbation directions, as pure functions (the template is cleverhans'
`optimize_linear`).

Given the gradient `g` of a loss with respect to a batch of inputs, the unit direction `r` that
raises the linearized loss most, `argmax_{||r||_p = 1} <g, r>`, is per sample:
  - L2:   `g / ||g||_2`                       (the paper's default, Algorithm 1)
  - Linf: `sign(g)`
  - L1:   a signed one-hot at the largest `|g|` (ties share the unit mass)
Norms are taken per sample over all non-batch axes, never over the batch. The result is wrapped
in `tf.stop_gradient`: the update treats the direction as a constant, as adversarial training does.
"""
import tensorflow as tf

NORMS = ("l2", "l1", "linf")


def check_norm(norm):
    if norm not in NORMS:
        raise ValueError(f"Unknown perturbation norm {norm!r}; choose one of {NORMS}.")


def _sample_axes(tensor):
    return list(range(1, tensor.shape.rank))


def per_sample_norm(tensor, norm="l2"):
    """The `norm` of each sample of `tensor` `[B, ...]`, shape `[B]`."""
    check_norm(norm)
    tensor = tf.cast(tensor, tf.float32)
    axes = _sample_axes(tensor)
    if norm == "l2":
        return tf.sqrt(tf.reduce_sum(tf.square(tensor), axis=axes))
    if norm == "l1":
        return tf.reduce_sum(tf.abs(tensor), axis=axes)
    return tf.reduce_max(tf.abs(tensor), axis=axes)


def worst_case_direction(gradient, norm="l2"):
    """Per-sample unit direction of steepest ascent for a loss whose input gradient is `gradient`.

    Args:
      gradient: `[B, ...]` gradient of the loss with respect to the inputs. Its overall scale
        (batch averaging, replica scaling, mixed-precision loss scaling) does not matter.
      norm: "l2", "l1" or "linf".

    Returns:
      float32 `[B, ...]`, each sample of unit `norm` (zero where the gradient is zero or not
      finite), with gradients stopped.
    """
    check_norm(norm)
    g = tf.cast(gradient, tf.float32)
    g = tf.where(tf.math.is_finite(g), g, tf.zeros_like(g))
    axes = _sample_axes(g)
    if norm == "l2":
        squared = tf.reduce_sum(tf.square(g), axis=axes, keepdims=True)
        direction = g * tf.math.rsqrt(tf.maximum(squared, 1e-30))
        direction = tf.where(squared > 0, direction, tf.zeros_like(direction))
    elif norm == "linf":
        direction = tf.sign(g)
    else:
        magnitude = tf.abs(g)
        peak = tf.reduce_max(magnitude, axis=axes, keepdims=True)
        is_peak = tf.cast((magnitude == peak) & (peak > 0), tf.float32)
        count = tf.maximum(tf.reduce_sum(is_peak, axis=axes, keepdims=True), 1.0)
        direction = tf.sign(g) * is_peak / count
    return tf.stop_gradient(direction)


def random_direction(noise, norm="l2"):
    """A random unit direction per sample, for the paper's "random noise" ablation.

    `noise` is standard normal `[B, ...]`; the direction is what `worst_case_direction` makes of
    it, so it has the same norm as the worst case but ignores the loss: uniform on the sphere for
    L2, random signs for Linf, a random signed coordinate for L1.
    """
    return worst_case_direction(noise, norm)
