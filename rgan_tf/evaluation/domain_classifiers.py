"""Classifiers in the Inception module's form, made offline: `export_classifier` writes a Keras
model `images -> [logits, features]` as a SavedModel that `classifiers.load_classifier` reads like
TF-GAN's Inception; `domain_classifier` / `train_domain_classifier` make a small one for a labelled
data set (`tools/train_classifier.py`); `build_standin_inception` a tiny untrained one with
Inception's interface, for tests.
"""
import os

import keras
import numpy as np
import tensorflow as tf

from rgan_tf import files
from rgan_tf.data import pipeline
from rgan_tf.evaluation import classifiers as classifiers_lib
from rgan_tf.evaluation.classifiers import FEATURES
from rgan_tf.evaluation.classifiers import INCEPTION_IMAGE_SIZE
from rgan_tf.evaluation.classifiers import LOGITS


#: A saved classifier's record beside its SavedModel: test accuracy, settings, fingerprint.
CARD = "accuracy.json"


class InceptionCompatibleModule(tf.Module):
    """A `tf.Module` called like TF-GAN's Inception module: images -> {"logits", "pool_3"}.

    `__call__` takes float32 images `[None, H, W, C]` in [-1, 1] and returns `logits [B, K]` and
    `pool_3 [B, 1, 1, F]` (the shape of Inception's final pool; readers flatten it).
    """

    def __init__(self, model, name=None):
        """Wraps a built Keras model mapping images to `[logits [B, K], features [B, F]]`."""
        super().__init__(name=name)
        if len(model.inputs) != 1 or len(model.outputs) != 2:
            raise ValueError("The model must take one image input and return [logits, features].")
        self.model = model
        spec = tf.TensorSpec([None, *model.inputs[0].shape[1:]], tf.float32, name="images")
        self.__call__ = tf.function(self._call, input_signature=[spec])

    def _call(self, images):
        logits, features = self.model(images, training=False)
        features = tf.reshape(features, [tf.shape(features)[0], 1, 1, -1])
        return {LOGITS: tf.cast(logits, tf.float32), FEATURES: tf.cast(features, tf.float32)}


def export_classifier(model, path):
    """Saves a classifier as a SavedModel in the Inception module's form; `load_classifier(path)`
    reads it back.

    Args:
      model: an `InceptionCompatibleModule`, or a built Keras model mapping images in [-1, 1] to
        `[logits [B, K], features [B, F]]`.
      path: the folder to write (created; an existing SavedModel there is replaced).

    Returns:
      `path`.
    """
    module = model if isinstance(model, InceptionCompatibleModule) else InceptionCompatibleModule(
        model)
    tf.saved_model.save(module, os.fspath(path), signatures={"default": module.__call__})
    return path


def save_with_card(model, record, path):
    """Exports `model` to `path` (`export_classifier`) and writes `path/accuracy.json`: `record`
    (test accuracy, settings) plus the weights' `fingerprint` that evaluation records name.

    Returns:
      The card written.
    """
    export_classifier(model, path)
    card = dict(record, fingerprint=classifiers_lib.fingerprint(path))
    files.write_json(os.path.join(path, CARD), card)
    return card


