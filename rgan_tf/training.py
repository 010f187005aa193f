"""The gin entry `train`: build the configured GAN, fit it, and keep a run folder.

A run folder (`model_dir`) holds:
  checkpoints/          both players, both optimizers (the step counter is the generator
                        optimizer's `iterations`); running again with the same folder resumes
  operative_config.gin  every gin binding the run used
  compile_mode.json     XLA on or off for this (last) session, as requested and why
  logs/                 TensorBoard scalars
  samples/              PNG grids from a fixed z, every `sample_every` steps and at the end
"""
import contextlib
import json
import math
import os

import gin
import keras
import numpy as np
import tensorflow as tf
from tensorflow.core.framework import summary_pb2

from rgan_tf import checkpoints as checkpoints_lib
from rgan_tf import compile_mode
from rgan_tf import configurables  # noqa: F401  (registers Keras optimizers with gin)
from rgan_tf import data as data_lib
from rgan_tf import distribute
from rgan_tf import images as images_lib
from rgan_tf.robust_gan import RobustGAN

CHECKPOINT_DIR = "checkpoints"
SAMPLES_DIR = "samples"
LOGS_DIR = "logs"
OPERATIVE_CONFIG = "operative_config.gin"
COMPILE_MODE = "compile_mode.json"


MIXED_PRECISION_POLICIES = (None, "float32", "mixed_bfloat16", "mixed_float16")


class NonFiniteLossError(FloatingPointError):
    """Training produced a NaN or Inf loss; the run folder keeps the last good checkpoint."""


class SampleGrid(keras.callbacks.Callback):
    """Saves a PNG grid of images from a fixed noise batch every `every` steps and at the end."""

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
        step = int(self.model.g_optimizer.iterations.numpy())
        images = self.model.sample(self.num_samples, seed=self.seed)
        path = os.path.join(self.folder, f"step_{step:07d}.png")
        images_lib.save_grid(np.asarray(images), path)
        images_lib.save_grid(np.asarray(images), os.path.join(self.folder, "latest.png"))
        return path

    def on_train_batch_end(self, batch, logs=None):
        if self.every and int(self.model.g_optimizer.iterations.numpy()) % self.every == 0:
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
            bad = _first_non_finite_variable(self.model)
            if bad is not None:
                self.failure = (self.checkpoints.step(), f"variable {bad}", float("nan"))
                return
            self.checkpoints.save()


class ScalarLogs(keras.callbacks.Callback):
    """Writes the step's logged values as TensorBoard scalars every `every` steps.

    Uses TensorFlow's own summary writer with the scalars plugin's metadata, so logs are written
    without the `tensorboard` package (which `tf.summary.scalar` and Keras' TensorBoard callback
    need, and TensorFlow 2.21 no longer installs); `tensorboard --logdir` reads them.
    """

    def __init__(self, folder, every=100):
        super().__init__()
        self.folder = folder
        self.every = every
        self.writer = None

    def on_train_begin(self, logs=None):
        self.writer = tf.summary.create_file_writer(self.folder)

    def on_train_batch_end(self, batch, logs=None):
        step = int(self.model.g_optimizer.iterations.numpy())
        if logs and self.every and step % self.every == 0:
            with self.writer.as_default():
                for name, value in logs.items():
                    tf.summary.write(f"train/{name}", tf.constant(float(value), tf.float32),
                                     step=step, metadata=_SCALAR_METADATA)

    def on_train_end(self, logs=None):
        if self.writer is not None:
            self.writer.close()


_SCALAR_METADATA = summary_pb2.SummaryMetadata(
    plugin_data=summary_pb2.SummaryMetadata.PluginData(plugin_name="scalars"),
    data_class=summary_pb2.DATA_CLASS_SCALAR)


def _first_non_finite_variable(model):
    """The name of a player's first variable holding a NaN or Inf, or None."""
    for variable in model.generator.variables + model.discriminator.variables:
        value = variable.value if hasattr(variable, "value") else variable
        if value.dtype.is_floating and not bool(tf.reduce_all(tf.math.is_finite(value))):
            return variable.path if hasattr(variable, "path") else variable.name
    return None


