"""The gin entry `train`: build the configured GAN, fit it, and keep a run folder.

The run folder (`model_dir`, laid out by `rgan_tf.run.layout`) gets checkpoints (players,
optimizers, the step counter `RobustGAN.step_counter` and the generator's moving average if on;
running again with the same folder resumes), the operative config, TensorBoard logs and sample
grids, written by the callbacks of `rgan_tf.run.callbacks`, and the resolved compile mode of the
session (`rgan_tf.compile_mode`); while a trainer runs, its lock (`rgan_tf.run.run_lock`). This
module is the one place (with `rgan_tf.config`, which parses configs) that reads gin's global
state: the operative config it saves with the run.

What ends a run early, and what it leaves (docs/workflow.md, "Interruptions"):
  SIGTERM / SIGINT      the step in flight finishes, a checkpoint of it is written, one line is
                        printed and `TrainingInterrupted` exits with status 75
                        (`rgan_tf.run.preemption`); a second SIGINT aborts at once
  a failed write        `WriteFailedError`, naming the path and the free space
                        (`rgan_tf.write_errors`); earlier checkpoints stay readable
  a NaN/Inf loss        `NonFiniteLossError`; the last good checkpoint is kept
"""
import contextlib
import math
import tempfile

import gin
import keras

from rgan_tf import compile_mode
from rgan_tf import configurables  # noqa: F401  (registers Keras optimizers with gin)
from rgan_tf import data as data_lib
from rgan_tf import distribute
from rgan_tf import files
from rgan_tf import write_errors
from rgan_tf.robust_gan import RobustGAN
from rgan_tf.run import callbacks as callbacks_lib
from rgan_tf.run import checkpoint_timer
from rgan_tf.run import checkpoints as checkpoints_lib
from rgan_tf.run import layout
from rgan_tf.run import operative_config as operative_config_lib
from rgan_tf.run import pause_points
from rgan_tf.run import preemption
from rgan_tf.run import run_lock

MIXED_PRECISION_POLICIES = (None, "float32", "mixed_bfloat16", "mixed_float16")


