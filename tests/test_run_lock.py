"""One trainer per run folder: the lock names its holder and is released; a second holder is
refused; a dead holder's lock on this host is taken over with a warning (a reused pid told apart
by its start time); another host's is refused; a trainer that opens a lock file just released
retries on the new one. Two real trainers with different configs on one folder: one is refused
and the folder holds only the other's run, which export and sampling read meanwhile without the
lock."""
import fcntl
import json
import os
import socket
import subprocess
import sys
import threading
import time

import numpy as np
import pytest

from rgan_tf import export
from rgan_tf import samples
from rgan_tf.run import pause_points
from rgan_tf.run import run_lock
from conftest import (CONFIG, assert_refused, assert_same_checkpoints, preemption_bindings,
                      snapshot, start_paused, tiny, tool_command, train_in_process, train_tool)


def write_lock(folder, **holder):
    folder.mkdir(exist_ok=True)
    (folder / run_lock.LOCK_FILE).write_text(json.dumps(holder))


def dead_pid():
    """The pid of a process that has ended."""
    process = subprocess.Popen([sys.executable, "-c", "pass"])
    process.wait()
    return process.pid


def test_lock_records_the_holder_and_release_removes_it(tmp_path):
    with run_lock.RunLock(str(tmp_path)) as lock:
        holder = json.loads((tmp_path / "train.lock").read_text())
        assert holder["pid"] == os.getpid() and holder["host"] == socket.gethostname()
        assert holder["started"][:4].isdigit()  # ISO time
        assert run_lock.read_holder(str(tmp_path)) == holder
        assert lock.held
    assert os.listdir(tmp_path) == [] and not lock.held


def test_release_removes_a_folder_the_lock_created_if_nothing_else_was_written(tmp_path):
    with run_lock.RunLock(str(tmp_path / "new")):
        pass
    assert not (tmp_path / "new").exists()
    (tmp_path / "old").mkdir()
    with run_lock.RunLock(str(tmp_path / "old")):
        pass
    assert (tmp_path / "old").exists()


def test_second_holder_is_refused_with_the_holder_named(tmp_path):
    with run_lock.RunLock(str(tmp_path)):
        before = (tmp_path / "train.lock").read_text()
        with pytest.raises(run_lock.RunFolderBusyError) as refused:
            run_lock.RunLock(str(tmp_path)).acquire()
        assert f"pid {os.getpid()} on host {socket.gethostname()}, started" in str(refused.value)
        assert "in use by another trainer" in str(refused.value)
        assert (tmp_path / "train.lock").read_text() == before  # the holder's record unchanged


def test_holder_that_has_locked_but_not_yet_written_is_still_named(tmp_path):
    # Two trainers started together: the winner holds the flock a moment before its record is
    # in the file. The refused one waits for the record instead of calling the holder unknown.
    path = tmp_path / run_lock.LOCK_FILE
    fd = os.open(path, os.O_RDWR | os.O_CREAT, 0o644)
    fcntl.flock(fd, fcntl.LOCK_EX)
    holder = {"pid": 4242, "host": socket.gethostname(), "started": "then"}
    writer = threading.Timer(0.5, lambda: os.write(fd, json.dumps(holder).encode()))
    writer.start()
    try:
        with pytest.raises(run_lock.RunFolderBusyError) as refused:
            run_lock.RunLock(str(tmp_path)).acquire()
    finally:
        writer.join()
        os.close(fd)
    assert f"pid 4242 on host {socket.gethostname()}, started then" in str(refused.value)


def test_lock_of_a_dead_process_on_this_host_is_taken_over_with_a_warning(tmp_path):
    pid = dead_pid()
    write_lock(tmp_path, pid=pid, host=socket.gethostname(), started="2026-01-01T00:00:00")
    messages = []
    with run_lock.RunLock(str(tmp_path), log=messages.append):
        assert json.loads((tmp_path / "train.lock").read_text())["pid"] == os.getpid()
    assert messages == [f"Warning: taking over the lock {tmp_path}/train.lock of pid {pid} on "
                        f"host {socket.gethostname()}, started 2026-01-01T00:00:00, which no "
                        "longer runs."]


def test_reused_pid_is_told_apart_by_its_start_time(tmp_path):
    # A restarted container keeps its host name and may give the new trainer the old one's pid.
    ticks = run_lock._process_start_ticks(os.getpid())
    assert ticks is not None
    write_lock(tmp_path, pid=os.getpid(), host=socket.gethostname(), started="earlier",
               process_start_ticks=ticks - 1)
    messages = []
    with run_lock.RunLock(str(tmp_path), log=messages.append):
        pass
    assert len(messages) == 1 and "which no longer runs" in messages[0]


def test_unlocked_file_naming_a_live_process_is_not_taken_over(tmp_path):
    # A file system without locks: the file names a live process (this one, same start time).
    write_lock(tmp_path, pid=os.getpid(), host=socket.gethostname(), started="now",
               process_start_ticks=run_lock._process_start_ticks(os.getpid()))
    with pytest.raises(run_lock.RunFolderBusyError, match=f"pid {os.getpid()} on host"):
        run_lock.RunLock(str(tmp_path)).acquire()


