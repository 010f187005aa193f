"""One clean pass of a player in the robust train step: its loss, the weight gradients and the
worst-case directions, all from the same backward pass. This is the cost floor of
`docs/method.md`: the directions fall out of the clean gradients, so a robust step needs
one extra forward/backward pass over the perturbed samples and nothing more.

Also the gradient arithmetic the step shares: `scale_loss` (replica count and mixed-precision loss
scaling), `with_loss_scaling` (the optimizer a float16 player needs) and `sum_gradients` (clean
plus robust, either possibly None or `tf.IndexedSlices`); `discriminator_loss`, the critic's loss
on real and fake images from one critic call on both where that changes nothing
(`rgan_tf.critic_calls`).
"""
import collections

import keras
import tensorflow as tf

from rgan_tf import critic_calls
from rgan_tf import perturbations
from rgan_tf import rng

#: What a discriminator pass gives; `r_real`, `r_fake` are None when not asked for.
DiscriminatorPass = collections.namedtuple(
    "DiscriminatorPass", ["loss", "penalty", "real_logits", "fake_logits", "grads", "r_real",
                          "r_fake"])
#: What a generator pass gives; `r_z` is None when not asked for.
GeneratorPass = collections.namedtuple("GeneratorPass", ["loss", "grads", "r_z"])


def with_loss_scaling(optimizer, player):
    """`optimizer`, wrapped in a `LossScaleOptimizer` if any layer of `player` computes in float16
    (bfloat16 has float32's range and needs no loss scaling)."""
    float16 = any(layer.compute_dtype == "float16" for layer in player._flatten_layers())
    if float16 and not isinstance(optimizer, keras.optimizers.LossScaleOptimizer):
        return keras.optimizers.LossScaleOptimizer(optimizer)
    return optimizer


def scale_loss(optimizer, loss):
    """`loss` as `optimizer` should differentiate it: divided by the replica count (Keras
    optimizers sum gradients over replicas) and passed through mixed-precision loss scaling."""
    _, num_replicas = rng.replica_position()
    return optimizer.scale_loss(loss / num_replicas)


def _add(a, b):
    """Sum of two gradients, either of which may be None or (embeddings) `tf.IndexedSlices`."""
    if a is None or b is None:
        return b if a is None else a
    if isinstance(a, tf.IndexedSlices) or isinstance(b, tf.IndexedSlices):
        a, b = (tf.convert_to_tensor(g) if isinstance(g, tf.IndexedSlices) else g for g in (a, b))
    return a + b


def sum_gradients(clean, robust):
    """Variable by variable, the clean plus the robust gradient."""
    return [_add(c, r) for c, r in zip(clean, robust)]


def _single_replica():
    """True outside a multi-replica step: there the logit's own gradient may be taken lazily,
    in a `tf.cond` (`rgan_tf.perturbations.logit_direction`)."""
    return rng.replica_position()[1] == 1


def discriminator_loss(model, real, labels, fake, fake_labels):
    """`mean L_real(D(real)) + mean L_fake(D(fake))`, from training-mode critic calls: one call
    on both batches when `model.fused_critic_calls` (`rgan_tf.critic_calls`), else two.

    Args:
      model: the `RobustGAN` (its `discriminate`, loss family and `fused_critic_calls`).
      real, fake: float32 images `[B, H, W, C]`.
      labels, fake_labels: int32 `[B]` for a conditional model, else None.

    Returns:
      `(loss, real_logits [B], fake_logits [B])`.
    """
    real_logits, fake_logits = critic_calls.score_pair(
        lambda images, classes: model.discriminate(images, classes, training=True),
        real, fake, labels, fake_labels, fused=model.fused_critic_calls)
    loss = (tf.reduce_mean(model.loss_family.real(real_logits))
            + tf.reduce_mean(model.loss_family.fake(fake_logits)))
    return loss, real_logits, fake_logits