class NonFiniteLossError(FloatingPointError):
    """Training produced a NaN or Inf loss; the run folder keeps the last good checkpoint."""


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
      jit_compile: "auto" (default: XLA where it is faster on this kind of device, i.e. on GPU
        and TPU, off on CPU: `rgan_tf.compile_mode`), True or False (forced; XLA stays off under a multi-replica
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
def train(model_dir, steps=2000, batch_size=64, seed=0, checkpoint_every=500,
          checkpoint_every_secs=600, sample_every=500, keep_checkpoints=3, verbose=1,
          strategy="default", resume_despite_changes=False, callbacks=()):
    """Trains the gin-configured GAN for `steps` generator iterations, resuming from `model_dir`.

    Args:
      model_dir: the run folder (created if missing).
      steps: generator iterations to reach (counted across resumes).
      batch_size: real images per discriminator update (the data set is batched with
        `batch_size * d_steps` per generator iteration).
      seed: seeds the data order and every random draw of training.
      checkpoint_every: steps between checkpoints (and the length of one `fit` epoch).
      checkpoint_every_secs: also write a checkpoint once this many seconds have passed since
        the last one (None or 0: off). With the default, 600, a crash without grace (SIGKILL,
        power loss) loses at most about ten minutes of training on a slow configuration, where
        `checkpoint_every` steps can take an hour; on a fast one the step-based checkpoints come
        first and the timer never fires.
      sample_every: steps between sample grids (0: only at the end).
      keep_checkpoints: how many recent checkpoints to keep.
      verbose: `fit`'s verbosity (1: a progress bar per epoch).
      strategy: a `tf.distribute.Strategy` or its name (`rgan_tf.distribute.STRATEGIES`);
        `batch_size` is the global batch, split among the replicas. Under several workers only
        the chief writes the run folder, which must be on a file system all workers read.
      resume_despite_changes: resume a folder whose saved config differs from this one (e.g. a
        lower learning rate after a NaN) instead of refusing; the differences are printed, and
        the checkpoint must still fit the model.
      callbacks: extra callbacks, as factories `f(model_dir) -> keras.callbacks.Callback` called
        once before training (e.g. `[@MetricsCallback]`: IS/FID, robustness and the
        discriminator's gap during training, `rgan_tf.run.metrics_callback`).

    Returns:
      The trained `RobustGAN`.

    Raises:
      TrainingInterrupted: SIGTERM or SIGINT stopped training after a checkpoint of the last
        step was written (a `SystemExit` with status 75: `rgan_tf.run.preemption`).
      RunFolderBusyError: another trainer holds `model_dir` (`rgan_tf.run.run_lock`).
      WriteFailedError: a file could not be written (`rgan_tf.write_errors`).
      NonFiniteLossError: a loss or weight became NaN or Inf.
      RunMismatchError, CheckpointError: the folder holds another run, or no usable checkpoint.
    """
    for name, value in (("steps", steps), ("batch_size", batch_size),
                        ("checkpoint_every", checkpoint_every)):
        if not isinstance(value, int) or value < 1:
            raise ValueError(f"train.{name} must be an integer >= 1, got {value!r}.")
    timer = checkpoint_timer.CheckpointTimer(checkpoint_every_secs)
    with contextlib.ExitStack() as stack:
        keras.utils.set_random_seed(seed)
        if isinstance(strategy, str):
            strategy = distribute.make_strategy(strategy)
        # From here on SIGTERM and SIGINT stop training after the step in flight. (Installed
        # after the strategy: a multi-worker strategy's coordination service installs its own
        # SIGTERM handler, TensorFlow's SigtermNotifier, which this one replaces.)
        watcher = stack.enter_context(preemption.SignalWatcher())
        with strategy.scope():
            model = build_model()
        model.seed = seed
        dataset = data_lib.dataset(batch_size=batch_size * model.d_steps, seed=seed,
                                   with_labels=model.num_classes is not None)
        _check_data_fits_model(dataset, model)

        # Made before the operative config is read, so that their gin parameters are part of it.
        extra_callbacks = [factory(model_dir) for factory in callbacks]

        # The chief writes the run folder; it locks it first, so that no other trainer writes
        # there between the checks below and the end of this run. Other workers take part in
        # every save (TensorFlow's rule) with a scratch copy.
        chief = distribute.is_chief(strategy)
        if chief:
            stack.enter_context(run_lock.RunLock(model_dir))
            scratch = None
        else:
            scratch = stack.enter_context(tempfile.TemporaryDirectory(prefix="rgan_tf_worker_"))

        # Nothing but the lock is written to model_dir before the folder is known to hold this
        # model's run (same config, readable checkpoints that fit): a refused run leaves it as
        # it was.
        operative_config = gin.operative_config_str()
        try:
            operative_config_lib.check_same_run(model_dir, operative_config)
        except operative_config_lib.RunMismatchError as error:
            if not resume_despite_changes:
                raise
            print(f"Warning (train.resume_despite_changes=True): {error}")
        checkpoints = checkpoints_lib.RunCheckpoints(
            model, layout.checkpoint_dir(model_dir), keep_checkpoints, write_directory=scratch)
        start = checkpoints.restore_latest()
        if chief:
            config_path = layout.operative_config(model_dir)
            with write_errors.reporting(config_path):
                files.write_text(config_path, operative_config)
            mode_path = layout.compile_mode_file(model_dir)
            with write_errors.reporting(mode_path):
                files.write_json(mode_path, compile_mode.as_dict(model.compile_mode))
        if start >= steps:
            print(f"{model_dir} already holds step {start} >= steps={steps}; nothing to train.")
            return model

        schedule = callbacks_lib.CheckpointSchedule(checkpoints, steps, checkpoint_every, timer,
                                                    strategy)
        stop = preemption.StopOnSignal(watcher, strategy)
        callbacks = [schedule]
        if chief:
            callbacks += [
                callbacks_lib.SampleGrid(layout.samples_dir(model_dir), sample_every,
                                         guard=schedule, stop=stop),
                callbacks_lib.ScalarLogs(layout.logs_dir(model_dir),
                                         every=min(100, checkpoint_every)),
            ]
        callbacks += extra_callbacks + [stop]  # last: it sees signals that came during the others
        try:
            pause_points.pause("training_start", start)
            stop.set_model(model)
            if stop.check():  # a signal during startup: no step, just the checkpoint
                schedule.set_model(model)
                schedule.save()
            else:
                model.fit(dataset.skip(start), epochs=math.ceil(steps / checkpoint_every),
                          initial_epoch=start // checkpoint_every,
                          steps_per_epoch=checkpoint_every, callbacks=callbacks, verbose=verbose)
        except write_errors.WriteFailedError as error:
            raise error.with_hint(_write_failure_hint(checkpoints)) from error.cause
        if schedule.failure is not None:
            step, name, value = schedule.failure
            kept = (f"The last good checkpoint, {checkpoints.latest}, was kept"
                    if checkpoints.latest else "No checkpoint had been written")
            raise NonFiniteLossError(
                f"Training stopped: {name} = {value} at step {step}; no checkpoint or sample was "
                f"written after it. {kept}. Lower the learning rate or eps, then train again "
                "(train.resume_despite_changes=True resumes this folder with the new settings).")
        step = checkpoints.step()
        if stop.stopped and step < steps:
            print(preemption.interrupted_message(step, checkpoints.latest), flush=True)
            raise preemption.TrainingInterrupted(step, checkpoints.latest, watcher.signal_name)
    return model


def _write_failure_hint(checkpoints):
    latest = checkpoints.latest
    kept = (f"every earlier checkpoint is intact (the latest: {latest})" if latest
            else "no checkpoint had been written yet")
    return (f"Training stopped at step {checkpoints.step()}; {kept}. Free some space (or fix "
            "the permissions), then run the same command to resume.")


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
