"""A full or unwritable disk: an OSError (or TensorFlow's error for one) injected at each write
site - checkpoint, sample grid, TensorBoard log, metrics, operative config, run lock, export,
samples - stops the work with one `WriteFailedError` naming the path and the free space, and
every earlier checkpoint stays readable (the run then resumes to the weights of an
uninterrupted one). Also a real ENOSPC (a grid written into /dev/full) through the launcher."""
import errno
import os
import subprocess

import numpy as np
import pytest
import tensorflow as tf
from PIL import Image

from rgan_tf import config
from rgan_tf import export
from rgan_tf import samples
from rgan_tf import training
from rgan_tf import write_errors
from rgan_tf.run import checkpoints as checkpoints_lib
from rgan_tf.run import metrics_callback
from rgan_tf.run import run_lock
from conftest import (CONFIG, assert_refused, assert_same_checkpoints, snapshot, tiny,
                      tool_command, train_in_process)

STEPS = 8
BINDINGS = ["train.checkpoint_every = 4", "train.sample_every = 4", "train.keep_checkpoints = 5"]
ENOSPC = OSError(errno.ENOSPC, os.strerror(errno.ENOSPC))


def bindings(steps=STEPS):
    return tiny(steps, *BINDINGS)


def train(model_dir, callbacks=()):
    config.parse_gin([CONFIG], bindings())
    return training.train(str(model_dir), callbacks=list(callbacks))


@pytest.fixture(scope="module")
def uninterrupted(tmp_path_factory):
    folder = tmp_path_factory.mktemp("whole") / "run"
    train_in_process(folder, bindings())
    return folder / "checkpoints" / f"ckpt-{STEPS}"


def assert_stopped(raised, path, step, latest):
    """One line naming `path`, the free space, the step and the intact latest checkpoint."""
    message = str(raised.value).split("\n  In call to configurable")[0]
    assert "\n" not in message, message
    assert message.startswith(f"Could not write {path} ("), message
    assert " free on its disk (" in message
    if latest is None:
        assert "no checkpoint had been written yet" in message, message
    else:
        assert (f"Training stopped at step {step}; every earlier checkpoint is intact (the "
                f"latest: {latest}). Free some space") in message, message
    return message


def assert_checkpoints_readable(run, steps):
    paths = checkpoints_lib.list_checkpoints(str(run / "checkpoints"))
    assert [checkpoints_lib.checkpoint_step(p) for p in paths] == steps
    for path in paths:
        assert checkpoints_lib.verify_checkpoint(path) is None, path
    assert not (run / "train.lock").exists()  # released on the way out


# ------------------------------------------------------------------------------------------------
# Training: each write site.

def test_failed_checkpoint_write_keeps_the_earlier_ones_and_resumes_exactly(
        tmp_path, monkeypatch, uninterrupted):
    run = tmp_path / "run"
    real_save = tf.train.CheckpointManager.save

    def save(self, checkpoint_number=None, **kwargs):
        if checkpoint_number == 8:  # what TensorFlow leaves on a full disk, then its error
            os.makedirs(os.path.join(self.directory, "ckpt-8_temp"))
            for name in ("ckpt-8.data-00000-of-00001", "ckpt-8.index"):
                with open(os.path.join(self.directory, name), "wb") as partial:
                    partial.write(b"cut short")
            raise tf.errors.ResourceExhaustedError(
                None, None, "{{function_node __wrapped__SaveV2}} "
                f"{self.directory}/ckpt-8_temp/part-00000; No space left on device [Op:SaveV2]")
        return real_save(self, checkpoint_number=checkpoint_number, **kwargs)

    monkeypatch.setattr(tf.train.CheckpointManager, "save", save)
    with pytest.raises(write_errors.WriteFailedError) as raised:
        train(run)
    message = assert_stopped(raised, f"{run}/checkpoints/ckpt-8", 8,
                             f"{run}/checkpoints/ckpt-4")
    assert "ResourceExhaustedError: " in message and "No space left on device" in message
    assert "function_node" not in message
    assert_checkpoints_readable(run, [4])
    # The partial write is removed (the resume below then starts from ckpt-4 without a
    # warning about an unreadable ckpt-8).
    assert sorted(os.listdir(run / "checkpoints")) == [
        "checkpoint", "ckpt-4.data-00000-of-00001", "ckpt-4.index"]

    monkeypatch.undo()
    train_in_process(run, bindings())
    assert_same_checkpoints(uninterrupted, run / "checkpoints" / f"ckpt-{STEPS}")


