"""The Keras callbacks `rgan_tf.training.train` runs: checkpoints (every so many steps, on a timer
and at the end) with a guard against non-finite weights, sample grids from a fixed noise batch,
and TensorBoard scalars. Each write goes through `rgan_tf.write_errors.reporting`, so a failed
one names its path and the free space.

Scalars are written with TensorFlow's own summary writer and the scalars plugin's metadata
(`write_scalars`, shared with `rgan_tf.run.metrics_callback`), so logs need no `tensorboard`
package (which `tf.summary.scalar` and Keras' TensorBoard callback need, and TensorFlow 2.21 no
longer installs); `tensorboard --logdir` reads them.
"""
import math
import os

import keras
import numpy as np
import tensorflow as tf
from tensorflow.core.framework import summary_pb2

from rgan_tf import distribute
from rgan_tf import images as images_lib
from rgan_tf import write_errors
from rgan_tf.run import checkpoint_timer
from rgan_tf.run import layout
from rgan_tf.run import pause_points

_SCALAR_METADATA = summary_pb2.SummaryMetadata(
    plugin_data=summary_pb2.SummaryMetadata.PluginData(plugin_name="scalars"),
    data_class=summary_pb2.DATA_CLASS_SCALAR)


def write_scalars(writer, values, step, prefix):
    """Writes `{name: number}` as TensorBoard scalars `<prefix>/<name>` at `step`, and flushes
    (so that a failing disk shows at that step)."""
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
    (`step_<step>.png` and `latest.png` in `folder`; not at the end of an interrupted run: the
    grace time goes to the checkpoint)."""

    def __init__(self, folder, every, num_samples=64, seed=1234, guard=None, stop=None):
        super().__init__()
        self.folder = folder
        self.every = every
        self.num_samples = num_samples
        self.seed = seed
        self.guard = guard  # a CheckpointSchedule: no grids from weights after a NaN
        self.stop = stop  # a StopOnSignal: no final grid after a signal

    def save(self):
        if self.guard is not None and self.guard.failure is not None:
            return None
        step = model_step(self.model)
        images = np.asarray(self.model.sample(self.num_samples, seed=self.seed))
        path = layout.sample_grid(self.folder, step)
        with write_errors.reporting(path):
            images_lib.save_grid(images, path)
        pause_points.pause("sample_grid", step)
        latest = layout.sample_grid(self.folder)
        with write_errors.reporting(latest):
            images_lib.save_grid(images, latest)
        return path

    def on_train_batch_end(self, batch, logs=None):
        if self.every and model_step(self.model) % self.every == 0:
            self.save()

    def on_train_end(self, logs=None):
        if self.stop is None or not self.stop.stopped:
            self.save()


class CheckpointSchedule(keras.callbacks.Callback):
    """Writes a checkpoint every `every` steps, whenever `timer` says one is due, and when
    training ends (also when a signal stopped it); stops at `total_steps`. Refuses to
    checkpoint non-finite weights: on a NaN/Inf loss training stops and the error names the
    step and the last good checkpoint.

    Args:
      checkpoints: the run's `RunCheckpoints`.
      total_steps: the step at which training stops.
      every: steps between checkpoints (saved when the step counter is a multiple of it, so a
        run resumed from any step keeps the same checkpoint steps).
      timer: a `CheckpointTimer` (None: no time-based checkpoints).
      strategy: the model's strategy; under several workers they agree on the timer.
    """

    def __init__(self, checkpoints, total_steps, every, timer=None, strategy=None):
        super().__init__()
        self.checkpoints = checkpoints
        self.total_steps = total_steps
        self.every = every
        self.timer = timer or checkpoint_timer.CheckpointTimer(None)
        self.strategy = strategy
        self.failure = None

    def on_train_begin(self, logs=None):
        self.timer.reset()

    def on_train_batch_end(self, batch, logs=None):
        step = self.checkpoints.step()
        pause_points.pause("step_end", step)
        for name, value in (logs or {}).items():
            if not math.isfinite(float(value)):
                self.failure = (step, name, float(value))
                self.model.stop_training = True
                return
        last = step >= self.total_steps
        if last:
            self.model.stop_training = True
        # Workers agree on the timer (their clocks, even their settings, may differ).
        (timed,) = distribute.any_worker([self.timer.due()], self.strategy)
        if step % self.every == 0 or last or timed:
            self.save()  # before the step's grid and logs, which may fail

    def on_train_end(self, logs=None):
        self.save()

    def save(self):
        """Writes a checkpoint of the current step (if its weights are finite); returns its
        path, or None after a NaN/Inf."""
        if self.failure is not None:
            return None
        bad = first_non_finite_variable(self.model)
        if bad is not None:
            self.failure = (self.checkpoints.step(), f"variable {bad}", float("nan"))
            return None
        step = self.checkpoints.step()
        with write_errors.reporting(os.path.join(self.checkpoints.directory, f"ckpt-{step}")):
            path = self.checkpoints.save()
        self.timer.reset()
        return path


class ScalarLogs(keras.callbacks.Callback):
    """Writes the step's logged values as TensorBoard scalars `train/<name>` every `every`
    steps."""

    def __init__(self, folder, every=100):
        super().__init__()
        self.folder = folder
        self.every = every
        self.writer = None

    def on_train_begin(self, logs=None):
        with write_errors.reporting(self.folder):
            self.writer = tf.summary.create_file_writer(self.folder)

    def on_train_batch_end(self, batch, logs=None):
        step = model_step(self.model)
        if logs and self.every and step % self.every == 0:
            with write_errors.reporting(self.folder):
                write_scalars(self.writer, logs, step, "train")

    def on_train_end(self, logs=None):
        if self.writer is not None:
            with write_errors.reporting(self.folder):
                self.writer.close()


def first_non_finite_variable(model):
    """The name of a player's first variable holding a NaN or Inf, or None."""
    for variable in model.generator.variables + model.discriminator.variables:
        value = variable.value if hasattr(variable, "value") else variable
        if value.dtype.is_floating and not bool(tf.reduce_all(tf.math.is_finite(value))):
            return variable.path if hasattr(variable, "path") else variable.name
    return None
