"""Graceful preemption: SIGTERM or SIGINT sent to a real training process at a known point (a
pause point, `rgan_tf.run.pause_points`) ends it after the step in flight with a checkpoint of that
step, one line and exit status 75; a second SIGINT aborts at once and leaves the previous
checkpoint as the latest; every resume ends with bit-for-bit the weights of an uninterrupted
run. Also the watcher and the stop callback on their own, and (slow) two workers."""
import json
import os
import signal
import socket
import subprocess
import time

import keras
import pytest
import tensorflow as tf

from rgan_tf.run import checkpoints as checkpoints_lib
from rgan_tf.run import pause_points
from rgan_tf.run import preemption
from conftest import (CONFIG, PAUSE_WAIT_S, PREEMPTION_STEPS, assert_same_checkpoints, listing,
                      preemption_bindings, start_paused, tool_command, train_in_process)

STEPS = PREEMPTION_STEPS
WAIT_S = PAUSE_WAIT_S
bindings = preemption_bindings


def signal_mask(pid, field):
    """The set of signals in /proc/<pid>/status's `field` (SigCgt: caught, SigIgn: ignored)."""
    with open(f"/proc/{pid}/status") as status:
        for line in status:
            if line.startswith(field + ":"):
                bits = int(line.split()[1], 16)
                return {number + 1 for number in range(64) if bits >> number & 1}
    return set()


def wait_until_handled(process):
    """Waits until the trainer's handler has run for the first signal (it then ignores SIGTERM),
    so that the next signal, or leaving the pause, happens after it: no timing involved."""
    deadline = time.monotonic() + WAIT_S
    while signal.SIGTERM not in signal_mask(process.pid, "SigIgn"):
        assert process.poll() is None and time.monotonic() < deadline
        time.sleep(0.005)


def interrupt(process, signals):
    """Sends `signals` to a paused trainer, each once the previous one was handled; lets it go
    on once the last (if it survives it) was handled too; returns (returncode, stdout, stderr)."""
    for signum in signals[:-1]:
        process.send_signal(signum)
        wait_until_handled(process)
    process.send_signal(signals[-1])
    if len(signals) == 1:
        wait_until_handled(process)
    process.pause_file.unlink(missing_ok=True)
    stdout, stderr = process.communicate(timeout=WAIT_S)
    return process.returncode, stdout, stderr


@pytest.fixture(scope="module")
def uninterrupted(tmp_path_factory):
    """The checkpoint of an uninterrupted run of STEPS steps (trained in this process)."""
    folder = tmp_path_factory.mktemp("whole") / "run"
    train_in_process(folder, bindings())
    return folder / "checkpoints" / f"ckpt-{STEPS}"


def checkpoint_steps(model_dir):
    return [checkpoints_lib.checkpoint_step(p)
            for p in checkpoints_lib.list_checkpoints(str(model_dir / "checkpoints"))]


def resume_and_compare(run, uninterrupted, capsys):
    """Resumes `run` in this process; its last checkpoint must equal the uninterrupted run's."""
    train_in_process(run, bindings())
    assert_same_checkpoints(uninterrupted, run / "checkpoints" / f"ckpt-{STEPS}")
    return capsys.readouterr().out


def assert_interrupted(result, run, step):
    returncode, stdout, stderr = result
    assert returncode == preemption.EXIT_INTERRUPTED, (stdout, stderr[-3000:])
    line = (f"Interrupted at step {step}; checkpoint saved to {run}/checkpoints/ckpt-{step}; run "
            "the same command to resume.")
    lines = stdout.splitlines()
    # One line, the last; a resumed run says "Resumed from ..." before it.
    assert lines[-1] == line and [x for x in lines if "Interrupted" in x] == [line], stdout
    assert all(x.startswith("Resumed from") for x in lines[:-1]), stdout
    assert "Traceback" not in stderr and "KeyboardInterrupt" not in stderr, stderr[-3000:]
    assert not (run / "train.lock").exists()  # released


# ------------------------------------------------------------------------------------------------
# A real training process, signalled at known points.

def test_sigterm_mid_epoch_saves_the_step_in_flight_and_resumes_exactly(tmp_path, uninterrupted,
                                                                         capsys):
    run = tmp_path / "run"
    process = start_paused(run, "step_end:6", tmp_path)
    assert_interrupted(interrupt(process, [signal.SIGTERM]), run, 6)
    assert checkpoint_steps(run) == [4, 6]  # step 6 is not a checkpoint step: none lost
    assert checkpoints_lib.verify_checkpoint(str(run / "checkpoints" / "ckpt-6")) is None
    # The grids up to step 6 (whose grid comes after the signal), no final grid after a signal.
    assert sorted(os.listdir(run / "samples")) == [
        "latest.png", "step_0000002.png", "step_0000004.png", "step_0000006.png"]
    out = resume_and_compare(run, uninterrupted, capsys)
    assert f"Resumed from {run}/checkpoints/ckpt-6 (step 6)" in out
    # Checkpoints stay on multiples of checkpoint_every after a mid-epoch resume.
    assert checkpoint_steps(run) == [6, 8, 12]


