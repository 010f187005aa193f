"""Checkpoints of a run: both players, both optimizers, the step counter and the generator's moving
average (when on); and the check that a run folder belongs to the model being trained.

The step counter is the model's own `step_counter` (not the generator optimizer's `iterations`,
which a mixed-precision step skipped for overflow does not advance). Every random draw of a train
step is a pure function of `(seed, step)` (`rgan_tf.rng`) and the data set's order is fixed by the
seed, so the counter is also the data position (one batch per step): it is all the state a resume
needs. A checkpoint written before the counter existed takes its step from the generator
optimizer's `iterations` (what its draws were keyed on), with a message.

Writing is crash-safe: TensorFlow writes a checkpoint's data into a temporary folder, merges it into
`ckpt-<step>.data-*` and writes `ckpt-<step>.index` last, and `tf.train.CheckpointManager` then
replaces the `checkpoint` state file atomically. A process killed while writing leaves the state
file naming the previous checkpoint. Restoring does not trust that alone: each candidate is read in
full (TensorFlow checks every tensor's CRC) before any variable is assigned, and an unreadable one
is skipped, with a message, for the one before it.
"""
import glob
import inspect
import os
import re
import shutil

import tensorflow as tf
from gin import config as gin_config
from gin import config_parser

from rgan_tf import pause_points

#: Bindings that may change between the runs that share a folder: they steer the run, not the
#: model, its training maths or its data.
RUN_CONTROL_BINDINGS = frozenset({
    "train.steps", "train.verbose", "train.checkpoint_every", "train.checkpoint_every_secs",
    "train.sample_every",
    "train.keep_checkpoints", "train.strategy", "train.resume_despite_changes",
    "train.callbacks",
    "build_model.jit_compile",
    "RobustGAN.sampling",  # how images are made outside training, not how the model trains
})
# Whole configurables that only observe a run (evaluation during training).
RUN_CONTROL_PREFIXES = ("MetricsCallback.",)

_CHECKPOINT_NAME = re.compile(r"ckpt-(\d+)$")


class CheckpointError(ValueError):
    """No readable checkpoint, or a checkpoint that does not fit the model."""


class RunMismatchError(ValueError):
    """The run folder holds checkpoints of a different model or configuration."""


def build_checkpoint(model, without=()):
    """The `tf.train.Checkpoint` of a compiled `RobustGAN`: players, optimizers, the step counter
    (`step`) and, with `ema_decay` set, the generator's moving average (`ema`); minus the parts
    named in `without`."""
    parts = dict(generator=model.generator, discriminator=model.discriminator,
                 g_optimizer=model.g_optimizer, d_optimizer=model.d_optimizer,
                 step=model.step_counter)
    if model.ema_weights:
        parts["ema"] = list(model.ema_weights)
    return tf.train.Checkpoint(**{name: part for name, part in parts.items()
                                  if name not in without})


def saved_parts(path):
    """The top-level names (`generator`, `step`, `ema`, ...) a checkpoint holds."""
    names = tf.train.load_checkpoint(path).get_variable_to_shape_map()
    return {name.split("/")[0] for name in names if not name.startswith("_CHECKPOINTABLE")}


def checkpoint_step(path):
    """The step a checkpoint prefix `.../ckpt-<step>` was written at."""
    match = _CHECKPOINT_NAME.search(os.path.basename(path))
    if not match:
        raise ValueError(f"Not a run checkpoint (expected .../ckpt-<step>): {path}")
    return int(match.group(1))


def list_checkpoints(directory):
    """Checkpoint prefixes in `directory`, oldest first: those the state file names and any
    `ckpt-<step>.index` on disk (so a damaged state file hides nothing)."""
    paths = set(glob.glob(os.path.join(directory, "ckpt-*.index")))
    paths = {path[:-len(".index")] for path in paths}
    try:
        state = tf.train.get_checkpoint_state(directory)
    except Exception:  # noqa: BLE001  (an unparsable state file: rely on the files themselves)
        state = None
    if state is not None:
        paths.update(os.path.join(directory, os.path.basename(p))
                     for p in state.all_model_checkpoint_paths)
    paths = [p for p in paths if _CHECKPOINT_NAME.search(os.path.basename(p))]
    return sorted(paths, key=checkpoint_step)