def discriminator_pass(model, real, labels, fake, fake_labels, alpha, directions):
    """The clean discriminator loss `L_D(x, G(z))` (+ penalty), its scaled weight gradients and,
    with `directions`, r_1 and r_2 from the same backward pass.

    Args:
      model: the `RobustGAN` (its discriminator, loss family, penalty, direction, norm and
        discriminator optimizer).
      real: float32 real images `[B, H, W, C]`.
      labels: int32 `[B]` for a conditional model, else None.
      fake: float32 generated images `[B, H, W, C]`.
      fake_labels: their labels (or None).
      alpha: the penalty's interpolation weights `[B]` (None without a penalty).
      directions: also compute r_1 (real) and r_2 (fake), per-sample unit directions against
        the discriminator.

    Returns:
      A `DiscriminatorPass`.
    """
    variables = model.discriminator.trainable_variables
    logit = directions and model.direction == "logit"
    with tf.GradientTape(persistent=logit) as tape:
        tape.watch([real, fake])
        clean, real_logits, fake_logits = discriminator_loss(model, real, labels, fake,
                                                             fake_labels)
        objective = model.clean_weight() * clean
        penalty = None
        if model.penalty is not None:
            # Penalties hold their inputs constant (`rgan_tf.penalties.interpolate`): they
            # take no part in the directions.
            penalty = model.penalty(lambda x: model.discriminate(x, labels, training=True),
                                   real, fake, alpha)
            objective += penalty
        scaled = scale_loss(model.d_optimizer, objective)
    if not directions:
        return DiscriminatorPass(clean, penalty, real_logits, fake_logits,
                                  tape.gradient(scaled, variables), None, None)
    sources = variables + [real, fake] + ([real_logits, fake_logits] if logit else [])
    grads = tape.gradient(scaled, sources)
    grads, inputs = grads[:len(variables)], grads[len(variables):]
    if logit:
        lazy = _single_replica()
        r_real = perturbations.logit_direction(
            inputs[0], inputs[2], lambda: tape.gradient(real_logits, real), -1, model.norm,
            lazy)
        r_fake = perturbations.logit_direction(
            inputs[1], inputs[3], lambda: tape.gradient(fake_logits, fake), +1, model.norm,
            lazy)
    else:
        r_real = perturbations.worst_case_direction(inputs[0], model.norm)
        r_fake = perturbations.worst_case_direction(inputs[1], model.norm)
    return DiscriminatorPass(clean, penalty, real_logits, fake_logits, grads, r_real, r_fake)


def generator_pass(model, z, labels, directions):
    """The clean generator loss `L_G(z)`, its scaled weight gradients and, with `directions`,
    r_z from the same backward pass.

    Args:
      model: the `RobustGAN`.
      z: float32 noise `[B, latent_dim]`.
      labels: int32 `[B]` for a conditional model, else None.
      directions: also compute r_z, the per-sample unit direction against the generator.

    Returns:
      A `GeneratorPass`.
    """
    variables = model.generator.trainable_variables
    logit = directions and model.direction == "logit"
    with tf.GradientTape(persistent=logit) as tape:
        tape.watch(z)
        logits = model.discriminate(model.generate(z, labels, training=True), labels,
                                   training=True)
        clean = tf.reduce_mean(model.loss_family.generator(logits))
        scaled = scale_loss(model.g_optimizer, model.clean_weight() * clean)
    if not directions:
        return GeneratorPass(clean, tape.gradient(scaled, variables), None)
    grads = tape.gradient(scaled, variables + [z] + ([logits] if logit else []))
    grads, inputs = grads[:len(variables)], grads[len(variables):]
    if logit:
        r_z = perturbations.logit_direction(
            inputs[0], inputs[1], lambda: tape.gradient(logits, z), -1, model.norm,
            _single_replica())
    else:
        r_z = perturbations.worst_case_direction(inputs[0], model.norm)
    return GeneratorPass(clean, grads, r_z)
