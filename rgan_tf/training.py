"""The gin entry `train`: build the configured GAN, fit it, and keep a run folder.

A run folder (`model_dir`) holds:
  checkpoints/          both players, both optimizers (the step counter is the generator
                        optimizer's `iterations`); running again with the same folder resumes
  operative_config.gin  every gin binding the run used
  logs/                 TensorBoard scalars
  samples/              PNG grids from a fixed z, every `sample_every` steps and at the end
"""
import math
import os

import gin
import keras
import numpy as np
from rgan_tf import checkpoints as checkpoints_lib
from rgan_tf import configurables  # noqa: F401  (registers Keras optimizers with gin)
from rgan_tf import data as data_lib
from rgan_tf import distribute
from rgan_tf import images as images_lib
from rgan_tf.robust_gan import RobustGAN

CHECKPOINT_DIR = "checkpoints"
SAMPLES_DIR = "samples"
LOGS_DIR = "logs"
OPERATIVE_CONFIG = "operative_config.gin"


class NonFiniteLossError(FloatingPointError):
    """Training produced a NaN or Inf loss; the run folder keeps the last good checkpoint."""


class SampleGrid(keras.callbacks.Callback):
    """Saves a PNG grid of images from a fixed noise batch every `every` steps and at the end."""

    def __init__(self, folder, every, num_samples=64, seed=1234):
        super().__init__()
        self.folder = folder
        self.every = every
        self.num_samples = num_samples
        self.seed = seed

    def save(self):
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
        if self.failure is None:
            self.checkpoints.save()

    def on_train_end(self, logs=None):
        if self.failure is None:
            self.checkpoints.save()


@gin.configurable
def build_model(build_generator=gin.REQUIRED, build_discriminator=gin.REQUIRED,
                g_optimizer=None, d_optimizer=None, jit_compile=True):
    """Builds and compiles the configured `RobustGAN` (call inside the strategy's scope).

    Args:
      build_generator: builder returning the generator (e.g. `@dcgan_generator`).
      build_discriminator: builder returning the discriminator.
      g_optimizer, d_optimizer: optimizer classes or factories, called with no arguments; gin
        binds their hyperparameters in the `generator/` and `discriminator/` scopes. Default
        Adam(2e-4, beta_1=0.5) (DCGAN).
      jit_compile: compile the train step with XLA.
    """
    default = lambda: keras.optimizers.Adam(2e-4, beta_1=0.5)  # noqa: E731
    model = RobustGAN(build_generator(), build_discriminator())
    model.compile(g_optimizer=(g_optimizer or default)(), d_optimizer=(d_optimizer or default)(),
                  jit_compile=jit_compile)
    return model


@gin.configurable(denylist=["model_dir"])
def train(model_dir, steps=2000, batch_size=64, seed=0, checkpoint_every=500, sample_every=500,
          keep_checkpoints=3, verbose=1, strategy="default"):
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

    Returns:
      The trained `RobustGAN`.
    """
    for name, value in (("steps", steps), ("batch_size", batch_size),
                        ("checkpoint_every", checkpoint_every)):
        if not isinstance(value, int) or value < 1:
            raise ValueError(f"train.{name} must be an integer >= 1, got {value!r}.")
    os.makedirs(model_dir, exist_ok=True)
    keras.utils.set_random_seed(seed)
    if isinstance(strategy, str):
        strategy = distribute.make_strategy(strategy)
    with strategy.scope():
        model = build_model()
    model.seed = seed
    dataset = data_lib.dataset(batch_size=batch_size * model.d_steps, seed=seed,
                               with_labels=model.num_classes is not None)
    _check_data_fits_model(dataset, model)

    checkpoints = checkpoints_lib.RunCheckpoints(
        model, os.path.join(model_dir, CHECKPOINT_DIR), keep_checkpoints)
    start = checkpoints.restore_latest()
    with open(os.path.join(model_dir, OPERATIVE_CONFIG), "w") as config_file:
        config_file.write(gin.operative_config_str())
    if start >= steps:
        print(f"{model_dir} already holds step {start} >= steps={steps}; nothing to train.")
        return model

    guard = CheckpointEveryEpoch(checkpoints, steps)
    callbacks = [
        guard,
        SampleGrid(os.path.join(model_dir, SAMPLES_DIR), sample_every),
        keras.callbacks.TensorBoard(os.path.join(model_dir, LOGS_DIR), update_freq=100),
    ]
    model.fit(dataset.skip(start), epochs=math.ceil(steps / checkpoint_every),
              initial_epoch=start // checkpoint_every, steps_per_epoch=checkpoint_every,
              callbacks=callbacks, verbose=verbose)
    if guard.failure is not None:
        step, name, value = guard.failure
        raise NonFiniteLossError(
            f"Training stopped: {name} = {value} at step {step}. The last good checkpoint, "
            f"{checkpoints.latest}, was kept; lower the learning rate or eps and resume.")
    return model


def _check_data_fits_model(dataset, model):
    spec = dataset.element_spec
    images_spec = spec[0] if isinstance(spec, tuple) else spec
    if tuple(images_spec.shape[1:]) != model.image_shape:
        raise ValueError(
            f"The data has images of shape {tuple(images_spec.shape[1:])} but the generator "
            f"makes {model.image_shape}: bind dataset.image_size or the architecture's "
            "image_size/channels so that they agree.")
