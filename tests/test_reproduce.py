"""rgan_tf.study / tools/reproduce.py: experiments run end to end at `tiny` scale, write their
tables and figures, skip finished runs, carry the paper's numbers, and report exactly what
tools/evaluate.py measures on the same run folder."""
import csv
import json
import os
import subprocess
import sys

import numpy as np
import pytest

from conftest import REPO, run_tool
from rgan_tf import config
from rgan_tf.run import layout
from rgan_tf.study import plans
from rgan_tf.study import reproduce
from rgan_tf.study import tables


def test_mean_interval_is_the_95_percent_t_interval():
    mean, half = tables.mean_interval([1.0, 2.0, 3.0])
    # t_{0.975, 2} = 4.3027; std (ddof 1) = 1; n = 3.
    assert mean == pytest.approx(2.0)
    assert half == pytest.approx(4.302653 / np.sqrt(3), rel=1e-5)
    mean, half = tables.mean_interval([5.0])
    assert mean == 5.0 and np.isnan(half)


def test_every_experiment_lists_distinct_runs_with_the_robust_binding():
    for experiment in plans.EXPERIMENTS:
        for scale in plans.SCALES:
            runs = plans.experiment_runs(experiment, scale, [0, 1])
            names = [run.name for run in runs]
            assert len(names) == len(set(names)), (experiment, scale)
            for run in runs:
                assert f"RobustGAN.robust = '{run.variant}'" in run.bindings
    table3 = plans.experiment_runs("table3", "small", [0])
    assert len(table3) == 4 * 5
    assert {run.variant for run in table3} == set(plans.VARIANTS)
    # fig3 shares table3's folders; fig4's sweep point at the default radius is the plain run.
    names3 = {run.name for run in table3}
    assert {run.name for run in plans.experiment_runs("fig3", "small", [0])} <= names3
    assert "dcgan_cifar10_both_s0" in {
        run.name for run in plans.experiment_runs("fig4", "small", [0])}
    with pytest.raises(ValueError, match="Unknown experiment"):
        plans.experiment_runs("table9", "small", [0])


@pytest.mark.parametrize("scale", ["small", "tiny"])
def test_small_scale_families_are_gin_files_that_build_their_players(scale):
    # Each family is gin_configs/study/small/<family>.gin (found by its name from any working
    # directory); the run adds only its length, seed and robust settings.
    import gin
    import keras
    from rgan_tf import training
    expected = {"dcgan": ("dcgan_generator", "non_saturating", 1),
                "wgan_gp": ("wgan_gp_cnn_generator", "wasserstein", 5),
                "wgan_gp_res": ("wgan_gp_resnet_generator", "wasserstein", 5),
                "bwgan": ("wgan_gp_resnet_generator", "banach_wasserstein", 5),
                "sngan": ("sngan_resnet_generator", "hinge", 5),
                "sngan_cond": ("sngan_resnet_generator", "hinge", 5)}
    assert set(expected) == set(plans.FAMILIES)
    for family, (builder, loss, d_steps) in expected.items():
        run = plans.make_run(family, "cifar10", "both", 0, scale)
        assert run.gin_files[0] == f"gin_configs/study/small/{family}.gin"
        assert not any(b.startswith(("build_model.build", "RobustGAN.loss")) for b in run.bindings)
        config.parse_gin(list(run.gin_files), list(run.bindings))
        assert builder in str(gin.query_parameter("build_model.build_generator"))
        assert loss in str(gin.query_parameter("RobustGAN.loss"))
        assert config.query("RobustGAN.d_steps", 1) == d_steps
        width = 8 if scale == "tiny" else 16
        assert width in [config.query(f"{builder}.{name}") for name in ("width", "dim", "ch")]
        if scale == "tiny":
            keras.backend.clear_session()
            model = training.build_model()
            assert model.image_shape == (32, 32, 1)
            assert (model.num_classes == 10) == (family == "sngan_cond")
            keras.backend.clear_session()


def test_paper_scale_runs_parse_with_the_shipped_configs():
    names = set()
    for experiment in plans.EXPERIMENTS:
        for run in plans.experiment_runs(experiment, "paper", [0]):
            if run.name not in names:
                names.add(run.name)
                config.parse_gin(list(run.gin_files), list(run.bindings))
    assert "sngan_cond_cifar10_both_s0" in names and "dcgan_celeba_off_s0" in names


@pytest.mark.parametrize("family,dataset,eps_x", [
    ("dcgan", "cifar10", 4.0), ("wgan_gp_res", "stl10", 4.0), ("dcgan", "stl10", 4.0),
    ("dcgan", "celeba", 8.0)])
