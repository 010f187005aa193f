"""Time-based checkpoints (`train.checkpoint_every_secs`), with an injected clock (no sleeps): the
timer is due once the seconds have passed since the last checkpoint of either kind, and `train`
writes checkpoints at exactly those steps; the resumed weights stay those of an uninterrupted run."""
import keras
import pytest

from rgan_tf import checkpoint_timer
from rgan_tf import checkpoints as checkpoints_lib
from rgan_tf import launch
from conftest import CONFIG, assert_same_checkpoints, tiny


class FakeClock:
    def __init__(self):
        self.now = 0.0

    def __call__(self):
        return self.now


def test_timer_is_due_after_every_secs_since_the_last_reset():
    clock = FakeClock()
    timer = checkpoint_timer.CheckpointTimer(10, clock=clock)
    timer.reset()
    clock.now = 9.9
    assert not timer.due()
    clock.now = 10.0
    assert timer.due()
    timer.reset()
    clock.now = 19.9
    assert not timer.due()
    clock.now = 20.0
    assert timer.due()


@pytest.mark.parametrize("off", [None, 0])
def test_timer_that_is_off_is_never_due(off):
    clock = FakeClock()
    timer = checkpoint_timer.CheckpointTimer(off, clock=clock)
    timer.reset()
    clock.now = 1e9
    assert not timer.due()


@pytest.mark.parametrize("bad", [-1, float("nan"), "600", True])
def test_bad_interval_is_refused(bad):
    with pytest.raises(ValueError, match="checkpoint_every_secs must be a number of seconds"):
        checkpoint_timer.CheckpointTimer(bad)


def test_interval_may_change_when_a_run_is_resumed():
    assert checkpoints_lib.config_differences("train.checkpoint_every_secs = 600",
                                              "train.checkpoint_every_secs = 60") == []


class AdvanceClock(keras.callbacks.Callback):
    """Each train step takes `seconds` of the fake clock."""

    def __init__(self, clock, seconds):
        super().__init__()
        self.clock, self.seconds = clock, seconds

    def on_train_batch_begin(self, batch, logs=None):
        self.clock.now += self.seconds


def train_with_clock(model_dir, monkeypatch, steps, every_secs, seconds_per_step=2.0):
    clock = FakeClock()
    monkeypatch.setattr(checkpoint_timer, "_now", clock)
    launch.parse_gin([CONFIG], tiny(steps, "train.checkpoint_every = 4",
                                    f"train.checkpoint_every_secs = {every_secs}",
                                    "train.keep_checkpoints = 10", "train.sample_every = 0"))
    from rgan_tf import training
    training.train(str(model_dir), callbacks=[lambda _: AdvanceClock(clock, seconds_per_step)])
    return [checkpoints_lib.checkpoint_step(path)
            for path in checkpoints_lib.list_checkpoints(str(model_dir / "checkpoints"))]


def test_train_writes_checkpoints_when_the_time_is_due(tmp_path, monkeypatch):
    # 2 s a step, a checkpoint due after 5 s: the timer fires at step 3 (6 s); step 4 is a
    # step-based checkpoint, which restarts the timer; then step 7 (6 s after step 4); step 8
    # ends the run.
    assert train_with_clock(tmp_path / "timed", monkeypatch, 8, 5) == [3, 4, 7, 8]
    assert train_with_clock(tmp_path / "steps", monkeypatch, 8, 0) == [4, 8]
    # The extra checkpoints do not change training.
    assert_same_checkpoints(tmp_path / "timed" / "checkpoints" / "ckpt-8",
                            tmp_path / "steps" / "checkpoints" / "ckpt-8")
