"""Checkpoints of a run: both players, both optimizers and the step counter; and the check that a
run folder belongs to the model being trained.

The step counter is the generator optimizer's `iterations`. Every random draw of a train step is a
pure function of `(seed, step)` (`rgan_tf.rng`) and the data set's order is fixed by the seed, so
the counter is also the data position (one batch per step): it is all the state a resume needs.

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

import tensorflow as tf
from gin import config as gin_config
from gin import config_parser

#: Bindings that may change between the runs that share a folder: they steer the run, not the
#: model, its training maths or its data.
RUN_CONTROL_BINDINGS = frozenset({
    "train.steps", "train.verbose", "train.checkpoint_every", "train.sample_every",
    "train.keep_checkpoints", "train.strategy", "train.resume_despite_changes",
    "train.callbacks",
    "build_model.jit_compile",
})
# Whole configurables that only observe a run (evaluation during training).
RUN_CONTROL_PREFIXES = ("MetricsCallback.",)

_CHECKPOINT_NAME = re.compile(r"ckpt-(\d+)$")


class CheckpointError(ValueError):
    """No readable checkpoint, or a checkpoint that does not fit the model."""


class RunMismatchError(ValueError):
    """The run folder holds checkpoints of a different model or configuration."""


def build_checkpoint(model):
    """The `tf.train.Checkpoint` of a compiled `RobustGAN`: players and optimizers."""
    return tf.train.Checkpoint(generator=model.generator, discriminator=model.discriminator,
                               g_optimizer=model.g_optimizer, d_optimizer=model.d_optimizer)


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


class RunCheckpoints:
    """The checkpoints of one run folder (`<model_dir>/checkpoints`).

    Args:
      model: a compiled `RobustGAN` (optimizers built, as `RobustGAN.compile` does).
      directory: the checkpoint folder; created on the first `save`.
      max_to_keep: how many recent checkpoints to keep.
      log: where messages go (default `print`).
    """

    def __init__(self, model, directory, max_to_keep=3, log=print):
        self.model = model
        self.directory = directory
        self.checkpoint = build_checkpoint(model)
        self.manager = tf.train.CheckpointManager(self.checkpoint, directory,
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
        """The model's step counter (generator iterations done)."""
        return int(self.model.g_optimizer.iterations.numpy())

    def restore(self, path):
        """Restores the checkpoint at `path` after reading it in full; returns its step.

        Raises:
          CheckpointError: the checkpoint is unreadable, or does not fit the model (another
            architecture or optimizer: the message names the mismatch).
        """
        reason = verify_checkpoint(path)
        if reason is not None:
            raise CheckpointError(f"Checkpoint {path} is unreadable ({reason}).")
        try:
            self.checkpoint.restore(path).assert_consumed()
        except (AssertionError, ValueError, tf.errors.OpError) as error:
            raise CheckpointError(
                f"Checkpoint {path} does not fit this model (a different architecture or "
                f"optimizer?): {str(error).strip().splitlines()[0]}") from error
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
            self.manager.save(checkpoint_number=step)
            self._saved_step = step
        return self.latest


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

