"""Graceful preemption: SIGTERM or SIGINT ends a training run after the step in flight, with a
checkpoint of that step.

A scheduler or a preemptible VM sends SIGTERM (with seconds of grace); a person presses Ctrl-C
(SIGINT). `SignalWatcher` turns the first of either into a request that training reads between
steps (`StopOnSignal`): the step in flight finishes, `rgan_tf.training.train` writes a checkpoint
of it and raises `TrainingInterrupted`, which exits the process with `EXIT_INTERRUPTED` and one
line:

    Interrupted at step N; checkpoint saved to <path>; run the same command to resume.

After the first signal, a second SIGINT aborts at once: the watcher gives SIGINT back to the
operating system's default action, which ends the process where it stands (inside a step or a
checkpoint write alike), as SIGKILL would. Checkpoint writes are atomic
(`rgan_tf.checkpoints`), so nothing half-written becomes the latest checkpoint: the next run
resumes from the last complete one. Further SIGTERMs are ignored (the save is under way; the
scheduler's SIGKILL ends it if the grace runs out).

Exit status: `EXIT_INTERRUPTED` = 75, sysexits.h's EX_TEMPFAIL ("a temporary failure; the
operation may be retried"), the same for both signals, so a scheduler restarts on one number.
It is not 128 + signal (130, 143): shells and schedulers report a process killed by a signal that
way, and such a process saved nothing; 75 says that a checkpoint of the last step was written.
(TensorFlow's `PreemptionCheckpointHandler` likewise exits with a fixed code, 42 on Borg.)

Multi-worker runs: a signal reaches one worker, but every worker must stop after the same step
(each step is a collective operation). `StopOnSignal` therefore sums the workers' requests after
every step (`rgan_tf.distribute.any_worker`) and all workers stop together.
"""
import signal
import threading

import keras
from absl import logging

from rgan_tf import distribute

#: The exit status of a run interrupted by SIGTERM or SIGINT after saving its checkpoint.
EXIT_INTERRUPTED = 75

SIGNALS = (signal.SIGTERM, signal.SIGINT)


class TrainingInterrupted(SystemExit):
    """Training stopped on SIGTERM or SIGINT after writing a checkpoint of its last step.

    A `SystemExit` with code `EXIT_INTERRUPTED`: uncaught, it ends the program with that status
    and no traceback (like `KeyboardInterrupt`, `except Exception` does not catch it).

    Attributes:
      step: the step reached (and saved).
      checkpoint: the path of the checkpoint holding it.
      signal_name: "SIGTERM" or "SIGINT" (None when another worker received the signal).
    """

    def __init__(self, step, checkpoint, signal_name=None):
        super().__init__(EXIT_INTERRUPTED)
        self.step, self.checkpoint, self.signal_name = step, checkpoint, signal_name

    def __str__(self):
        return interrupted_message(self.step, self.checkpoint)


def interrupted_message(step, checkpoint):
    """The one line an interrupted run prints."""
    return (f"Interrupted at step {step}; checkpoint saved to {checkpoint}; run the same command "
            "to resume.")


class SignalWatcher:
    """Records the first SIGTERM or SIGINT instead of dying of it (a context manager).

    Inside the block the first signal sets `signum`; SIGINT then gets the default action back
    (a second Ctrl-C kills the process at once) and later SIGTERMs are ignored. Leaving the
    block restores the handlers found on entry. Outside the main thread (where Python cannot
    install handlers) the watcher does nothing and the signals keep their usual effect.
    """

    def __init__(self):
        self.signum = None
        self._previous = {}

    @property
    def requested(self):
        """Whether a signal asked training to stop."""
        return self.signum is not None

    @property
    def signal_name(self):
        return None if self.signum is None else signal.Signals(self.signum).name

    def __enter__(self):
        if threading.current_thread() is not threading.main_thread():
            logging.warning("Not in the main thread: SIGTERM and SIGINT keep their default "
                            "effect (no checkpoint on interruption).")
            return self
        for signum in SIGNALS:
            self._previous[signum] = signal.signal(signum, self._handle)
        return self

    def __exit__(self, *exc_info):
        for signum, handler in self._previous.items():
            signal.signal(signum, handler)
        self._previous = {}
        return False

    def _handle(self, signum, frame):
        del frame
        if self.signum is None:
            self.signum = signum
            signal.signal(signal.SIGINT, signal.SIG_DFL)  # a second Ctrl-C aborts at once
            signal.signal(signal.SIGTERM, signal.SIG_IGN)


class StopOnSignal(keras.callbacks.Callback):
    """Stops `fit` after the step during which a signal arrived (put it last among the
    callbacks, so the step's own checkpoint, grid and logs are written first).

    Args:
      watcher: the `SignalWatcher` of this process.
      strategy: the model's `tf.distribute.Strategy`; under a multi-worker strategy the workers
        agree after every step, so all stop after the same one.
    """

    def __init__(self, watcher, strategy=None):
        super().__init__()
        self.watcher = watcher
        self.strategy = strategy
        self.stopped = False  # agreed among workers: training stops for a signal

    def on_train_batch_end(self, batch, logs=None):
        self.check()

    def on_epoch_end(self, epoch, logs=None):
        # A signal during the epoch's end-of-epoch work: fit only looks at stop_training again
        # after on_epoch_end. (Under several workers, every worker takes part.)
        self.check()

    def check(self):
        """Whether training stops for a signal (on any worker); tells the model so. Returns
        the same answer on every worker."""
        if not self.stopped:
            (self.stopped,) = distribute.any_worker([self.watcher.requested], self.strategy)
        if self.stopped and self.model is not None:
            self.model.stop_training = True
        return self.stopped
