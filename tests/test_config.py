"""rgan_tf.config: configs found by their `gin_configs/...` names from any working directory
through gin's search path (never by changing directory), includes resolved the same way, strict
parsing, and every shipped config (the study's included) found and parsed by its name."""
import os

import gin
import pytest

from conftest import REPO
from rgan_tf import config


@pytest.fixture
def elsewhere(tmp_path, monkeypatch):
    """A working directory outside the checkout, where chdir is forbidden."""
    folder = tmp_path / "elsewhere"
    folder.mkdir()
    monkeypatch.chdir(folder)

    def no_chdir(path):
        raise AssertionError(f"config changed the working directory to {path}")

    monkeypatch.setattr(os, "chdir", no_chdir)
    return folder


def test_config_roots_hold_the_shipped_configs():
    roots = config.config_roots()
    assert roots and all(os.path.isdir(os.path.join(root, config.CONFIG_DIR)) for root in roots)
    assert REPO in roots  # this checkout (an installed package has rgan_tf/gin_configs)


def test_every_shipped_config_is_found_and_parsed_by_its_name_from_elsewhere(elsewhere):
    names = config.shipped_configs()
    on_disk = sorted(os.path.relpath(os.path.join(folder, name), REPO)
                     for folder, _, files in os.walk(os.path.join(REPO, config.CONFIG_DIR))
                     for name in files if name.endswith(".gin"))
    assert names == on_disk and len(names) >= 40
    assert "gin_configs/study/small/wgan_gp.gin" in names
    for name in names:
        path = config.find_config(name)
        assert os.path.isabs(path) and path.endswith(name)
        config.parse_gin([name], [])
    assert os.getcwd() == str(elsewhere)


def test_includes_resolve_through_the_search_path(elsewhere):
    # A user's own config, outside the checkout, including a shipped one by name.
    (elsewhere / "mine.gin").write_text(
        "include 'gin_configs/digits/dcgan_rgan.gin'\nRobustGAN.eps_x = 1.5\n")
    config.parse_gin(["mine.gin"], ["train.steps = 7"])
    assert gin.query_parameter("RobustGAN.eps_x") == 1.5
    assert gin.query_parameter("RobustGAN.robust") == "both"  # from the included config
    assert gin.query_parameter("dataset.source") == "digits"  # from its include
    assert config.query("train.steps") == 7 and config.query("no.such", "x") == "x"


def test_missing_files_and_bad_bindings_are_clear_errors(elsewhere):
    with pytest.raises(FileNotFoundError, match=r"gin_configs/nowhere.gin \(looked in the working "
                                                r"directory, "):
        config.parse_gin(["gin_configs/nowhere.gin"], [])
    with pytest.raises(ValueError, match="no_such_parameter"):
        config.parse_gin(["gin_configs/digits/dcgan.gin"], ["train.no_such_parameter = 1"])
    (elsewhere / "broken.gin").write_text("include 'gin_configs/not_shipped.gin'\n")
    with pytest.raises(ValueError, match="not_shipped.gin"):
        config.parse_gin(["broken.gin"], [])


def test_default_model_dir_names_the_data_set_and_config():
    assert config.default_model_dir([config.DEFAULT_CONFIG]) == os.path.join(
        "runs", "digits_dcgan16_rgan")
