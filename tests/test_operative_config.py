"""rgan_tf.run.operative_config: a run's saved gin config compared with a new run's (what may
change between the runs of one folder), and read back as values."""
import os

import pytest

from rgan_tf.robust_gan import RobustGAN  # noqa: F401  (registers RobustGAN's defaults)
from rgan_tf.run import operative_config

SAVED = """
train.steps = 100
train.seed = 0
RobustGAN.eps_x = 2.3
RobustGAN.loss = @non_saturating_loss()
build_model.build_generator = @dcgan_generator
generator/keras.optimizers.Adam.learning_rate = 0.0002
"""


def test_config_differences_name_each_changed_binding_and_ignore_run_control():
    current = (SAVED.replace("train.steps = 100", "train.steps = 500")
               .replace("eps_x = 2.3", "eps_x = 1.0")
               .replace("@non_saturating_loss()", "@hinge_loss()")
               .replace("0.0002", "0.001"))
    assert operative_config.config_differences(SAVED, current) == [
        "RobustGAN.eps_x: 2.3 (saved) -> 1.0 (now)",
        "RobustGAN.loss: @non_saturating_loss() (saved) -> @hinge_loss() (now)",
        "generator/Adam.learning_rate: 0.0002 (saved) -> 0.001 (now)",
    ]
    assert operative_config.config_differences(SAVED, SAVED + "train.verbose = 0\n") == []
    sampled = SAVED + "RobustGAN.sampling = 'batch_stats'\n"
    assert operative_config.config_differences(SAVED, sampled) == []
    evaluation_on = SAVED + "train.callbacks = [@MetricsCallback]\nMetricsCallback.every = 100\n"
    assert operative_config.config_differences(SAVED, evaluation_on) == []
    assert operative_config.config_differences(SAVED, SAVED + "RobustGAN.lam = 0.5\n") == [
        "RobustGAN.lam: (not set) (saved) -> 0.5 (now)"]
    # A parameter the saved run did not list (added to the library since) is a difference only
    # when it is not at its default.
    assert operative_config.config_differences(SAVED, SAVED + "RobustGAN.norm = 'l2'\n") == []
    assert operative_config.config_differences(SAVED, SAVED + "RobustGAN.norm = 'linf'\n") == [
        "RobustGAN.norm: (not set) (saved) -> 'linf' (now)"]


def test_check_same_run_refuses_only_a_folder_with_checkpoints_of_another_config(tmp_path):
    with open(tmp_path / "operative_config.gin", "w") as handle:
        handle.write(SAVED)
    other = SAVED.replace("eps_x = 2.3", "eps_x = 1.0")
    operative_config.check_same_run(str(tmp_path), other)  # no checkpoints yet: nothing to guard
    os.makedirs(tmp_path / "checkpoints")
    (tmp_path / "checkpoints" / "ckpt-5.index").write_bytes(b"")
    operative_config.check_same_run(str(tmp_path), SAVED.replace("= 100", "= 900"))
    with pytest.raises(operative_config.RunMismatchError, match=r"RobustGAN.eps_x: 2.3 \(saved\)"):
        operative_config.check_same_run(str(tmp_path), other)


def test_read_run_config_gives_values_and_references_and_settings_fall_back_to_defaults(tmp_path):
    (tmp_path / "operative_config.gin").write_text(
        SAVED + "dataset.source = 'npz:/data/x.npz'\ndataset.holdout = 0.1\n")
    values = operative_config.read_run_config(str(tmp_path))
    assert values["RobustGAN.eps_x"] == 2.3 and values["train.steps"] == 100
    assert values["RobustGAN.loss"] == "@non_saturating_loss()"
    assert operative_config.read_run_config(str(tmp_path / "operative_config.gin")) == values
    assert operative_config.setting(values, "RobustGAN.eps_x") == 2.3
    assert operative_config.setting(values, "RobustGAN.eps_z") == 0.01  # RobustGAN's default
    assert operative_config.setting(values, "RobustGAN.robust") == "both"
    assert operative_config.setting(values, "nothing.here") is None
    assert operative_config.run_data_settings(values) == (
        "npz:/data/x.npz", None, {"holdout": 0.1})
    with pytest.raises(ValueError, match="No operative_config.gin"):
        operative_config.read_run_config(str(tmp_path / "elsewhere"))