def _check_learning_rate(player, optimizer):
    """A learning rate (or a schedule's first value) must be a finite number >= 0."""
    # Through numpy: under a tf.distribute strategy the rate is a MirroredVariable, which float()
    # refuses.
    rate = float(keras.ops.convert_to_numpy(optimizer.learning_rate))
    if not math.isfinite(rate) or rate < 0:
        raise ValueError(f"The {player}'s learning rate must be a finite number >= 0, got "
                         f"{rate:.6g}.")


@contextlib.contextmanager
def _dtype_policy(name):
    """Makes `name` Keras' global dtype policy inside the block (None: leave it as it is)."""
    if name not in MIXED_PRECISION_POLICIES:
        raise ValueError(f"Unknown mixed precision policy {name!r}; choose one of "
                         f"{MIXED_PRECISION_POLICIES}.")
    previous = keras.mixed_precision.global_policy()
    if name is not None:
        keras.mixed_precision.set_global_policy(name)
    try:
        yield
    finally:
        keras.mixed_precision.set_global_policy(previous)


@gin.configurable
def build_model(build_generator=gin.REQUIRED, build_discriminator=gin.REQUIRED,
                g_optimizer=None, d_optimizer=None, jit_compile="auto", mixed_precision=None,
                sync_batch_norm=False):
    """Builds and compiles the configured `RobustGAN` (call inside the strategy's scope).

    Args:
      build_generator: builder returning the generator (e.g. `@dcgan_generator`).
      build_discriminator: builder returning the discriminator.
      g_optimizer, d_optimizer: optimizer classes or factories, called with no arguments; gin
        binds their hyperparameters in the `generator/` and `discriminator/` scopes. Default
        Adam(2e-4, beta_1=0.5) (DCGAN).
      jit_compile: "auto" (default: XLA where it is faster for these players on this device,
        `rgan_tf.compile_mode`), True or False (forced; XLA stays off under a multi-replica
        strategy, which cannot compile it: see `rgan_tf.distribute`). The resolved mode is
        logged and written to the run folder (`compile_mode.json`).
      mixed_precision: None or "float32" (full precision), "mixed_bfloat16" or "mixed_float16":
        the Keras dtype policy the players are built under (float32 variables, 16-bit compute;
        the builders' float32 last layers keep images and logits float32). Under
        "mixed_float16" `RobustGAN.compile` gives both optimizers dynamic loss scaling.
      sync_batch_norm: synchronize batch-norm statistics across replicas
        (`rgan_tf.distribute.sync_batch_norm`); no effect on one replica.
    """
    default = lambda: keras.optimizers.Adam(2e-4, beta_1=0.5)  # noqa: E731
    g_optimizer, d_optimizer = (g_optimizer or default)(), (d_optimizer or default)()
    _check_learning_rate("generator", g_optimizer)
    _check_learning_rate("discriminator", d_optimizer)
    with _dtype_policy(mixed_precision):
        generator, discriminator = build_generator(), build_discriminator()
    if sync_batch_norm:
        generator = distribute.sync_batch_norm(generator)
        discriminator = distribute.sync_batch_norm(discriminator)
    model = RobustGAN(generator, discriminator)
    model.compile(g_optimizer=g_optimizer, d_optimizer=d_optimizer, jit_compile=jit_compile)
    return model