def build_standin_inception(image_size=INCEPTION_IMAGE_SIZE, num_classes=1008, feature_dim=2048,
                            seed=0):
    """A tiny stand-in for TF-GAN's Inception module, with its input and output names.

    Fixed random weights: average pooling to ~16x16, a tanh feature layer (`pool_3`) and a linear
    logits layer. It measures nothing meaningful; tests save it with `tf.saved_model.save` (or
    `export_classifier`) and load it back by path, through the same code as a local Inception copy.

    Args:
      image_size: input height and width (299 like Inception, so the resize path is exercised).
      num_classes: K, the logits' width (Inception: 1008).
      feature_dim: F, the width of `pool_3` (Inception: 2048).
      seed: seeds the weights.

    Returns:
      An `InceptionCompatibleModule`: images `[B, image_size, image_size, 3]` ->
      `{"logits": [B, num_classes], "pool_3": [B, 1, 1, feature_dim]}`.
    """
    rng = np.random.default_rng(seed)
    pool = max(1, image_size // 16)
    images = keras.Input((image_size, image_size, 3), name="images")
    h = keras.layers.AveragePooling2D(pool, strides=pool)(images)
    h = keras.layers.Flatten()(h)
    fan_in = h.shape[-1]
    pool_3 = keras.layers.Dense(feature_dim, activation="tanh", name=FEATURES)
    logits = keras.layers.Dense(num_classes, name=LOGITS)
    features = pool_3(h)
    model = keras.Model(images, [logits(features), features], name="standin_inception")
    pool_3.set_weights([rng.normal(0, 2.0 / np.sqrt(fan_in), (fan_in, feature_dim)),
                        rng.normal(0, 0.1, feature_dim)])
    logits.set_weights([rng.normal(0, 3.0 / np.sqrt(feature_dim), (feature_dim, num_classes)),
                        np.zeros(num_classes)])
    return InceptionCompatibleModule(model, name="standin_inception")


def domain_classifier(image_size, channels, num_classes, width=32, feature_dim=128):
    """A small CNN for a domain's images: `[B, S, S, C]` in [-1, 1] -> `[logits, features]`.

    Two stride-2 conv blocks, global average pooling, a ReLU feature layer named `pool_3`
    (`[B, feature_dim]`) and a linear layer named `logits` (`[B, num_classes]`).
    """
    images = keras.Input((image_size, image_size, channels), name="images")
    h = images
    for multiple in (1, 2):
        h = keras.layers.Conv2D(width * multiple, 3, padding="same", activation="relu")(h)
        h = keras.layers.Conv2D(width * multiple, 3, strides=2 if h.shape[1] > 1 else 1,
                                padding="same", activation="relu")(h)
    h = keras.layers.GlobalAveragePooling2D()(h)
    features = keras.layers.Dense(feature_dim, activation="relu", name=FEATURES)(h)
    logits = keras.layers.Dense(num_classes, name=LOGITS)(features)
    return keras.Model(images, [logits, features], name="domain_classifier")


def train_domain_classifier(source="digits", image_size=None, steps=None, epochs=None,
                            batch_size=64, num_classes=None, learning_rate=1e-3, seed=0,
                            verbose=1, **data_kwargs):
    """Trains `domain_classifier` on a labelled data source; reports test accuracy.

    Args:
      source: a data source of `rgan_tf.data.dataset` with labels.
      image_size: image size (None: the source's own).
      steps: training steps (batches); or give `epochs` (exactly one of the two).
      epochs: passes over the train split.
      batch_size: images per step.
      num_classes: K; default the source's (`rgan_tf.data.dataset_spec`).
      learning_rate: Adam's.
      seed: seeds the weights and the data order.
      verbose: Keras verbosity.
      **data_kwargs: passed on to `rgan_tf.data.dataset`.

    Returns:
      `(model, test_accuracy)`: the Keras model `images -> [logits, features]` and its accuracy
      on the test split.
    """
    if (steps is None) == (epochs is None):
        raise ValueError("Give exactly one of steps and epochs.")
    if (steps is not None and steps < 1) or (epochs is not None and epochs < 1):
        raise ValueError(f"steps/epochs must be >= 1, got steps={steps}, epochs={epochs}.")

    def labelled(split, training):
        return pipeline.dataset(source=source, batch_size=batch_size, split=split,
                                image_size=image_size, with_labels=True, shuffle=training,
                                repeat=training and steps is not None, seed=seed,
                                drop_remainder=training, **data_kwargs)

    (size, _, channels), source_classes = pipeline.dataset_spec(
        source, image_size, data_dir=data_kwargs.get("data_dir"))
    num_classes = num_classes or source_classes
    if num_classes is None:
        raise ValueError(f"{source} has no labels: a classifier needs a labelled source.")

    keras.utils.set_random_seed(seed)
    model = domain_classifier(size, channels, num_classes)
    trainer = keras.Model(model.inputs, model.outputs[0])  # shares the weights; logits only
    trainer.compile(optimizer=keras.optimizers.Adam(learning_rate),
                    loss=keras.losses.SparseCategoricalCrossentropy(from_logits=True),
                    metrics=["accuracy"])
    if steps is not None:
        trainer.fit(labelled("train", training=True), steps_per_epoch=steps, epochs=1,
                    verbose=verbose)
    else:
        trainer.fit(labelled("train", training=True), epochs=epochs, verbose=verbose)
    _, accuracy = trainer.evaluate(labelled("test", training=False), verbose=0)
    return model, float(accuracy)