def test_failed_sample_grid_stops_the_run(tmp_path, monkeypatch):
    run = tmp_path / "run"
    real_save = Image.Image.save

    def save(self, path, *args, **kwargs):
        if "step_0000008" in str(path):
            raise OSError(errno.EACCES, os.strerror(errno.EACCES), str(path))
        return real_save(self, path, *args, **kwargs)

    monkeypatch.setattr(Image.Image, "save", save)
    with pytest.raises(write_errors.WriteFailedError) as raised:
        train(run)
    message = assert_stopped(raised, f"{run}/samples/step_0000008.png", 8,
                             f"{run}/checkpoints/ckpt-8")
    assert "[Errno 13] Permission denied" in message
    assert_checkpoints_readable(run, [4, 8])  # step 8's checkpoint came before its grid


def test_failed_tensorboard_write_stops_the_run(tmp_path, monkeypatch):
    run = tmp_path / "run"
    real_write = tf.summary.write

    def write(tag, tensor, step=None, **kwargs):
        if int(step) == 8:
            raise tf.errors.ResourceExhaustedError(None, None, "logs/events: No space left")
        return real_write(tag, tensor, step=step, **kwargs)

    monkeypatch.setattr(tf.summary, "write", write)
    with pytest.raises(write_errors.WriteFailedError) as raised:
        train(run)
    assert_stopped(raised, f"{run}/logs", 8, f"{run}/checkpoints/ckpt-8")
    assert_checkpoints_readable(run, [4, 8])


def test_failed_metrics_write_stops_the_run(tmp_path, monkeypatch):
    # MetricsCallback with its measurements replaced by a constant record: only its writes run.
    run = tmp_path / "run"
    monkeypatch.setattr(metrics_callback.classifiers_lib, "load_classifier", lambda spec: None)
    monkeypatch.setattr(metrics_callback.measures, "evaluate_model", lambda *args, **kwargs: {"is50": 1.0})

    def append_jsonl(path, record):
        if record["step"] == 4:
            raise ENOSPC
        raise AssertionError("evaluated after the failure")

    monkeypatch.setattr(metrics_callback.files, "append_jsonl", append_jsonl)
    metrics = lambda model_dir: metrics_callback.MetricsCallback(  # noqa: E731
        model_dir, every=4, num_samples=10, generalization=False, plot=False)
    with pytest.raises(write_errors.WriteFailedError) as raised:
        train(run, callbacks=[metrics])
    assert_stopped(raised, f"{run}/metrics.jsonl", 4, f"{run}/checkpoints/ckpt-4")
    assert_checkpoints_readable(run, [4])


def test_failed_operative_config_write_leaves_nothing_behind(tmp_path, monkeypatch):
    run = tmp_path / "run"
    real_replace = os.replace

    def replace(source, target, **kwargs):
        if str(target).endswith("operative_config.gin"):
            raise OSError(errno.EROFS, os.strerror(errno.EROFS))
        return real_replace(source, target, **kwargs)

    monkeypatch.setattr(os, "replace", replace)
    with pytest.raises(write_errors.WriteFailedError) as raised:
        train(run)
    message = str(raised.value)
    assert message.startswith(f"Could not write {run}/operative_config.gin ([Errno 30] "
                              "Read-only file system); ")
    assert not run.exists()  # no temporary file, no lock, no folder


def test_failed_lock_write_names_the_lock_file(tmp_path, monkeypatch):
    def no_space(*args, **kwargs):
        raise ENOSPC

    monkeypatch.setattr(run_lock.os, "write", no_space)
    with pytest.raises(write_errors.WriteFailedError,
                       match=f"Could not write {tmp_path}/train.lock .*No space left"):
        run_lock.RunLock(str(tmp_path)).acquire()


# ------------------------------------------------------------------------------------------------
# Export and samples.

@pytest.fixture(scope="module")
def trained(tmp_path_factory):
    folder = tmp_path_factory.mktemp("trained") / "run"
    train_in_process(folder, tiny(2))
    return folder


