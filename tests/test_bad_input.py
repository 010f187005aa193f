"""Bad input to the launcher: each case exits non-zero (or, for a corrupt checkpoint, falls back)
with one clear `error:` line and no traceback, and nothing already in the run folder is removed
or overwritten."""
import os
import re
import textwrap

import numpy as np
import pytest

from conftest import assert_refused, snapshot, tiny, train_tool

pytestmark = pytest.mark.filterwarnings("ignore")


@pytest.fixture(scope="module")
def trained_run(tmp_path_factory):
    """A run folder trained 4 steps (checkpoints at 2 and 4); tests copy it before changing it."""
    folder = tmp_path_factory.mktemp("trained") / "run"
    result = train_tool(folder, tiny(4))
    assert result.returncode == 0, result.stderr[-3000:]
    return folder


def copy_of(run, tmp_path):
    import shutil
    target = tmp_path / "run"
    shutil.copytree(run, target)
    return target


# ------------------------------------------------------------------------------------------------
# Configuration.

# Each launcher run costs a few seconds (TensorFlow's import): the variants of a case already
# covered run with `-m slow`.
@pytest.mark.parametrize("binding,fragments", [
    ("train.no_such_parameter = 3", ["Bad gin config", "no_such_parameter"]),
    ("RobustGAN.lam = -0.1", ["lam must be a finite number >= 0, got -0.1"]),
    pytest.param("RobustGAN.eps_x = 1e999", ["eps_x must be a finite number >= 0, got inf"],
                 marks=pytest.mark.slow),
    pytest.param("RobustGAN.eps_z = -1.0", ["eps_z must be a finite number >= 0, got -1.0"],
                 marks=pytest.mark.slow),
    ("generator/keras.optimizers.Adam.learning_rate = -0.001",
     ["generator's learning rate must be a finite number >= 0, got -0.001"]),
    pytest.param("discriminator/keras.optimizers.Adam.learning_rate = 1e999",
                 ["discriminator's learning rate must be a finite number >= 0, got inf"],
                 marks=pytest.mark.slow),
])
def test_bad_setting_is_refused_before_anything_is_written(tmp_path, binding, fragments):
    result = train_tool(tmp_path / "run", tiny(2, binding))
    assert_refused(result, *fragments)
    assert not os.path.exists(tmp_path / "run")


def test_missing_config_file_is_refused(tmp_path):
    result = train_tool(tmp_path / "run", tiny(2), f"--gin_file={tmp_path / 'nope.gin'}")
    assert_refused(result, "Gin config file not found", "nope.gin")
    assert not os.path.exists(tmp_path / "run")


def test_image_size_the_architecture_cannot_take_is_refused(tmp_path):
    result = train_tool(tmp_path / "run", tiny(2, "dcgan_generator.image_size = 30",
                                               "dcgan_discriminator.image_size = 30",
                                               "dataset.image_size = 30"))
    assert_refused(result, "image_size=30")
    assert not os.path.exists(tmp_path / "run")


def test_data_that_does_not_fit_the_architecture_is_refused(tmp_path):
    result = train_tool(tmp_path / "run", tiny(2, "dataset.image_size = 16"))
    assert_refused(result, "(16, 16, 1)", "(8, 8, 1)")
    assert not os.path.exists(tmp_path / "run")


# ------------------------------------------------------------------------------------------------
# Data.

def write_npz(path, images):
    np.savez(path, images=images)
    return path


@pytest.mark.parametrize("name,images,fragments", [
    ("wrong_rank", np.zeros((20, 64), np.uint8), ["(20, 64)", "rank 2"]),
    # RGB digits for a greyscale model: the data set is fine, the model does not fit it.
    pytest.param("rgb_for_grey", np.zeros((20, 8, 8, 3), np.uint8), ["(8, 8, 3)", "(8, 8, 1)"],
                 marks=pytest.mark.slow),
    pytest.param("two_channels", np.zeros((20, 8, 8, 2), np.uint8), ["2 channels"],
                 marks=pytest.mark.slow),
    pytest.param("strings", np.full((20, 8, 8, 1), "a"), ["dtype <U1"], marks=pytest.mark.slow),
    pytest.param("int64", np.zeros((20, 8, 8, 1), np.int64), ["dtype int64"],
                 marks=pytest.mark.slow),
    pytest.param("nan", np.full((20, 8, 8, 1), np.nan, np.float32), ["NaN"],
                 marks=pytest.mark.slow),
    pytest.param("empty", np.zeros((0, 8, 8, 1), np.uint8), ["empty"], marks=pytest.mark.slow),
])
def test_bad_data_is_refused(tmp_path, name, images, fragments):
    path = write_npz(tmp_path / f"{name}.npz", images)
    result = train_tool(tmp_path / "run", tiny(2, f"dataset.source = 'npz:{path}'"))
    message = assert_refused(result, *fragments)
    assert len(message) < 2000
    assert not os.path.exists(tmp_path / "run")