def test_paper_scale_radius_is_the_robust_configs(family, dataset, eps_x):
    # STL-10 keeps CIFAR-10's eps_x = 4 (as gin_configs/stl10/*_rgan.gin); CelebA the per-pixel
    # 8 of gin_configs/celeba/*_rgan.gin; the digits study the per-pixel 2.3.
    run = plans.make_run(family, dataset, "both", 0, "paper")
    assert f"RobustGAN.eps_x = {eps_x}" in run.bindings
    assert "RobustGAN.eps_x = 2.3" in plans.make_run(family, dataset, "both", 0,
                                                          "small").bindings


def test_families_restrict_table1_and_unknown_ones_are_refused():
    runs = plans.experiment_runs("table1", "tiny", [0], families=["sngan"])
    assert [r.name for r in runs] == ["sngan_cifar10_off_s0", "sngan_stl10_off_s0"]
    everything = plans.experiment_runs("table1", "tiny", [0])
    assert len(everything) == 9 and set(runs) < set(everything)
    with pytest.raises(ValueError, match="Unknown family gan; choose among bwgan, dcgan, sngan"):
        plans.experiment_runs("table3", "tiny", [0], families=["gan"])
    with pytest.raises(ValueError, match="No run of table1 is of the families wgan_gp"):
        plans.experiment_runs("table1", "tiny", [0], families=["wgan_gp"])


def test_dry_run_prints_commands_and_trains_nothing(tmp_path, capsys):
    summary = reproduce.reproduce("table1", "paper", str(tmp_path), seeds=[0, 1], dry_run=True)
    out = capsys.readouterr().out
    assert len(summary["runs"]) == 18 and not summary["trained"]
    assert "tools/train.py" in out and "gin_configs/cifar10/dcgan.gin" in out
    assert not os.listdir(tmp_path)


def test_readme_dry_run_command_works_as_written(tmp_path):
    # README: `python tools/reproduce.py --experiment=fig3 --scale=small --dry_run`, no folder.
    command = [sys.executable, os.path.join(REPO, "tools", "reproduce.py"), "--experiment=fig3",
               "--scale=small", "--dry_run"]
    env = dict(os.environ, TF_CPP_MIN_LOG_LEVEL="3")
    result = subprocess.run(command, capture_output=True, text=True, env=env, timeout=300,
                            cwd=str(tmp_path))
    assert result.returncode == 0, result.stderr[-3000:]
    runs = plans.experiment_runs("fig3", "small", [0])
    for run in runs:
        assert f"# {run.name} (to run)" in result.stdout
        assert f"--model_dir=OUTPUT_DIR/runs/{run.name}" in result.stdout
    assert result.stdout.count("tools/train.py") == len(runs) == 2
    assert "0 run(s) trained, 0 skipped." in result.stdout
    assert not os.listdir(tmp_path)  # a dry run writes nothing
    # Without --dry_run the folder is needed: one clear error, nothing written.
    result = subprocess.run(command[:-1], capture_output=True, text=True, env=env, timeout=300,
                            cwd=str(tmp_path))
    assert result.returncode == 1 and "error: An output folder is needed" in result.stderr
    assert "Traceback" not in result.stderr and not os.listdir(tmp_path)


def _check_table(output_dir, experiment, rows):
    """The table's rows are the means of the runs' records (done.json), per family and variant."""
    with open(os.path.join(output_dir, f"{experiment}.csv")) as handle:
        table = list(csv.DictReader(handle))
    with open(os.path.join(output_dir, f"{experiment}_records.json")) as handle:
        records = json.load(handle)
    assert len(table) == rows
    for row in table:
        runs = [r for r in records
                if (r["family"], r["variant"]) == (row["family"], row["variant"])]
        assert runs and int(row["n"]) == len(runs)
        for metric in ("is", "fid", "is_worst", "fid_worst"):
            assert float(row[metric]) == pytest.approx(np.mean([r[metric] for r in runs]),
                                                       rel=1e-12), (row, metric)
    with open(os.path.join(output_dir, f"{experiment}.md")) as handle:
        markdown = handle.read()
    assert markdown.count("\n| ") == rows + 1  # header + rows
    for row in table:  # one seed: the value alone, to two decimals
        assert f"| {float(row['is']):.2f} | {float(row['fid']):.1f} |" in markdown


