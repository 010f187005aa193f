"""The training entry and its launcher on the bundled digits with a tiny DCGAN: the run folder
(checkpoints, operative config, TensorBoard logs, sample grids), resuming to the very weights of an
uninterrupted run, also after SIGKILL mid-epoch (and, slow: right after a checkpoint, inside the
sample grids, with XLA; `tests/killed_training.py`), and same seed -> same weights and samples."""
import json
import os
import signal
import subprocess
import time
import sys

import gin
import numpy as np
import pytest

from conftest import (CONFIG, TINY, assert_same_checkpoints, checkpoint_values, listing, tiny,
                      tool_command, train_in_process, train_tool)


def test_launcher_writes_the_run_folder_and_resumes(tmp_path):
    run = tmp_path / "run"
    result = train_tool(run, tiny(4))
    assert result.returncode == 0, result.stderr[-3000:]
    files = listing(run)
    for name in ["checkpoints/ckpt-2.index", "checkpoints/ckpt-4.index", "checkpoints/checkpoint",
                 "operative_config.gin", "samples/step_0000002.png", "samples/step_0000004.png",
                 "samples/latest.png"]:
        assert name in files, files
    assert any(name.startswith("logs/") and "events.out.tfevents" in name for name in files)
    with open(run / "operative_config.gin") as handle:
        text = handle.read()
    assert "train.steps = 4" in text and "RobustGAN.robust = 'both'" in text

    result = train_tool(run, tiny(6))
    assert result.returncode == 0, result.stderr[-3000:]
    assert f"Resumed from {run}/checkpoints/ckpt-4 (step 4)" in result.stdout
    assert {"checkpoints/ckpt-6.index", "samples/step_0000006.png"} <= set(listing(run))

    result = train_tool(run, tiny(6))
    assert result.returncode == 0 and "nothing to train" in result.stdout


def test_launcher_runs_from_any_working_directory(tmp_path):
    result = train_tool(tmp_path / "run", tiny(2), cwd=tmp_path)
    assert result.returncode == 0, result.stderr[-3000:]


def test_resumed_training_equals_uninterrupted_training(tmp_path):
    # XLA forced on (auto would turn it off for this DCGAN on CPU), checkpoints every 2 steps,
    # stopped at 3 (not a checkpoint step).
    xla = [b for b in TINY if "jit_compile" not in b] + ["build_model.jit_compile = True"]
    train_in_process(tmp_path / "whole", xla + ["train.steps = 5"])
    with open(tmp_path / "whole" / "compile_mode.json") as handle:
        recorded = json.load(handle)
    assert recorded["jit_compile"] is True and recorded["requested"] is True
    train_in_process(tmp_path / "parts", xla + ["train.steps = 3"])
    assert os.path.isfile(tmp_path / "parts" / "checkpoints" / "ckpt-3.index")
    train_in_process(tmp_path / "parts", xla + ["train.steps = 5"])
    assert_same_checkpoints(tmp_path / "whole" / "checkpoints" / "ckpt-5",
                            tmp_path / "parts" / "checkpoints" / "ckpt-5")


def test_same_seed_gives_the_same_weights_and_samples(tmp_path):
    models = {}
    for name, seed in [("a", 3), ("b", 3), ("other_seed", 4)]:
        models[name] = train_in_process(tmp_path / name, tiny(2, f"train.seed = {seed}"))
    assert_same_checkpoints(tmp_path / "a" / "checkpoints" / "ckpt-2",
                            tmp_path / "b" / "checkpoints" / "ckpt-2")
    with open(tmp_path / "a" / "samples" / "latest.png", "rb") as a, \
            open(tmp_path / "b" / "samples" / "latest.png", "rb") as b:
        assert a.read() == b.read()
    np.testing.assert_array_equal(models["a"].sample(8, seed=1), models["b"].sample(8, seed=1))
    assert not np.array_equal(models["a"].generator.get_weights()[0],
                              models["other_seed"].generator.get_weights()[0])


KILLED_TRAINING = os.path.join(os.path.dirname(os.path.abspath(__file__)), "killed_training.py")
KILL_STEPS = 12  # checkpoints at 4, 8 and 12; sample grids every 2 steps


def kill_bindings(xla):
    bindings = tiny(KILL_STEPS, "train.checkpoint_every = 4", "train.sample_every = 2")
    if not xla:
        return bindings
    return [b for b in bindings if "jit_compile" not in b] + ["build_model.jit_compile = True"]


@pytest.fixture(scope="module")
def uninterrupted(tmp_path_factory):
    """`uninterrupted(xla)`: the folder of the tool's uninterrupted run (made once per mode)."""
    folders = {}

    def run(xla):
        if xla not in folders:
            folder = tmp_path_factory.mktemp("uninterrupted") / "run"
            result = train_tool(folder, kill_bindings(xla))
            assert result.returncode == 0, result.stderr[-3000:]
            folders[xla] = folder
        return folders[xla]

    return run