def test_unreadable_data_is_refused(tmp_path):
    path = tmp_path / "broken.npz"
    path.write_bytes(b"this is not an npz file")
    result = train_tool(tmp_path / "run", tiny(2, f"dataset.source = 'npz:{path}'"))
    assert_refused(result, "broken.npz", "not a readable .npz")
    assert not os.path.exists(tmp_path / "run")


@pytest.mark.slow
def test_missing_data_file_is_refused(tmp_path):
    result = train_tool(tmp_path / "run", tiny(2, f"dataset.source = 'npz:{tmp_path}/none.npz'"))
    assert_refused(result, "none.npz", "no such file")
    assert not os.path.exists(tmp_path / "run")


# ------------------------------------------------------------------------------------------------
# Run folders.

@pytest.mark.parametrize("binding,difference", [
    ("RobustGAN.eps_x = 1.0", "RobustGAN.eps_x: 2.3 (saved) -> 1.0 (now)"),
    pytest.param("dcgan_generator.width = 16", "dcgan_generator.width: 8 (saved) -> 16 (now)",
                 marks=pytest.mark.slow),
])
def test_folder_of_another_model_is_refused_untouched(trained_run, tmp_path, binding, difference):
    run = copy_of(trained_run, tmp_path)
    before = snapshot(run)
    result = train_tool(run, tiny(6, binding))
    assert_refused(result, "holds checkpoints of a different run configuration", difference)
    assert snapshot(run) == before


def test_resume_despite_changes_resumes_with_the_new_settings(trained_run, tmp_path):
    run = copy_of(trained_run, tmp_path)
    result = train_tool(run, tiny(6, "RobustGAN.eps_x = 1.0",
                                  "train.resume_despite_changes = True"))
    assert result.returncode == 0, result.stderr[-3000:]
    assert "Warning (train.resume_despite_changes=True)" in result.stdout
    assert "RobustGAN.eps_x: 2.3 (saved) -> 1.0 (now)" in result.stdout
    assert "(step 4)" in result.stdout and os.path.isfile(run / "checkpoints" / "ckpt-6.index")
    with open(run / "operative_config.gin") as config:
        assert "RobustGAN.eps_x = 1.0" in config.read()


def test_corrupt_latest_checkpoint_falls_back_to_the_previous_one(trained_run, tmp_path):
    run = copy_of(trained_run, tmp_path)
    data = run / "checkpoints" / "ckpt-4.data-00000-of-00001"
    data.write_bytes(data.read_bytes()[:100])
    result = train_tool(run, tiny(6))
    assert result.returncode == 0, result.stderr[-3000:]
    assert re.search(r"checkpoint \S+ckpt-4 is unreadable \(.+\); falling back to \S+ckpt-2",
                     result.stdout), result.stdout
    assert "Resumed from" in result.stdout and "(step 2)" in result.stdout
    assert os.path.isfile(run / "checkpoints" / "ckpt-6.index")


NAN_SCHEDULE = textwrap.dedent("""
    import gin
    import keras
    import tensorflow as tf

    @gin.configurable
    class JumpAt(keras.optimizers.schedules.LearningRateSchedule):
        '''A sane learning rate until step `at`, then one that blows the weights up.'''
        def __init__(self, at=4):
            self.at = at
        def __call__(self, step):
            return tf.where(step < self.at, 1e-4, 1e35)
        def get_config(self):
            return {"at": self.at}
""")


def test_nan_loss_stops_training_and_keeps_the_last_good_checkpoint(tmp_path):
    (tmp_path / "nan_schedule.py").write_text(NAN_SCHEDULE)
    bindings = tiny(10, "import nan_schedule",
                    "generator/keras.optimizers.Adam.learning_rate = @JumpAt()",
                    "discriminator/keras.optimizers.Adam.learning_rate = @JumpAt()")
    result = train_tool(tmp_path / "run", bindings, env={"PYTHONPATH": str(tmp_path)})
    message = assert_refused(result, "Training stopped", "ckpt-4, was kept")
    step = int(re.search(r"at step (\d+)", message).group(1))
    assert step > 4, message
    checkpoints = sorted(name for name in os.listdir(tmp_path / "run" / "checkpoints")
                         if name.endswith(".index"))
    assert checkpoints == ["ckpt-2.index", "ckpt-4.index"]
    samples = tmp_path / "run" / "samples"
    assert sorted(os.listdir(samples)) == ["latest.png", "step_0000002.png", "step_0000004.png"]
    assert (samples / "latest.png").read_bytes() == (samples / "step_0000004.png").read_bytes()