@gin.configurable(denylist=["model_dir"])
def train(model_dir, steps=2000, batch_size=64, seed=0, checkpoint_every=500, sample_every=500,
          keep_checkpoints=3, verbose=1, strategy="default", resume_despite_changes=False,
          callbacks=()):
    """Trains the gin-configured GAN for `steps` generator iterations, resuming from `model_dir`.

    Args:
      model_dir: the run folder (created if missing).
      steps: generator iterations to reach (counted across resumes).
      batch_size: real images per discriminator update (the data set is batched with
        `batch_size * d_steps` per generator iteration).
      seed: seeds the data order and every random draw of training.
      checkpoint_every: steps between checkpoints (and the length of one `fit` epoch).
      sample_every: steps between sample grids (0: only at the end).
      keep_checkpoints: how many recent checkpoints to keep.
      verbose: `fit`'s verbosity (1: a progress bar per epoch).
      strategy: a `tf.distribute.Strategy` or its name (`rgan_tf.distribute.STRATEGIES`);
        `batch_size` is the global batch, split among the replicas.
      resume_despite_changes: resume a folder whose saved config differs from this one (e.g. a
        lower learning rate after a NaN) instead of refusing; the differences are printed, and
        the checkpoint must still fit the model.
      callbacks: extra callbacks, as factories `f(model_dir) -> keras.callbacks.Callback` called
        once before training (e.g. `[@MetricsCallback]`: IS/FID, robustness and the
        discriminator's gap during training, `rgan_tf.evaluation`).

    Returns:
      The trained `RobustGAN`.
    """
    for name, value in (("steps", steps), ("batch_size", batch_size),
                        ("checkpoint_every", checkpoint_every)):
        if not isinstance(value, int) or value < 1:
            raise ValueError(f"train.{name} must be an integer >= 1, got {value!r}.")
    keras.utils.set_random_seed(seed)
    if isinstance(strategy, str):
        strategy = distribute.make_strategy(strategy)
    with strategy.scope():
        model = build_model()
    model.seed = seed
    dataset = data_lib.dataset(batch_size=batch_size * model.d_steps, seed=seed,
                               with_labels=model.num_classes is not None)
    _check_data_fits_model(dataset, model)

    # Made before the operative config is read, so that their gin parameters are part of it.
    extra_callbacks = [factory(model_dir) for factory in callbacks]

    # Nothing is written to model_dir before the folder is known to hold this model's run (same
    # config, readable checkpoints that fit): a refused run leaves it untouched.
    operative_config = gin.operative_config_str()
    try:
        checkpoints_lib.check_same_run(model_dir, operative_config, OPERATIVE_CONFIG,
                                       CHECKPOINT_DIR)
    except checkpoints_lib.RunMismatchError as error:
        if not resume_despite_changes:
            raise
        print(f"Warning (train.resume_despite_changes=True): {error}")
    checkpoints = checkpoints_lib.RunCheckpoints(
        model, os.path.join(model_dir, CHECKPOINT_DIR), keep_checkpoints)
    start = checkpoints.restore_latest()
    os.makedirs(model_dir, exist_ok=True)
    _write_atomically(os.path.join(model_dir, OPERATIVE_CONFIG), operative_config)
    _write_atomically(os.path.join(model_dir, COMPILE_MODE),
                      json.dumps(compile_mode.as_dict(model.compile_mode)) + "\n")
    if start >= steps:
        print(f"{model_dir} already holds step {start} >= steps={steps}; nothing to train.")
        return model

    guard = CheckpointEveryEpoch(checkpoints, steps)
    callbacks = [
        guard,
        SampleGrid(os.path.join(model_dir, SAMPLES_DIR), sample_every, guard=guard),
        ScalarLogs(os.path.join(model_dir, LOGS_DIR), every=min(100, checkpoint_every)),
    ] + extra_callbacks
    model.fit(dataset.skip(start), epochs=math.ceil(steps / checkpoint_every),
              initial_epoch=start // checkpoint_every, steps_per_epoch=checkpoint_every,
              callbacks=callbacks, verbose=verbose)
    if guard.failure is not None:
        step, name, value = guard.failure
        kept = (f"The last good checkpoint, {checkpoints.latest}, was kept"
                if checkpoints.latest else "No checkpoint had been written")
        raise NonFiniteLossError(
            f"Training stopped: {name} = {value} at step {step}; no checkpoint or sample was "
            f"written after it. {kept}. Lower the learning rate or eps, then train again "
            "(train.resume_despite_changes=True resumes this folder with the new settings).")
    return model


def _write_atomically(path, text):
    temporary = path + ".tmp"
    with open(temporary, "w") as handle:
        handle.write(text)
    os.replace(temporary, path)


def _check_data_fits_model(dataset, model):
    spec = dataset.element_spec
    images_spec = spec[0] if isinstance(spec, tuple) else spec
    if images_spec.shape.rank != 4 or not images_spec.dtype.is_floating:
        raise ValueError(
            f"The data set must yield float image batches [B, H, W, C]; it yields "
            f"{images_spec.dtype.name} tensors of shape {images_spec.shape}.")
    if tuple(images_spec.shape[1:]) != model.image_shape:
        raise ValueError(
            f"The data has images of shape {tuple(images_spec.shape[1:])} but the generator "
            f"makes {model.image_shape}: bind dataset.image_size or the architecture's "
            "image_size/channels so that they agree.")