def kill_then_resume(tmp_path, point, step, xla, resumed_from, uninterrupted):
    """Trains until SIGKILL at (`point`, `step`), resumes with the launcher, and checks the run
    ends bit for bit as the uninterrupted one (checkpoint and last sample grid)."""
    run = tmp_path / "run"
    victim = subprocess.run([sys.executable, KILLED_TRAINING, str(run), point, str(step)]
                            + kill_bindings(xla), capture_output=True, text=True, timeout=1800,
                            env=dict(os.environ, TF_CPP_MIN_LOG_LEVEL="2"))
    assert victim.returncode == -signal.SIGKILL, victim.stderr[-3000:]
    assert (run / "killed_at").read_text() == f"{point} {step}"
    assert f"ckpt-{KILL_STEPS}.index" not in listing(run / "checkpoints")

    resumed = train_tool(run, kill_bindings(xla))
    assert resumed.returncode == 0, resumed.stderr[-3000:]
    assert f"Resumed from {run}/checkpoints/ckpt-{resumed_from} (step {resumed_from})" in (
        resumed.stdout)
    whole = uninterrupted(xla)
    assert_same_checkpoints(run / "checkpoints" / f"ckpt-{KILL_STEPS}",
                            whole / "checkpoints" / f"ckpt-{KILL_STEPS}")
    assert (run / "samples" / "latest.png").read_bytes() == (
        whole / "samples" / "latest.png").read_bytes()


def test_killed_mid_epoch_resumes_to_the_weights_of_an_uninterrupted_run(tmp_path,
                                                                        uninterrupted):
    # SIGKILL after step 6 (between the checkpoints of steps 4 and 8), XLA off.
    kill_then_resume(tmp_path, "batch", 6, False, 4, uninterrupted)


@pytest.mark.slow  # four more training processes, ~1 min on two free cores
@pytest.mark.parametrize("point,step,xla,resumed_from", [
    ("checkpoint", 8, False, 8),   # right after the checkpoint of step 8 is written
    ("sample", 6, False, 4),       # inside the sample grids of step 6
    ("batch", 6, True, 4),         # mid-epoch, with XLA (forced)
    ("checkpoint", 4, True, 4),    # right after a checkpoint, with XLA
])
def test_killed_training_resumes_exactly_at_every_kill_point(tmp_path, uninterrupted, point,
                                                             step, xla, resumed_from):
    kill_then_resume(tmp_path, point, step, xla, resumed_from, uninterrupted)
    if point == "sample":
        # The kill cut the grids of step 6 between its two files; the resumed run rewrote both.
        assert (tmp_path / "run" / "samples" / "step_0000006.png").is_file()


@pytest.fixture(autouse=True)
def _clear_gin():
    yield
    gin.clear_config()


# float16 with a loss scale that overflows at first: the first steps are skipped by the
# optimizers, so their `iterations` fall behind the step counter.
MIXED_FLOAT16 = [
    "build_model.mixed_precision = 'mixed_float16'",
    "build_model.g_optimizer = @generator/keras.optimizers.LossScaleOptimizer",
    "build_model.d_optimizer = @discriminator/keras.optimizers.LossScaleOptimizer",
    "generator/keras.optimizers.LossScaleOptimizer.inner_optimizer = "
    "@generator/keras.optimizers.Adam()",
    "discriminator/keras.optimizers.LossScaleOptimizer.inner_optimizer = "
    "@discriminator/keras.optimizers.Adam()",
    "generator/keras.optimizers.LossScaleOptimizer.initial_scale = 16777216.0",
    "discriminator/keras.optimizers.LossScaleOptimizer.initial_scale = 16777216.0",
]


@pytest.mark.parametrize("precision", ["float32", "mixed_float16"])
def test_killed_training_resumes_exactly_in_float32_and_mixed_float16(tmp_path, precision):
    steps, bindings = 60, ["train.checkpoint_every = 10", "train.sample_every = 0"]
    if precision == "mixed_float16":
        bindings += MIXED_FLOAT16
    command = tool_command("train.py", f"--gin_file={CONFIG}", f"--model_dir={tmp_path / 'run'}",
                           *[f"--gin_bindings={b}" for b in tiny(steps, *bindings)])
    victim = subprocess.Popen(command, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
                              env=dict(os.environ, TF_CPP_MIN_LOG_LEVEL="2"))
    first = tmp_path / "run" / "checkpoints" / "ckpt-10.index"
    deadline = time.time() + 240
    while not first.exists() and victim.poll() is None and time.time() < deadline:
        time.sleep(0.01)
    victim.send_signal(signal.SIGKILL)  # somewhere after the first checkpoint
    victim.wait()
    assert first.exists() and victim.returncode == -signal.SIGKILL
    killed_at = sorted(listing(tmp_path / "run" / "checkpoints"))
    assert "ckpt-60.index" not in killed_at, "the run finished before the kill"

    resumed = train_tool(tmp_path / "run", tiny(steps, *bindings))
    assert resumed.returncode == 0, resumed.stderr[-3000:]
    assert "Resumed from" in resumed.stdout
    whole = train_tool(tmp_path / "whole", tiny(steps, *bindings))
    assert whole.returncode == 0, whole.stderr[-3000:]
    assert_same_checkpoints(tmp_path / "run" / "checkpoints" / f"ckpt-{steps}",
                            tmp_path / "whole" / "checkpoints" / f"ckpt-{steps}")
    values = checkpoint_values(tmp_path / "whole" / "checkpoints" / f"ckpt-{steps}")
    assert values["step/.ATTRIBUTES/VARIABLE_VALUE"] == steps
    if precision == "mixed_float16":
        optimizer_steps = [int(value) for name, value in values.items()
                           if name.startswith("g_optimizer") and "iteration" in name]
        assert optimizer_steps and max(optimizer_steps) < steps  # steps were skipped