def test_sigint_during_a_sample_grid_finishes_the_grid_and_saves(tmp_path, uninterrupted, capsys):
    run = tmp_path / "run"
    process = start_paused(run, "sample_grid:6", tmp_path)  # mid-epoch
    assert_interrupted(interrupt(process, [signal.SIGINT]), run, 6)
    assert checkpoint_steps(run) == [4, 6]
    with open(run / "samples" / "step_0000006.png", "rb") as a, \
            open(run / "samples" / "latest.png", "rb") as b:
        assert a.read() == b.read()  # the grid in progress was completed
    resume_and_compare(run, uninterrupted, capsys)


@pytest.mark.slow  # one more training process, ~20 s
def test_sigterm_during_a_checkpoint_write_exits_after_it(tmp_path, uninterrupted, capsys):
    run = tmp_path / "run"
    process = start_paused(run, "checkpoint_write:4", tmp_path)
    assert_interrupted(interrupt(process, [signal.SIGTERM]), run, 4)
    assert checkpoint_steps(run) == [4]
    resume_and_compare(run, uninterrupted, capsys)


def test_second_sigint_aborts_at_once_and_the_previous_checkpoint_stays_latest(
        tmp_path, uninterrupted, capsys):
    run = tmp_path / "run"
    process = start_paused(run, "checkpoint_write:8", tmp_path)
    returncode, stdout, stderr = interrupt(process, [signal.SIGINT, signal.SIGINT])
    assert returncode == -signal.SIGINT, (stdout, stderr[-3000:])  # killed by the signal itself
    assert "Interrupted" not in stdout
    # Step 8's checkpoint was not written; the latest is step 4's, complete and readable.
    assert checkpoint_steps(run) == [4]
    state = tf.train.get_checkpoint_state(str(run / "checkpoints"))
    assert state.model_checkpoint_path == str(run / "checkpoints" / "ckpt-4")
    assert checkpoints_lib.verify_checkpoint(str(run / "checkpoints" / "ckpt-4")) is None
    # The dead trainer's lock is taken over (same host, process gone) with a warning.
    holder = json.loads((run / "train.lock").read_text())
    assert holder["pid"] == process.pid
    out = resume_and_compare(run, uninterrupted, capsys)
    assert f"Warning: taking over the lock {run}/train.lock of pid {process.pid}" in out


@pytest.mark.slow  # one more training process, ~20 s
def test_signal_before_the_first_step_trains_nothing_and_keeps_the_step(tmp_path, uninterrupted,
                                                                         capsys):
    run = tmp_path / "run"
    train_in_process(run, bindings(steps=4))
    capsys.readouterr()
    before = listing(run / "checkpoints")
    process = start_paused(run, "training_start:4", tmp_path)
    assert_interrupted(interrupt(process, [signal.SIGTERM]), run, 4)
    assert listing(run / "checkpoints") == before  # ckpt-4 was there: nothing new written
    resume_and_compare(run, uninterrupted, capsys)


# ------------------------------------------------------------------------------------------------
# The parts.

def test_watcher_records_the_first_signal_and_restores_the_handlers():
    previous = signal.getsignal(signal.SIGTERM), signal.getsignal(signal.SIGINT)
    with preemption.SignalWatcher() as watcher:
        assert not watcher.requested
        os.kill(os.getpid(), signal.SIGTERM)  # handled here: no exit
        assert watcher.requested and watcher.signal_name == "SIGTERM"
        # A second SIGINT gets the operating system's default action (ends the process); a
        # second SIGTERM is ignored.
        assert signal.getsignal(signal.SIGINT) is signal.SIG_DFL
        assert signal.getsignal(signal.SIGTERM) is signal.SIG_IGN
        os.kill(os.getpid(), signal.SIGTERM)
        assert watcher.signal_name == "SIGTERM"
    assert (signal.getsignal(signal.SIGTERM), signal.getsignal(signal.SIGINT)) == previous


def test_stop_callback_stops_fit_only_after_a_signal():
    class Watcher:
        requested = False

    model, watcher = keras.Sequential([keras.Input((1,)), keras.layers.Dense(1)]), Watcher()
    stop = preemption.StopOnSignal(watcher)
    stop.set_model(model)
    model.stop_training = False
    stop.on_train_batch_end(0)
    assert not stop.stopped and not model.stop_training
    watcher.requested = True
    stop.on_train_batch_end(1)
    assert stop.stopped and model.stop_training