def verify_checkpoint(path):
    """Reads every tensor of the checkpoint at `path` (TensorFlow checks their CRCs).

    Returns:
      None if the checkpoint reads back in full, else a short reason.
    """
    try:
        reader = tf.train.load_checkpoint(path)
        for name in reader.get_variable_to_shape_map():
            reader.get_tensor(name)
    except Exception as error:  # noqa: BLE001  (any failure means: do not restore this one)
        reason = str(error).strip().splitlines()
        return f"{type(error).__name__}: {reason[0] if reason else ''}"
    return None


def check_spectral_norm_layout(path):
    """Refuses a checkpoint written with `keras.layers.SpectralNormalization` (rgan_tf 0.1).

    That layer stored `W / sigma` in the kernel (and its power-iteration vector as `vector_u`);
    `rgan_tf.architectures.spectral_norm` keeps the raw `W` (Miyato et al.), so such weights
    would mean something else here.

    Raises:
      CheckpointError: the checkpoint has a `vector_u` variable.
    """
    names = [name for name, _ in tf.train.list_variables(path)]
    if any("/vector_u/" in name for name in names):
        raise CheckpointError(
            f"Checkpoint {path} was written with Keras' SpectralNormalization layer (rgan_tf "
            "0.1), which stored W / sigma in the kernel; this version keeps the raw W and "
            "normalizes it in the forward pass (Miyato et al.), so the checkpoint cannot be "
            "resumed, exported or evaluated. Train the model again with this version.")


