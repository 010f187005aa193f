"""Scoring two batches with one critic call of twice the batch, where that changes nothing.

The discriminator step scores real and fake images (and, in the robust step, their perturbed
versions). A critic that scores every sample on its own and changes no state in a training call
gives the same logits, and so the same gradients, whether the two batches go through one call
or two; one call halves the number of kernel launches and feeds each kernel a larger batch.

A critic whose training call depends on the whole batch or updates state must keep separate
calls: batch norm normalizes with the batch's statistics (real and fake would be normalized
together) and updates its moving statistics per call; spectral normalization
(`rgan_tf.architectures.spectral_norm`, also Keras' `SpectralNormalization`) runs one power
iteration per training call (one call instead of two changes its estimate of sigma).
`scores_samples_independently` tells them apart by what such layers share: batch-norm layers,
or variables that are not trained (moving statistics, power-iteration vectors, random-number
states).
"""
import keras
import tensorflow as tf


def scores_samples_independently(model):
    """Whether a training call of `model` on a batch equals its calls on any split of the batch.

    False when the model has a batch-normalization layer (any `keras.layers.BatchNormalization`,
    synchronized or not, also inside other layers) or any non-trainable variable (state that a
    training call may update). A layer that mixes samples without holding state (e.g. a
    minibatch-statistics layer) is not detected.

    Args:
      model: a built `keras.Model` (the critic).
    """
    if model.non_trainable_variables:
        return False
    return not any(isinstance(layer, keras.layers.BatchNormalization)
                   for layer in model._flatten_layers(include_self=False))


def score_pair(score, first, second, first_labels=None, second_labels=None, fused=True):
    """The critic's logits on two batches, from one call on both (`fused`) or from two calls.

    Args:
      score: `score(images, labels) -> logits [B]`.
      first, second: image batches `[B1, H, W, C]`, `[B2, H, W, C]`.
      first_labels, second_labels: int labels `[B1]`, `[B2]`, or None (unconditional).
      fused: one call on the concatenated batch (only for a critic for which
        `scores_samples_independently` holds) or two calls.

    Returns:
      `(first_logits [B1], second_logits [B2])`.
    """
    if not fused:
        return score(first, first_labels), score(second, second_labels)
    labels = None if first_labels is None else tf.concat([first_labels, second_labels], 0)
    logits = score(tf.concat([first, second], 0), labels)
    size = tf.shape(first)[0]
    return logits[:size], logits[size:]