def test_table3_tiny_end_to_end_then_skips_finished_runs(tmp_path):
    output_dir = str(tmp_path)
    first = reproduce.reproduce("table3", "tiny", output_dir, seeds=[0], families=["dcgan"])
    assert len(first["trained"]) == 5 and not first["skipped"]
    _check_table(output_dir, "table3", rows=5)
    with open(os.path.join(output_dir, "table3.csv")) as handle:
        paper_is = {row["variant"]: float(row["paper_is"]) for row in csv.DictReader(handle)}
    assert paper_is["both"] == 6.11 and paper_is["off"] == 5.70
    folder = os.path.join(output_dir, "runs", "dcgan_cifar10_both_s0")
    with open(layout.done_file(folder)) as handle:
        record = json.load(handle)
    assert record["step"] == plans.SCALE_SETTINGS["tiny"].steps_for("dcgan")
    assert record["protocol"] == reproduce.PROTOCOL and record["real_split"] == "test"
    assert record["sampling"] == "moving_average"
    classifier = os.path.join(output_dir, "classifier_digits32")
    assert os.path.isdir(classifier)

    # The study reports what tools/evaluate.py measures on the same folder, number for number.
    result = run_tool("evaluate.py", f"--model_dir={folder}", f"--classifier={classifier}",
                      "--num_samples=100", "--batch_size=50", "--metrics=is,fid", "--robustness",
                      "--radii=1.0", f"--cache_dir={os.path.join(output_dir, 'real_stats')}",
                      f"--metrics_file={tmp_path / 'tool.jsonl'}", "--noverbose")
    assert result.returncode == 0, result.stderr[-3000:]
    measured = json.loads(result.stdout.strip().splitlines()[-1])
    assert [record["is"], record["fid"], record["is_worst"], record["fid_worst"]] == pytest.approx(
        [measured["is100"], measured["fid100"], measured["is100_worst_eps1"],
         measured["fid100_worst_eps1"]], rel=1e-6)
    assert record["num_real"] == measured["num_real"]

    second = reproduce.reproduce("table3", "tiny", output_dir, seeds=[0], families=["dcgan"])
    assert not second["trained"] and len(second["skipped"]) == 5

    # A record of an older protocol is measured again, without training again.
    del record["protocol"]
    with open(layout.done_file(folder), "w") as handle:
        json.dump(record, handle)
    checkpoints = sorted(os.listdir(layout.checkpoint_dir(folder)))
    third = reproduce.reproduce("table3", "tiny", output_dir, seeds=[0], families=["dcgan"])
    assert third["trained"] == ["dcgan_cifar10_both_s0"] and len(third["skipped"]) == 4
    assert sorted(os.listdir(layout.checkpoint_dir(folder))) == checkpoints
    again = reproduce.read_done(output_dir, plans.make_run("dcgan", "cifar10", "both", 0, "tiny"))
    assert again["is"] == pytest.approx(record["is"], rel=1e-6)


def test_an_interrupted_run_resumes_from_its_checkpoint(tmp_path):
    output_dir = str(tmp_path)
    run = plans.experiment_runs("fig3", "tiny", [0])[0]
    # Interrupted after 2 of 4 steps: a checkpoint, no done file.
    config.run_training(list(run.gin_files), list(run.bindings) + ["train.steps = 2"],
                        plans.run_folder(output_dir, run))
    assert not reproduce.is_done(output_dir, run)
    lines = []
    summary = reproduce.reproduce("fig3", "tiny", output_dir, seeds=[0], log=lines.append)
    assert len(summary["trained"]) == 2
    assert reproduce.read_done(output_dir, run)["step"] == 4
    assert os.path.isfile(os.path.join(output_dir, "fig3_worst_case_noise.png"))


# The tables' families that no other test trains at tiny scale (DCGAN: the Table 3 test above and
# the figures): SN-DCGAN in Table 1, WGAN-GP and BWGAN in Table 3. All families would take 15
# minutes of CI.
TOOL_FAMILIES = {"table1": ["sngan"], "table3": ["wgan_gp", "bwgan"]}


@pytest.mark.slow
@pytest.mark.parametrize("experiment", plans.EXPERIMENTS)
def test_every_experiment_tiny_through_the_tool(tmp_path, experiment):
    output_dir = str(tmp_path)
    command = [sys.executable, os.path.join(REPO, "tools", "reproduce.py"),
               f"--experiment={experiment}", "--scale=tiny", f"--output_dir={output_dir}",
               "--seeds=0"]
    if experiment in TOOL_FAMILIES:
        command.append(f"--families={','.join(TOOL_FAMILIES[experiment])}")
    env = dict(os.environ, TF_CPP_MIN_LOG_LEVEL="3")
    result = subprocess.run(command, capture_output=True, text=True, env=env, timeout=1800)
    assert result.returncode == 0, result.stderr[-3000:]
    assert os.path.isfile(os.path.join(output_dir, f"{experiment}.md"))
    assert os.path.isfile(os.path.join(output_dir, f"{experiment}.csv"))
    if experiment.startswith("fig"):
        assert any(name.startswith(experiment) and name.endswith(".png")
                   for name in os.listdir(output_dir))
    again = subprocess.run(command, capture_output=True, text=True, env=env, timeout=600)
    assert again.returncode == 0, again.stderr[-3000:]
    assert "0 run(s) trained" in again.stdout
