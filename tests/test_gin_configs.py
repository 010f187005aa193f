"""Every shipped gin config parses strictly, each `*_rgan.gin` differs from its baseline only in
robust settings, and (slow) every config trains two steps through the launcher on mock data."""
import glob
import os

import gin
import pytest

from rgan_tf import launch

CONFIG_DIR = launch.repo_path("gin_configs")
CONFIGS = sorted(os.path.relpath(path, launch.REPO_ROOT)
                 for path in glob.glob(os.path.join(CONFIG_DIR, "*", "*.gin")))
ROBUST_CONFIGS = [path for path in CONFIGS if path.endswith("_rgan.gin")]


def parsed_lines(path):
    launch.parse_gin([launch.repo_path(path)], [])
    return {line.strip() for line in gin.config_str().splitlines()
            if line.strip() and not line.startswith("#")}


def baseline_of(path):
    return path.replace("_rgan.gin", ".gin")


def test_the_issue_configs_ship():
    for name in ["digits/dcgan", "digits/dcgan_rgan", "mnist/dcgan", "mnist/dcgan_rgan",
                 "cifar10/dcgan", "cifar10/dcgan_rgan", "cifar10/wgan_gp",
                 "cifar10/wgan_gp_rgan"]:
        assert f"gin_configs/{name}.gin" in CONFIGS


@pytest.mark.parametrize("path", CONFIGS)
def test_config_parses_and_names_its_paper_row(path):
    lines = parsed_lines(path)
    assert any(line.startswith("build_model.build_generator") for line in lines)
    assert any(line.startswith("dataset.source") for line in lines)
    with open(launch.repo_path(path)) as config:
        header = config.read().split("\n\n")[0]
    assert header.startswith("#") and ("paper" in header or "Paper" in header), header


@pytest.mark.parametrize("path", ROBUST_CONFIGS)
def test_robust_config_adds_only_robust_settings(path):
    with open(launch.repo_path(path)) as config:
        assert f"include '{baseline_of(path)}'" in config.read()
    baseline = parsed_lines(baseline_of(path))
    robust = parsed_lines(path)
    assert "RobustGAN.robust = 'off'" in baseline
    assert "RobustGAN.robust = 'both'" in robust
    changed = (robust - baseline) | (baseline - robust)
    assert changed and all(line.startswith("RobustGAN.") for line in changed), changed


def test_cifar10_robust_settings_are_the_papers():
    for path in ["gin_configs/cifar10/dcgan_rgan.gin", "gin_configs/cifar10/wgan_gp_rgan.gin"]:
        launch.parse_gin([launch.repo_path(path)], [])
        assert gin.query_parameter("RobustGAN.lam") == 0.1
        assert gin.query_parameter("RobustGAN.eps_z") == 0.01
        assert gin.query_parameter("RobustGAN.eps_x") == 4.0


def test_wgan_gp_matches_its_reference_settings():
    launch.parse_gin([launch.repo_path("gin_configs/cifar10/wgan_gp.gin")], [])
    assert gin.query_parameter("RobustGAN.d_steps") == 5
    assert gin.query_parameter("gradient_penalty.weight") == 10.0
    assert gin.query_parameter("generator/keras.optimizers.Adam.learning_rate") == 1e-4
    assert gin.query_parameter("discriminator/keras.optimizers.Adam.beta_2") == 0.9


def test_unknown_parameter_is_an_error():
    with pytest.raises(ValueError, match="no_such_parameter"):
        launch.parse_gin([launch.repo_path("gin_configs/digits/dcgan.gin")],
                         ["train.no_such_parameter = 3"])


def test_missing_config_file_is_an_error():
    with pytest.raises(FileNotFoundError, match="not_there.gin"):
        launch.parse_gin(["gin_configs/not_there.gin"], [])
