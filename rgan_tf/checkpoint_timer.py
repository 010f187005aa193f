"""When a time-based checkpoint is due (`train.checkpoint_every_secs`).

Step-based checkpoints (`train.checkpoint_every`) bound the steps a crash without grace (SIGKILL,
power loss, OOM killer) loses; on a slow configuration 500 steps can be an hour. The timer bounds
the loss in time as well: a checkpoint is due once `every_secs` have passed since the last one
(of either kind) or since training started.
"""
import time


def _now():
    """The clock (monotonic seconds); tests replace it."""
    return time.monotonic()


class CheckpointTimer:
    """Says when `every_secs` have passed since the last `reset`.

    Args:
      every_secs: seconds between time-based checkpoints; None or 0: never due.
      clock: a function returning seconds (default: this module's monotonic clock).
    """

    def __init__(self, every_secs, clock=None):
        if every_secs is not None and (isinstance(every_secs, bool)
                                       or not isinstance(every_secs, (int, float))
                                       or not every_secs >= 0):
            raise ValueError(f"train.checkpoint_every_secs must be a number of seconds >= 0 "
                             f"(0 or None: off), got {every_secs!r}.")
        self.every_secs = every_secs or None
        self._clock = clock or (lambda: _now())
        self._last = None

    def reset(self):
        """Starts counting from now (at the start of training and after every checkpoint)."""
        self._last = self._clock()

    def due(self):
        """Whether `every_secs` have passed since the last `reset`."""
        if self.every_secs is None:
            return False
        if self._last is None:
            self.reset()
            return False
        return self._clock() - self._last >= self.every_secs