class RunCheckpoints:
    """The checkpoints of one run folder (`<model_dir>/checkpoints`).

    Args:
      model: a compiled `RobustGAN` (optimizers built, as `RobustGAN.compile` does).
      directory: the checkpoint folder; created on the first `save`.
      max_to_keep: how many recent checkpoints to keep.
      log: where messages go (default `print`).
      write_directory: where `save` writes (default `directory`). A non-chief worker of a
        multi-worker run restores the chief's checkpoints but writes its own to a scratch
        folder: TensorFlow asks every worker to take part in a save, and only the chief's
        copy is kept.
    """

    def __init__(self, model, directory, max_to_keep=3, log=print, write_directory=None):
        self.model = model
        self.directory = directory
        self.checkpoint = build_checkpoint(model)
        self.manager = tf.train.CheckpointManager(self.checkpoint, write_directory or directory,
                                                  max_to_keep=max_to_keep)
        self.log = log
        self.restored = None  # the prefix restored from, if any
        self._saved_step = None

    @property
    def latest(self):
        """The newest checkpoint this run wrote or resumed from (None for a new run)."""
        if self._saved_step is not None:
            return os.path.join(self.directory, f"ckpt-{self._saved_step}")
        return self.manager.latest_checkpoint

    def all(self):
        """Every checkpoint prefix in the folder, oldest first."""
        return list_checkpoints(self.directory)

    def step(self):
        """The model's step counter (train steps done)."""
        return int(self.model.step_counter.numpy())

    def restore(self, path):
        """Restores the checkpoint at `path` after reading it in full; returns its step.

        Raises:
          CheckpointError: the checkpoint is unreadable, or does not fit the model (another
            architecture or optimizer: the message names the mismatch).
        """
        reason = verify_checkpoint(path)
        if reason is not None:
            raise CheckpointError(f"Checkpoint {path} is unreadable ({reason}).")
        check_spectral_norm_layout(path)
        saved = saved_parts(path)
        if "ema" in saved and not self.model.ema_weights:
            raise CheckpointError(
                f"Checkpoint {path} holds the generator's moving average (a run with "
                "RobustGAN.ema_decay set) but this model keeps none: bind RobustGAN.ema_decay "
                "as the run did.")
        missing = ({"step"} | ({"ema"} if self.model.ema_weights else set())) - saved
        checkpoint = (build_checkpoint(self.model, without=missing) if missing
                      else self.checkpoint)
        try:
            checkpoint.restore(path).assert_consumed()
        except (AssertionError, ValueError, tf.errors.OpError) as error:
            raise CheckpointError(
                f"Checkpoint {path} does not fit this model (a different architecture or "
                f"optimizer?): {str(error).strip().splitlines()[0]}") from error
        if checkpoint is not self.checkpoint:  # the written checkpoints count on from it
            self.checkpoint.save_counter.assign(checkpoint.save_counter)
        if "step" in missing:
            # Written before the model had its own step counter: its draws and data position
            # were keyed on the generator optimizer's iterations.
            self.model.step_counter.assign(self.model.g_optimizer.iterations)
            self.log(f"Note: {path} has no step counter (an older checkpoint); its step is the "
                     "generator optimizer's iterations.")
        if "ema" in missing:
            for average, weight in zip(self.model.ema_weights,
                                       self.model.generator.trainable_variables):
                average.assign(weight)
            self.log(f"Note: {path} has no moving average of the generator; it starts from "
                     "the restored generator's weights.")
        step = self.step()
        if step != checkpoint_step(path):
            raise CheckpointError(f"Checkpoint {path} holds step {step}, not the step its name "
                                  "says; it was not written by this library.")
        self.restored = path
        self._saved_step = step
        return step

    def restore_latest(self):
        """Restores the newest readable checkpoint; returns the step reached (0: a new run).

        An unreadable checkpoint (e.g. truncated by a full disk) is skipped for the one before
        it, with a message naming both. It stays on disk and is overwritten when training reaches
        its step again.

        Raises:
          CheckpointError: there are checkpoints but none is readable, or the newest readable
            one does not fit the model.
        """
        candidates = self.all()
        if not candidates:
            return self.step()
        for index in range(len(candidates) - 1, -1, -1):
            path = candidates[index]
            reason = verify_checkpoint(path)
            if reason is None:
                step = self.restore(path)
                self.log(f"Resumed from {path} (step {step}).")
                return step
            previous = candidates[index - 1] if index else None
            self.log(f"Warning: checkpoint {path} is unreadable ({reason}); "
                     + (f"falling back to {previous}." if previous else "no older one to use."))
        raise CheckpointError(
            f"None of the {len(candidates)} checkpoints in {self.directory} is readable; move "
            "the folder aside (or use a new --model_dir) to start again.")

    def save(self):
        """Writes a checkpoint named for the current step, unless this run already wrote (or
        resumed from) that step; returns its path."""
        step = self.step()
        if step != self._saved_step:
            pause_points.pause("checkpoint_write", step)  # a test hook; off by default
            try:
                self.manager.save(checkpoint_number=step)
            except BaseException:
                _remove_partial(self.manager.directory, step)
                raise
            self._saved_step = step
        return self.latest


def _remove_partial(directory, step):
    """Removes what a failed save of `step` left (e.g. on a full disk): TensorFlow's staging
    folder `ckpt-<step>_temp/` and a partial `ckpt-<step>.index` / `.data-*`. Such files are
    never a good checkpoint: a readable `ckpt-<step>` newer than the restored one would have
    been restored. The earlier checkpoints and the `checkpoint` state file are untouched."""
    shutil.rmtree(os.path.join(directory, f"ckpt-{step}_temp"), ignore_errors=True)
    for path in glob.glob(os.path.join(directory, f"ckpt-{step}.*")):
        try:
            os.remove(path)
        except OSError:
            pass


# ------------------------------------------------------------------------------------------------
# Is this folder's run the same model?

class _TextDelegate(config_parser.ParserDelegate):
    """Keeps configurable references and macros as their text, for comparing configs."""

    def configurable_reference(self, scoped_name, evaluate):
        return _Text(f"@{scoped_name}{'()' if evaluate else ''}")

    def macro(self, macro_name):
        return _Text(f"%{macro_name}")