def test_failed_export_names_the_export_and_leaves_no_partial_one(trained, tmp_path,
                                                                   monkeypatch):
    def save(*args, **kwargs):
        raise tf.errors.PermissionDeniedError(None, None, "variables/variables.index; denied")

    monkeypatch.setattr(tf.saved_model, "save", save)
    before = snapshot(trained)
    target = tmp_path / "exports" / "gen"
    with pytest.raises(write_errors.WriteFailedError) as raised:
        export.export_run(str(trained), str(target), log=lambda _: None)
    assert str(raised.value).startswith(f"Could not write {target} (PermissionDeniedError: ")
    assert " free on its disk (" in str(raised.value)
    assert os.listdir(tmp_path / "exports") == []  # the staging folder is removed
    assert snapshot(trained) == before


def test_failed_sample_write_names_the_output(tmp_path, monkeypatch):
    def save(self, path, *args, **kwargs):
        raise ENOSPC

    monkeypatch.setattr(Image.Image, "save", save)
    images = np.zeros((4, 8, 8, 1), np.float32)
    with pytest.raises(write_errors.WriteFailedError,
                       match=f"Could not write {tmp_path}/grid.png .*No space left on device"):
        samples.write_samples(images, None, str(tmp_path / "grid.png"))
    with pytest.raises(ValueError, match="exists"):  # other errors pass unchanged
        (tmp_path / "taken.png").write_bytes(b"")
        samples.write_samples(images, None, str(tmp_path / "taken.png"))


# ------------------------------------------------------------------------------------------------
# The message.

def test_message_names_the_path_the_reason_and_the_free_space(tmp_path):
    error = write_errors.WriteFailedError(str(tmp_path / "a" / "b.png"), ENOSPC)
    free, measured = write_errors.free_space(str(tmp_path / "a" / "b.png"))
    assert measured == str(tmp_path)  # the nearest folder that exists
    assert str(error) == (f"Could not write {tmp_path}/a/b.png ([Errno 28] No space left on "
                          f"device); {write_errors.format_bytes(free)} free on its disk "
                          f"({tmp_path}).")
    assert isinstance(error, OSError) and error.cause is ENOSPC


def test_free_space_is_written_for_people():
    assert [write_errors.format_bytes(n) for n in (0, 1023, 1536, 5 * 2**30)] == [
        "0 B", "1023 B", "1.5 KB", "5.0 GB"]


def test_reporting_converts_disk_errors_only(tmp_path):
    with pytest.raises(write_errors.WriteFailedError, match="Errno 28"):
        with write_errors.reporting("x"):
            raise ENOSPC
    with pytest.raises(write_errors.WriteFailedError, match=r"\(ResourceExhaustedError: /f; full"):
        with write_errors.reporting("x"):
            raise tf.errors.ResourceExhaustedError(None, None, "{{function_node f}} /f; full\nmore")
    with pytest.raises(KeyError):
        with write_errors.reporting("x"):
            raise KeyError("not a write")


# ------------------------------------------------------------------------------------------------
# A real full disk, through the launcher.

@pytest.mark.slow  # a training process, ~20 s
def test_real_enospc_through_the_launcher_is_one_error_line(tmp_path):
    # The grid of step 2 is written through a temporary file named with the writer's pid
    # (`rgan_tf.files.atomic_path`): once the launcher runs (its TensorFlow import alone takes
    # seconds), that name is made a link to /dev/full, where every write fails with ENOSPC.
    run = tmp_path / "run"
    (run / "samples").mkdir(parents=True)
    flags = [f"--gin_bindings={binding}" for binding in tiny(4)]
    process = subprocess.Popen(
        tool_command("train.py", f"--gin_file={CONFIG}", f"--model_dir={run}", *flags),
        stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
        env=dict(os.environ, TF_CPP_MIN_LOG_LEVEL="2"))
    os.symlink("/dev/full", run / "samples" / f".step_0000002.png.tmp-{process.pid}.png")
    stdout, stderr = process.communicate(timeout=900)
    result = subprocess.CompletedProcess(process.args, process.returncode, stdout, stderr)
    message = assert_refused(result, f"Could not write {run}/samples/step_0000002.png "
                             "([Errno 28] No space left on device); ", " free on its disk ",
                             "Training stopped at step 2; every earlier checkpoint is intact "
                             f"(the latest: {run}/checkpoints/ckpt-2)")
    assert "run the same command to resume" in message
    assert checkpoints_lib.verify_checkpoint(str(run / "checkpoints" / "ckpt-2")) is None
