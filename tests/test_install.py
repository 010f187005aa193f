"""`pip install .` (not editable) into a fresh virtual environment, used from another directory:
the package comes from the environment (not this checkout), every shipped config is found by its
`gin_configs/...` name, the console commands exist, and `rgan-train` trains the default job.

The environment sees this interpreter's packages (`--system-site-packages`), so TensorFlow is not
installed again and nothing is downloaded; the checkout is copied first, so the build leaves no
files in it.
"""
import glob
import json
import os
import shutil
import subprocess
import sys

import pytest

from conftest import REPO

COMMANDS = ("rgan-train", "rgan-evaluate", "rgan-export", "rgan-sample", "rgan-benchmark",
            "rgan-reproduce", "rgan-train-classifier", "rgan-plot-metrics",
            "rgan-plot-eps-sweep", "rgan-plot-tsne", "rgan-config-table",
            "rgan-bwgan-constants")


def _run(command, cwd, timeout=900):
    env = {name: value for name, value in os.environ.items()
           if name not in ("PYTHONPATH", "PYTHONHOME")}
    env["TF_CPP_MIN_LOG_LEVEL"] = "2"
    result = subprocess.run(command, cwd=cwd, env=env, capture_output=True, text=True,
                            timeout=timeout)
    assert result.returncode == 0, (command, result.stdout[-2000:], result.stderr[-3000:])
    return result.stdout


@pytest.mark.slow
def test_pip_install_then_configs_commands_and_the_default_job_from_elsewhere(tmp_path):
    source = tmp_path / "source"
    shutil.copytree(REPO, source, ignore=shutil.ignore_patterns(
        ".git", "__pycache__", "runs", "build", "dist", "*.egg-info", "docs", "tests"))
    venv = tmp_path / "venv"
    _run([sys.executable, "-m", "venv", "--system-site-packages", str(venv)], tmp_path)
    python, bin_dir = str(venv / "bin" / "python"), venv / "bin"
    _run([python, "-m", "pip", "install", "--no-deps", "--no-build-isolation", "--no-index",
          "-q", str(source)], tmp_path)
    shutil.rmtree(source)  # nothing may depend on the copy the package was built from

    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    shipped = sorted(os.path.relpath(path, REPO) for path in glob.glob(
        os.path.join(REPO, "gin_configs", "**", "*.gin"), recursive=True))
    code = ("import json, rgan_tf\n"
            "from rgan_tf import config\n"
            "names = config.shipped_configs()\n"
            "for name in names:\n"
            "    config.find_config(name)\n"
            "    config.parse_gin([name], [])\n"
            "print(json.dumps({'file': rgan_tf.__file__, 'names': names}))\n")
    found = json.loads(_run([python, "-c", code], elsewhere).strip().splitlines()[-1])
    assert found["file"].startswith(str(venv)), found["file"]  # the installed copy
    assert found["names"] == shipped

    for command in COMMANDS:
        assert (bin_dir / command).is_file(), command
    table = _run([str(bin_dir / "rgan-config-table"), "--config=digits/dcgan_rgan"], elsewhere)
    assert "| `digits/dcgan_rgan` |" in table

    # The default job (its config, data and model), two steps.
    _run([str(bin_dir / "rgan-train"), "--gin_bindings=train.steps = 2",
          "--gin_bindings=train.checkpoint_every = 2", "--gin_bindings=train.verbose = 0",
          "--gin_bindings=build_model.jit_compile = False"], elsewhere)
    run = elsewhere / "runs" / "digits_dcgan16_rgan"
    assert (run / "operative_config.gin").is_file()
    assert (run / "checkpoints" / "ckpt-2.index").is_file()
    assert (run / "samples" / "latest.png").is_file()
    _run([str(bin_dir / "rgan-sample"), f"--model_dir={run}", "--num_samples=4",
          "--output=grid.png"], elsewhere)
    assert (elsewhere / "grid.png").is_file()
