"""Soak (slow): the default job (`tools/train.py` without `--gin_file`: the digits RGAN(DCGAN)),
shortened to SOAK_STEPS steps, interrupted again and again at random times by SIGKILL, SIGTERM or
SIGINT, each time resumed with the same command, ends with bit for bit the weights of an
uninterrupted run.

Each signal is sent at a random time: half of them a random delay after the trainer took the
run folder's lock (so after its signal handlers are installed), landing while the model is
restored, while XLA compiles or in the first steps; the other half a random delay after the run
wrote its first new checkpoint, landing in a step or a checkpoint, grid or log write. The seed of
the delays and signals is printed; `RGAN_TF_SOAK_SEED` replays a sequence.
"""
import os
import random
import signal
import subprocess
import time

import pytest

from rgan_tf.run import checkpoints as checkpoints_lib
from rgan_tf.run import preemption
from rgan_tf.run import run_lock
from conftest import assert_same_checkpoints, tool_command

SOAK_STEPS = 400
INTERRUPTIONS = 10
STARTUP_DELAY_S = (0.5, 8.0)  # after the lock appears
TRAINING_DELAY_S = (0.0, 3.0)  # after the first new checkpoint
# The default job, shorter: checkpoints every 20 steps and every 5 seconds, grids every 50.
BINDINGS = [f"train.steps = {SOAK_STEPS}", "train.checkpoint_every = 20",
            "train.checkpoint_every_secs = 5", "train.sample_every = 50", "train.verbose = 0"]
SIGNALS = (signal.SIGKILL, signal.SIGTERM, signal.SIGINT)
TIMEOUT_S = 1800

pytestmark = pytest.mark.slow


def command(model_dir):
    return tool_command("train.py", f"--model_dir={model_dir}",
                        *[f"--gin_bindings={b}" for b in BINDINGS])


def run_to_end(model_dir):
    result = subprocess.run(command(model_dir), capture_output=True, text=True,
                            timeout=TIMEOUT_S, env=dict(os.environ, TF_CPP_MIN_LOG_LEVEL="2"))
    assert result.returncode == 0, result.stderr[-3000:]
    return result


def latest_step(model_dir):
    paths = checkpoints_lib.list_checkpoints(str(model_dir / "checkpoints"))
    return checkpoints_lib.checkpoint_step(paths[-1]) if paths else 0


def test_default_job_survives_repeated_random_interruptions(tmp_path):
    seed = int(os.environ.get("RGAN_TF_SOAK_SEED", random.SystemRandom().randrange(2**31)))
    print(f"soak seed {seed} (RGAN_TF_SOAK_SEED={seed} replays it)")
    rng = random.Random(seed)
    run = tmp_path / "run"
    survived = []
    while len(survived) < INTERRUPTIONS:
        before = latest_step(run)
        process = subprocess.Popen(command(run), stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                                   text=True, env=dict(os.environ, TF_CPP_MIN_LOG_LEVEL="2"))
        deadline = time.monotonic() + TIMEOUT_S
        # A lock left by a SIGKILLed trainer is replaced by the new trainer's: wait for ours.
        while (run_lock.read_holder(str(run)) or {}).get("pid") != process.pid:
            assert process.poll() is None, process.communicate()[1][-3000:]
            assert time.monotonic() < deadline
            time.sleep(0.01)
        if rng.random() < 0.5:
            time.sleep(rng.uniform(*STARTUP_DELAY_S))
        else:
            while latest_step(run) <= before:
                assert process.poll() is None, process.communicate()[1][-3000:]
                assert time.monotonic() < deadline
                time.sleep(0.01)
            time.sleep(rng.uniform(*TRAINING_DELAY_S))
        signum = rng.choice(SIGNALS)
        process.send_signal(signum)
        stdout, stderr = process.communicate(timeout=TIMEOUT_S)
        assert process.returncode != 0, "the run ended before the signal: raise SOAK_STEPS"
        after = latest_step(run)
        if signum == signal.SIGKILL:
            assert process.returncode == -signal.SIGKILL
        else:  # graceful: the line names the checkpoint of the last step
            assert process.returncode == preemption.EXIT_INTERRUPTED, stderr[-3000:]
            assert stdout.splitlines()[-1] == preemption.interrupted_message(
                after, f"{run}/checkpoints/ckpt-{after}"), stdout
        assert after >= before
        survived.append((signal.Signals(signum).name, before, after))
    print(f"{len(survived)} interruptions survived (signal, latest checkpoint before -> after): "
          f"{survived}")

    resumed = run_to_end(run)
    assert "Resumed from" in resumed.stdout
    run_to_end(tmp_path / "whole")
    assert_same_checkpoints(tmp_path / "whole" / "checkpoints" / f"ckpt-{SOAK_STEPS}",
                            run / "checkpoints" / f"ckpt-{SOAK_STEPS}")
    assert len(survived) == INTERRUPTIONS