def test_interrupted_is_a_system_exit_with_status_75_and_the_line():
    with pytest.raises(SystemExit) as raised:  # uncaught, Python exits with its code
        raise preemption.TrainingInterrupted(7, "/c/ckpt-7", "SIGTERM")
    assert raised.value.code == preemption.EXIT_INTERRUPTED == 75
    assert not isinstance(raised.value, Exception)  # `except Exception` does not swallow it
    assert str(raised.value) == (
        "Interrupted at step 7; checkpoint saved to /c/ckpt-7; run the same command to resume.")


# ------------------------------------------------------------------------------------------------
# Two workers (MultiWorkerMirroredStrategy over loopback).

def free_ports(count):
    sockets = [socket.socket() for _ in range(count)]
    for s in sockets:
        s.bind(("127.0.0.1", 0))
    ports = [s.getsockname()[1] for s in sockets]
    for s in sockets:
        s.close()
    return ports


def start_workers(model_dir, steps, pause=None, tmp_path=None, worker1_bindings=()):
    """Two tools/train.py workers on one run folder; worker 1 told to wait at `pause` and given
    `worker1_bindings` too. Returns the processes (worker 0, the chief, first) once worker 1
    waits, if told to."""
    cluster = {"worker": [f"127.0.0.1:{port}" for port in free_ports(2)]}
    processes = []
    for index in range(2):
        env = dict(os.environ, TF_CPP_MIN_LOG_LEVEL="2", TF_CONFIG=json.dumps(
            {"cluster": cluster, "task": {"type": "worker", "index": index}}))
        if pause and index == 1:
            env.update({pause_points.PAUSE_AT: pause,
                        pause_points.PAUSE_FILE: str(tmp_path / "pause-worker1")})
        command = tool_command("train.py", f"--gin_file={CONFIG}", f"--model_dir={model_dir}",
                               "--strategy=multi_worker",
                               *[f"--gin_bindings={b}" for b in bindings(steps)
                                 + (list(worker1_bindings) if index == 1 else [])])
        processes.append(subprocess.Popen(command, stdout=subprocess.PIPE,
                                          stderr=subprocess.PIPE, text=True, env=env))
    if pause:
        processes[1].pause_file = tmp_path / "pause-worker1"
        deadline = time.monotonic() + WAIT_S
        while not processes[1].pause_file.exists():
            assert all(p.poll() is None for p in processes), processes[1].communicate()[1][-3000:]
            assert time.monotonic() < deadline
            time.sleep(0.01)
    return processes


def finish(processes):
    results = []
    try:
        for process in processes:
            stdout, stderr = process.communicate(timeout=WAIT_S)
            results.append((process.returncode, stdout, stderr))
    finally:
        for process in processes:
            if process.poll() is None:
                process.kill()
    return results


@pytest.mark.slow  # three runs of a two-worker cluster, ~2-4 min
def test_sigterm_to_one_worker_stops_every_worker_after_the_same_step(tmp_path):
    steps = 8
    whole = tmp_path / "whole"
    assert [code for code, _, _ in finish(start_workers(whole, steps))] == [0, 0]

    # SIGTERM reaches worker 1 only, mid-epoch at step 5: both workers stop after step 5, the
    # chief writes its checkpoint, and both exit with status 75 and the line. Worker 1's timer
    # also says a checkpoint is due after every step (the chief's is off): the chief follows it.
    run = tmp_path / "run"
    chief, worker = start_workers(run, steps, pause="step_end:5", tmp_path=tmp_path,
                                  worker1_bindings=["train.checkpoint_every_secs = 1e-9"])
    worker.send_signal(signal.SIGTERM)
    wait_until_handled(worker)
    worker.pause_file.unlink()
    results = finish([chief, worker])
    line = (f"Interrupted at step 5; checkpoint saved to {run}/checkpoints/ckpt-5; run the same "
            "command to resume.")
    for code, stdout, stderr in results:
        assert code == preemption.EXIT_INTERRUPTED, stderr[-3000:]
        assert stdout.splitlines()[-1] == line, stdout
    assert checkpoint_steps(run) == [3, 4, 5]  # every step (the newest 3 kept)
    # Only the chief wrote the run folder (one events file, no scratch copies, no lock left).
    assert len(os.listdir(run / "logs")) == 1
    assert sorted(os.listdir(run)) == ["checkpoints", "compile_mode.json", "logs",
                                       "operative_config.gin", "samples"]

    assert [code for code, _, _ in finish(start_workers(run, steps))] == [0, 0]
    assert_same_checkpoints(whole / "checkpoints" / f"ckpt-{steps}",
                            run / "checkpoints" / f"ckpt-{steps}")
