"""Worst-case perturbation directions, as pure functions (the template is cleverhans'
`optimize_linear`).

Given the gradient `g` of a loss with respect to a batch of inputs, the unit direction `r` that
raises the linearized loss most, `argmax_{||r||_p = 1} <g, r>`, is per sample:
  - L2:   `g / ||g||_2`                       (the paper's default, Algorithm 1)
  - Linf: `sign(g)`
  - L1:   a signed one-hot at the largest `|g|` (ties share the unit mass)
Norms are taken per sample over all non-batch axes, never over the batch. The result is wrapped
in `tf.stop_gradient`: the update treats the direction as a constant, as adversarial training does.

`logit_direction` gives the same for the discriminator's *logit* instead of a loss: it recovers
the logit's gradient from a loss gradient (cheap: the loss gradient comes out of the clean backward
pass) wherever the loss has a slope, and asks for the logit's own gradient only where it has none
(the hinge loss beyond its margin).
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


def logit_direction(loss_gradient, slope, logit_gradient, sign, norm="l2", lazy=True):
    """Per-sample unit direction that moves the logit D by `sign` (+1 raises it, -1 lowers it),
    from the input gradient of a loss of D.

    For a per-sample loss `l(D(x_i))`, `d l / d x_i = l'(D_i) dD_i/dx_i`, so where the slope
    `l'(D_i)` is not 0, `sign * sign(l'(D_i)) * loss_gradient_i` points along `sign * dD_i/dx_i`
    (for a loss that is monotone in D - non-saturating, Wasserstein, BWGAN - this is the loss's
    own ascent direction up to its sign). Where the slope is 0 (the hinge loss beyond its margin,
    or a sigmoid saturated in float32) the loss gradient is zero, and the gradient of the summed
    logits, `logit_gradient()`, is used instead; with `lazy` it is computed only if such a sample
    exists (in a `tf.cond`).

    Args:
      loss_gradient: `[B, ...]` gradient of the loss with respect to the inputs (any positive
        overall scale: batch mean, replica count, loss scaling).
      slope: `[B]` the loss's derivative with respect to each sample's logit (same scale).
      logit_gradient: callable returning the `[B, ...]` gradient of `sum_i D_i` with respect to
        the inputs.
      sign: +1 or -1.
      norm: "l2", "l1" or "linf".
      lazy: compute `logit_gradient()` only when needed. Pass False under a multi-replica
        strategy: replicas may disagree on the need, and the gradient may hold a cross-replica
        reduction (synchronized batch norm), which TensorFlow does not run inside a `tf.cond`.

    Returns:
      float32 `[B, ...]`, each sample of unit `norm` (zero only where both gradients are zero),
      with gradients stopped.
    """
    check_norm(norm)
    if sign not in (1, -1):
        raise ValueError(f"sign must be +1 or -1, got {sign!r}.")
    g = tf.cast(loss_gradient, tf.float32)
    slope = tf.cast(tf.reshape(slope, [-1]), tf.float32)
    has_slope = tf.math.is_finite(slope) & tf.not_equal(slope, 0.0)
    per_sample = [-1] + [1] * (g.shape.rank - 1)
    g = g * tf.reshape(sign * tf.sign(slope), per_sample)

    def with_logit_gradient():
        fallback = sign * tf.cast(logit_gradient(), tf.float32)
        return tf.where(tf.reshape(has_slope, per_sample), g, fallback)

    if lazy:
        g = tf.cond(tf.reduce_all(has_slope), lambda: g, with_logit_gradient)
    else:
        g = with_logit_gradient()
    return worst_case_direction(g, norm)