def test_lock_from_another_host_is_refused(tmp_path):
    write_lock(tmp_path, pid=dead_pid(), host="some-other-host", started="then")
    with pytest.raises(run_lock.RunFolderBusyError) as refused:
        run_lock.RunLock(str(tmp_path)).acquire()
    assert "on host some-other-host" in str(refused.value)
    assert "Remove the lock file once it is known to be gone" in str(refused.value)


def test_a_lock_file_released_while_being_opened_is_retried_on_the_new_one(tmp_path,
                                                                           monkeypatch):
    holder = run_lock.RunLock(str(tmp_path)).acquire()
    real_open, calls = os.open, []

    def open_then_holder_releases(path, *args, **kwargs):
        fd = real_open(path, *args, **kwargs)
        calls.append(path)
        if len(calls) == 1:
            holder.release()  # removes the file we just opened, and unlocks it
        return fd

    monkeypatch.setattr(run_lock.os, "open", open_then_holder_releases)
    second = run_lock.RunLock(str(tmp_path)).acquire()
    assert len(calls) == 2  # the first (removed) file was dropped for a new one
    assert os.fstat(second._fd).st_ino == os.stat(tmp_path / "train.lock").st_ino
    assert json.loads((tmp_path / "train.lock").read_text())["pid"] == os.getpid()
    second.release()


# ------------------------------------------------------------------------------------------------
# Two real trainers.

@pytest.mark.slow  # two training processes and an export, ~1-2 min on a busy machine
def test_second_trainer_with_another_config_is_refused_and_the_folder_keeps_the_first(
        tmp_path, capsys):
    run = tmp_path / "run"
    first = start_paused(run, "step_end:5", tmp_path, steps=8)  # holds the lock, mid-run
    before = snapshot(run)
    # Another config, same folder:
    second = train_tool(run, preemption_bindings(8) + ["RobustGAN.eps_x = 1.0"])
    message = assert_refused(second, "is in use by another trainer",
                             f"pid {first.pid} on host {socket.gethostname()}")
    assert message.startswith("error: ") and "Could not write" not in message
    assert snapshot(run) == before  # the refused trainer wrote nothing

    # Export and sampling read the folder while the first trainer holds the lock.
    model, step = export.load_run(str(run))
    assert step == 4
    images, _ = samples.Sampler(model).sample(4, seed=0)
    assert images.shape == (4, 8, 8, 1) and np.isfinite(images).all()
    export.export_run(str(run), str(tmp_path / "export"))

    first.pause_file.unlink()
    stdout, stderr = first.communicate(timeout=240)
    assert first.returncode == 0, stderr[-3000:]
    config = (run / "operative_config.gin").read_text()
    assert "RobustGAN.eps_x = 2.3" in config and "RobustGAN.eps_x = 1.0" not in config
    train_in_process(tmp_path / "alone", preemption_bindings(8))
    assert_same_checkpoints(tmp_path / "alone" / "checkpoints" / "ckpt-8",
                            run / "checkpoints" / "ckpt-8")
    assert not (run / "train.lock").exists()


@pytest.mark.slow  # two training processes started together, ~40 s
def test_two_trainers_started_together_exactly_one_trains(tmp_path):
    # Both are told to wait once they hold the lock (training_start): whichever gets it first
    # waits there, so the other one surely runs into it.
    run, configs = tmp_path / "run", {"a": "RobustGAN.eps_x = 2.3", "b": "RobustGAN.eps_x = 1.0"}
    started = {}
    for name, binding in configs.items():
        pause = tmp_path / f"pause-{name}"
        env = dict(os.environ, TF_CPP_MIN_LOG_LEVEL="2", **{
            pause_points.PAUSE_AT: "training_start:0", pause_points.PAUSE_FILE: str(pause)})
        command = tool_command("train.py", f"--gin_file={CONFIG}", f"--model_dir={run}",
                               *[f"--gin_bindings={b}" for b in tiny(4, binding)])
        started[name] = (subprocess.Popen(command, stdout=subprocess.PIPE,
                                          stderr=subprocess.PIPE, text=True, env=env), pause)
    deadline = time.monotonic() + 300
    while not any(pause.exists() for _, pause in started.values()):
        assert time.monotonic() < deadline
        time.sleep(0.01)
    (winner,) = [name for name, (_, pause) in started.items() if pause.exists()]
    (loser,) = set(configs) - {winner}
    refused = started[loser][0]
    stdout, stderr = refused.communicate(timeout=300)
    assert_refused(subprocess.CompletedProcess([], refused.returncode, stdout, stderr),
                   "is in use by another trainer", f"pid {started[winner][0].pid}")
    started[winner][1].unlink()
    process = started[winner][0]
    _, stderr = process.communicate(timeout=300)
    assert process.returncode == 0, stderr[-3000:]
    config = (run / "operative_config.gin").read_text()
    assert configs[winner] in config and configs[loser] not in config
