"""Checkpoints of a run: both players, both optimizers and the step counter.

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
import os
import re

import tensorflow as tf

from rgan_tf.run import layout

_CHECKPOINT_NAME = re.compile(r"ckpt-(\d+)$")


class CheckpointError(ValueError):
    """No readable checkpoint, or a checkpoint that does not fit the model."""


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


def resolve_checkpoint(model_dir, checkpoint=None):
    """The checkpoint prefix named by `checkpoint`: None (the latest), a step (`500`), a name
    (`ckpt-500`) or a path; ValueError if it is not there."""
    if checkpoint is None:
        return None
    checkpoint = str(checkpoint)
    directory = layout.checkpoint_dir(model_dir)
    if checkpoint.isdigit():
        checkpoint = f"ckpt-{checkpoint}"
    path = checkpoint if os.sep in checkpoint else os.path.join(directory, checkpoint)
    if path.endswith(".index"):
        path = path[:-len(".index")]
    if not os.path.isfile(path + ".index"):
        available = [os.path.basename(p) for p in list_checkpoints(directory)]
        raise ValueError(f"No checkpoint {checkpoint!r} in {directory}; available: "
                         f"{', '.join(available) or 'none'}.")
    return path
