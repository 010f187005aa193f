"""The Keras callbacks `rgan_tf.training.train` runs: checkpoints with a guard against non-finite
weights, sample grids from a fixed noise batch, and TensorBoard scalars.

Scalars are written with TensorFlow's own summary writer and the scalars plugin's metadata
(`write_scalars`, shared with `rgan_tf.run.metrics_callback`), so logs need no `tensorboard`
package (which `tf.summary.scalar` and Keras' TensorBoard callback need, and TensorFlow 2.21 no
longer installs); `tensorboard --logdir` reads them.
"""
import math

import keras
import numpy as np
import tensorflow as tf
from tensorflow.core.framework import summary_pb2

from rgan_tf import images as images_lib
from rgan_tf.run import layout

_SCALAR_METADATA = summary_pb2.SummaryMetadata(
    plugin_data=summary_pb2.SummaryMetadata.PluginData(plugin_name="scalars"),
    data_class=summary_pb2.DATA_CLASS_SCALAR)


def write_scalars(writer, values, step, prefix):
    """Writes `{name: number}` as TensorBoard scalars `<prefix>/<name>` at `step`, and flushes."""
    with writer.as_default():
        for name, value in values.items():
            tf.summary.write(f"{prefix}/{name}", tf.constant(float(value), tf.float32),
                             step=step, metadata=_SCALAR_METADATA)
    writer.flush()


def model_step(model):
    """The run's step counter (`RobustGAN.step_counter`): train steps done."""
    return int(model.step_counter.numpy())


class SampleGrid(keras.callbacks.Callback):
    """Saves a PNG grid of images from a fixed noise batch every `every` steps and at the end
    (`step_<step>.png` and `latest.png` in `folder`)."""

    def __init__(self, folder, every, num_samples=64, seed=1234, guard=None):
        super().__init__()
        self.folder = folder
        self.every = every
        self.num_samples = num_samples
        self.seed = seed
        self.guard = guard  # a CheckpointEveryEpoch: no grids from weights after a NaN

    def save(self):
        if self.guard is not None and self.guard.failure is not None:
            return None
        step = model_step(self.model)
        images = np.asarray(self.model.sample(self.num_samples, seed=self.seed))
        path = layout.sample_grid(self.folder, step)
        images_lib.save_grid(images, path)
        images_lib.save_grid(images, layout.sample_grid(self.folder))
        return path

    def on_train_batch_end(self, batch, logs=None):
        if self.every and model_step(self.model) % self.every == 0:
            self.save()

    def on_train_end(self, logs=None):
        self.save()


class CheckpointEveryEpoch(keras.callbacks.Callback):
    """Writes a checkpoint at every epoch end (epochs are `checkpoint_every` steps long), stops
    at `total_steps`, and refuses to checkpoint non-finite weights: on a NaN/Inf loss training
    stops and the error names the step and the last good checkpoint.
    """

    def __init__(self, checkpoints, total_steps):
        super().__init__()
        self.checkpoints = checkpoints
        self.total_steps = total_steps
        self.failure = None

    def on_train_batch_end(self, batch, logs=None):
        for name, value in (logs or {}).items():
            if not math.isfinite(float(value)):
                self.failure = (self.checkpoints.step(), name, float(value))
                self.model.stop_training = True
                return
        if self.checkpoints.step() >= self.total_steps:
            self.model.stop_training = True

    def on_epoch_end(self, epoch, logs=None):
        self._save_if_finite()

    def on_train_end(self, logs=None):
        self._save_if_finite()

    def _save_if_finite(self):
        if self.failure is None:
            bad = first_non_finite_variable(self.model)
            if bad is not None:
                self.failure = (self.checkpoints.step(), f"variable {bad}", float("nan"))
                return
            self.checkpoints.save()


class ScalarLogs(keras.callbacks.Callback):
    """Writes the step's logged values as TensorBoard scalars `train/<name>` every `every`
    steps."""

    def __init__(self, folder, every=100):
        super().__init__()
        self.folder = folder
        self.every = every
        self.writer = None

    def on_train_begin(self, logs=None):
        self.writer = tf.summary.create_file_writer(self.folder)

    def on_train_batch_end(self, batch, logs=None):
        step = model_step(self.model)
        if logs and self.every and step % self.every == 0:
            write_scalars(self.writer, logs, step, "train")

    def on_train_end(self, logs=None):
        if self.writer is not None:
            self.writer.close()


def first_non_finite_variable(model):
    """The name of a player's first variable holding a NaN or Inf, or None."""
    for variable in model.generator.variables + model.discriminator.variables:
        value = variable.value if hasattr(variable, "value") else variable
        if value.dtype.is_floating and not bool(tf.reduce_all(tf.math.is_finite(value))):
            return variable.path if hasattr(variable, "path") else variable.name
    return None
