"""rgan_tf.zoo and tools/config_table.py: every shipped config has a table row, its parameter
counts are the builders' own, and docs/configs.md lists every config."""
import os
import subprocess
import sys

import pytest

from rgan_tf import architectures
from rgan_tf import launch
from rgan_tf import zoo


def test_every_shipped_config_has_a_baseline_and_a_paper_row():
    names = zoo.shipped_configs()
    assert len(names) == len(set(names)) >= 34
    assert set(names) == set(zoo.PAPER_ROWS)
    assert {zoo.baseline_name(name) for name in names} == set(zoo.BASELINES)
    # Paper data sets first, each baseline right before its robust variant.
    assert names[:2] == ["cifar10/dcgan", "cifar10/dcgan_rgan"]
    for name in names:
        if name.endswith("_rgan"):
            assert names[names.index(name) - 1] == zoo.baseline_name(name)


@pytest.mark.parametrize("name,generator,discriminator", [
    ("cifar10/wgan_gp_resnet_rgan", lambda: architectures.wgan_gp_resnet_generator(),
     lambda: architectures.wgan_gp_resnet_discriminator()),
    ("cifar10/sngan_cond", lambda: architectures.sngan_resnet_generator(num_classes=10),
     lambda: architectures.sngan_resnet_discriminator(num_classes=10)),
    ("stl10/sngan", lambda: architectures.sndcgan_generator(image_size=48),
     lambda: architectures.sndcgan_discriminator(image_size=48)),
    ("celeba/wgan_gp", lambda: architectures.dcgan_generator(image_size=64, latent_dim=128),
     lambda: architectures.dcgan_discriminator(image_size=64, normalization="layer")),
    ("stl10/dcgan_rgan", lambda: architectures.wgan_gp_cnn_generator(image_size=48),
     lambda: architectures.wgan_gp_cnn_discriminator(image_size=48, normalization="batch")),
])
def test_counts_are_the_builders_counts(name, generator, discriminator):
    row = zoo.describe(name)
    assert row.generator_params == zoo.trainable_count(generator())
    assert row.discriminator_params == zoo.trainable_count(discriminator())
    assert row.robust == ("both" if name.endswith("_rgan") else "no")


def test_paper_numbers_reach_the_table():
    row = zoo.describe("cifar10/dcgan")
    assert (row.inception_score, row.fid) == ("5.77", "42.18")
    # gan_cifar.py MODE='dcgan' (test_architectures pins the layer-by-layer sums).
    assert (row.generator_params, row.discriminator_params) == (5179907, 4116225)
    table = zoo.markdown_table([row])
    assert table.splitlines()[2] == (
        "| `cifar10/dcgan` | CIFAR-10 32x32 | DCGAN (WGAN-GP's CNN, batch-norm critic) | no | "
        "improved_wgan_training gan_cifar.py, MODE='dcgan' | 5,179,907 | 4,116,225 "
        "| Table 1 DCGAN (Table 3 baseline: IS 5.70) | 5.77 | 42.18 |")


def test_unknown_config_is_an_error():
    with pytest.raises(ValueError, match="no_such_gan"):
        zoo.describe("cifar10/no_such_gan")


def test_tool_prints_the_rows_it_is_asked_for():
    result = subprocess.run(
        [sys.executable, launch.repo_path("tools/config_table.py"), "--config=digits/dcgan",
         "--config=digits/dcgan_rgan"], capture_output=True, text=True, timeout=300)
    assert result.returncode == 0, result.stderr[-2000:]
    lines = result.stdout.splitlines()
    assert len(lines) == 4 and lines[0].startswith("| Config |")
    launch.parse_gin([launch.repo_path("gin_configs/digits/dcgan.gin")], [])
    g = zoo.trainable_count(architectures.dcgan_generator())  # with the config's bindings
    d = zoo.trainable_count(architectures.dcgan_discriminator())
    for line, robust in zip(lines[2:], ("no", "both")):
        cells = [cell.strip() for cell in line.strip("|").split("|")]
        assert cells[3] == robust
        assert cells[5:7] == [f"{g:,}", f"{d:,}"]


def test_tool_rejects_an_unknown_config():
    result = subprocess.run(
        [sys.executable, launch.repo_path("tools/config_table.py"), "--config=mars/gan"],
        capture_output=True, text=True, timeout=300)
    assert result.returncode == 1 and "mars/gan" in result.stderr


def test_docs_table_lists_every_shipped_config():
    with open(launch.repo_path(os.path.join("docs", "configs.md"))) as handle:
        text = handle.read()
    for name in zoo.shipped_configs():
        assert f"| `{name}` |" in text, name


@pytest.mark.slow
def test_docs_table_is_the_tools_output(tmp_path):
    output = tmp_path / "configs.md"
    result = subprocess.run(
        [sys.executable, launch.repo_path("tools/config_table.py"), f"--output={output}"],
        capture_output=True, text=True, timeout=1200)
    assert result.returncode == 0, result.stderr[-2000:]
    with open(launch.repo_path(os.path.join("docs", "configs.md"))) as handle:
        assert output.read_text() == handle.read(), "rerun tools/config_table.py --output=..."