class _Text(str):
    def __repr__(self):
        return str(self)


def _default_text(name):
    """The default value (as `parse_bindings` writes it) of the parameter `scope/selector.param`
    of a registered configurable, or None if it has none or cannot be looked up."""
    selector, _, param = name.rpartition("/")[2].rpartition(".")
    try:
        # gin has no public lookup of a configurable by name; a failure only means "unknown".
        configurable = gin_config._REGISTRY.get_match(selector)  # pylint: disable=protected-access
        target = configurable.wrapped
        target = target.__init__ if inspect.isclass(target) else target
        default = inspect.signature(target).parameters[param].default
    except Exception:  # noqa: BLE001
        return None
    if default is inspect.Parameter.empty:
        return None
    try:
        return parse_bindings(f"{selector}.{param} = {default!r}")[f"{selector}.{param}"]
    except Exception:  # noqa: BLE001  (a default gin cannot write, e.g. an object)
        return None


def parse_bindings(config_text):
    """`{"scope/selector.param": value text}` of a gin config text (e.g. an operative config)."""
    bindings = {}
    for statement in config_parser.ConfigParser(config_text, _TextDelegate()):
        if isinstance(statement, config_parser.BindingStatement):
            scope = f"{statement.scope}/" if statement.scope else ""
            # Operative configs name configurables by their shortest unique selector; keep the
            # last dotted part so "rgan_tf.training.train" and "train" compare equal.
            selector = statement.selector.split(".")[-1]
            bindings[f"{scope}{selector}.{statement.arg_name}"] = repr(statement.value)
    return bindings


def config_differences(saved_text, current_text, ignore=RUN_CONTROL_BINDINGS):
    """Lines `name: saved -> current` for every binding that differs between two configs.

    A parameter only one side lists counts as a difference unless its value there is the
    configurable's default: a parameter added to the library since the run was saved leaves the
    run's behaviour as it was as long as it keeps its default.
    """
    saved, current = parse_bindings(saved_text), parse_bindings(current_text)
    lines = []
    for name in sorted(set(saved) | set(current)):
        if name in ignore or name.startswith(RUN_CONTROL_PREFIXES):
            continue
        before, after = saved.get(name, "(not set)"), current.get(name, "(not set)")
        if (name in saved) != (name in current):
            if _default_text(name) == (after if name in current else before):
                continue
        if before != after:
            lines.append(f"{name}: {before} (saved) -> {after} (now)")
    return lines


def check_same_run(model_dir, operative_config, config_name="operative_config.gin",
                   checkpoint_dir="checkpoints"):
    """Refuses a run folder whose checkpoints belong to a different configuration.

    Compares the folder's saved operative config with this run's, ignoring the bindings that
    only steer the run (`RUN_CONTROL_BINDINGS`: steps, checkpoint and sample frequency, ...).
    Reads only: nothing in the folder is written or removed.

    Raises:
      RunMismatchError: the folder has checkpoints and its config differs (the message lists
        every differing binding).
    """
    if not list_checkpoints(os.path.join(model_dir, checkpoint_dir)):
        return
    path = os.path.join(model_dir, config_name)
    if not os.path.isfile(path):
        return  # nothing to compare with: restoring checks that the variables fit.
    with open(path) as saved:
        saved_text = saved.read()
    try:
        differences = config_differences(saved_text, operative_config)
    except (SyntaxError, ValueError) as error:
        raise RunMismatchError(f"{path} cannot be parsed ({error}); cannot tell whether the "
                               "checkpoints in this folder are this model's.") from error
    if differences:
        raise RunMismatchError(
            f"{model_dir} holds checkpoints of a different run configuration; refusing to resume "
            "or overwrite them. Use a new --model_dir or the saved settings (or bind "
            "train.resume_despite_changes=True to resume with the new ones). Differences:\n  "
            + "\n  ".join(differences))

