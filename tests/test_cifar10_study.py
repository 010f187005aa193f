"""The CIFAR-10 study (`rgan_tf.study.cifar10`): its plan (paired seeds, shards), its statistics
(paired differences with t-intervals), its report, the launcher's checks, and a tiny end-to-end
study on a small image folder laid out like the offline copy."""
import os
import subprocess
import sys

import keras
import numpy as np
import pytest
import tensorflow as tf
from PIL import Image
from scipy import stats

from rgan_tf import config
from rgan_tf import files
from rgan_tf import training
from rgan_tf.evaluation import classifiers
from rgan_tf.study import cifar10
from rgan_tf.study import cifar10_report
from rgan_tf.study import reproduce

REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


def _bindings_without(run, *prefixes):
    return [b for b in run.bindings if not b.startswith(prefixes)]


def test_cpu_plan_pairs_every_variant_of_a_seed():
    runs = cifar10.study_runs("cpu")
    by_variant = {}
    for run in runs:
        by_variant.setdefault(run.variant, []).append(run.seed)
    assert by_variant == {"off": [0, 1, 2, 3, 4], "random": [0, 1, 2], "generator": [0, 1, 2],
                          "discriminator": [0, 1, 2], "both": [0, 1, 2, 3, 4]}
    assert [r.seed for r in runs] == sorted(r.seed for r in runs)  # seed-major
    for seed in range(5):
        same_seed = [r for r in runs if r.seed == seed]
        # Variants of a seed differ in their robust settings only.
        rest = {tuple(_bindings_without(r, "RobustGAN.")) for r in same_seed}
        assert len(rest) == 1 and f"train.seed = {seed}" in rest.pop()
        assert {r.gin_files for r in same_seed} == {("gin_configs/study/cpu/dcgan.gin",)}
    robust = [r for r in runs if r.variant == "both"][0]
    assert "RobustGAN.eps_x = 4.0" in robust.bindings and "RobustGAN.lam = 0.1" in robust.bindings


def test_shards_partition_the_plan():
    every = [r.name for r in cifar10.study_runs("cpu")]
    shards = [[r.name for r in cifar10.study_runs("cpu", shard=(k, 3))] for k in range(3)]
    assert sorted(sum(shards, [])) == sorted(every)
    assert not set(shards[0]) & set(shards[1])
    assert cifar10.parse_shard("1/2") == (1, 2)
    for bad in ("2/2", "x/2", "1", "0/0"):
        with pytest.raises(ValueError, match="k/n|0 <= k < n"):
            cifar10.parse_shard(bad)


def test_variants_of_a_seed_start_from_the_same_weights():
    runs = [r for r in cifar10.study_runs("tiny") if r.seed == 1]
    weights = []
    for run in runs:
        config.parse_gin(list(run.gin_files), list(run.bindings))
        keras.utils.set_random_seed(1)
        model = training.build_model()
        weights.append([w.numpy() for w in model.generator.weights + model.discriminator.weights])
    assert len(runs) >= 2
    for other in weights[1:]:
        for a, b in zip(weights[0], other):
            np.testing.assert_array_equal(a, b)
    config.parse_gin([], [])


def _records():
    rng = np.random.default_rng(3)
    records = []
    for seed in range(4):
        base = 3.0 + rng.normal()
        for variant, shift in (("off", 0.0), ("both", 0.5), ("random", 0.1)):
            if variant == "random" and seed == 3:
                continue
            value = base + shift + 0.1 * rng.normal()
            records.append({"variant": variant, "seed": seed, "is": value, "fid": 100 - value,
                            "classifier": "c10net[abc]", "classifier_accuracy": 0.9})
    return records


def test_paired_differences_and_their_interval():
    records = _records()
    paired = cifar10.paired_differences(records, "is")
    by_seed = {(r["variant"], r["seed"]): r["is"] for r in records}
    expected = [by_seed[("both", s)] - by_seed[("off", s)] for s in range(4)]
    np.testing.assert_allclose(paired["both"], expected)
    assert len(paired["random"]) == 3
    rows = {r["variant"]: r for r in cifar10.summary_rows(records, ("off", "random", "both"))}
    half = stats.t.ppf(0.975, 3) * np.std(expected, ddof=1) / 2
    assert rows["both"]["dis"] == pytest.approx(np.mean(expected))
    assert rows["both"]["dis_ci95"] == pytest.approx(half)
    assert rows["both"]["dfid"] == pytest.approx(-np.mean(expected))
    # The paired interval is narrower than the unpaired spread of seeds here (shared base).
    assert rows["both"]["dis_ci95"] < rows["both"]["is_ci95"]
    assert rows["off"]["n"] == 4 and rows["random"]["pairs"] == 3


def test_order_steps_pair_each_variant_with_its_neighbour_below():
    # Per seed a shared base; random is clearly above the baseline, G only clearly below random,
    # D only indistinguishable from G only, both measured on one seed only, random missing its
    # seed 2; the records in no particular order.
    rng = np.random.default_rng(7)
    shifts = {"off": 0.0, "random": 0.5, "generator": 0.1, "discriminator": 0.1, "both": 0.3}
    records = []
    for seed in range(5):
        base = 3.0 + rng.normal()
        for variant, shift in shifts.items():
            if (variant == "both" and seed > 0) or (variant == "random" and seed == 2):
                continue
            noise = 0.3 * rng.normal() if variant == "discriminator" else 0.01 * rng.normal()
            value = base + shift + noise
            records.append({"variant": variant, "seed": seed, "is": value, "fid": 50 - 2 * value})
    records = [records[i] for i in rng.permutation(len(records))]
    steps = {(r["lower"], r["higher"]): r for r in cifar10.order_steps(records)}
    assert list(steps) == [("off", "random"), ("random", "generator"),
                           ("generator", "discriminator"), ("discriminator", "both")]
    by = {(r["variant"], r["seed"]): r for r in records}
    seeds = (0, 1, 3, 4)  # those of random
    expected = [by[("generator", s)]["is"] - by[("random", s)]["is"] for s in seeds]
    step = steps[("random", "generator")]
    assert step["dis"] == pytest.approx(np.mean(expected))
    assert step["dis_ci95"] == pytest.approx(
        stats.t.ppf(0.975, 3) * np.std(expected, ddof=1) / np.sqrt(4))
    assert step["dfid"] == pytest.approx(-2 * np.mean(expected)) and step["pairs"] == 4
    assert (steps[("off", "random")]["is_verdict"], steps[("off", "random")]["fid_verdict"]) == (
        "holds", "holds")
    assert (step["is_verdict"], step["fid_verdict"]) == ("reversed", "reversed")
    assert steps[("generator", "discriminator")]["is_verdict"] == "undecided"
    assert steps[("discriminator", "both")]["pairs"] == 1
    assert steps[("discriminator", "both")]["is_verdict"] == "undecided"  # one pair: no interval
    # Table 3's DCGAN row: 5.70, 5.76, 5.80, 6.02, 6.11.
    assert [r["paper_dis"] for r in steps.values()] == [0.06, 0.04, 0.22, 0.09]
    # A variant without runs is skipped: its neighbours are compared directly.
    without = [r for r in records if r["variant"] != "generator"]
    assert [(r["lower"], r["higher"]) for r in cifar10.order_steps(without)][1] == (
        "random", "discriminator")


def test_report_tables_and_curves(tmp_path):
    records = _records()
    for record in records:
        record["curve"] = [{"step": s, "is": record["is"] * s / 2, "fid": 50.0} for s in (1, 2)]
        record["sweep"] = {"num_samples": 50, "is": record["is"], "fid": 10.0,
                           "points": [{"radius": 1.0, "is": record["is"] - 1, "fid": 12.0}]}
    outputs = cifar10_report.write_report(records, "tiny", str(tmp_path), "A note.")
    names = sorted(os.path.basename(p) for p in outputs)
    assert names == ["cifar10.csv", "cifar10.md", "cifar10_fig2.csv", "cifar10_fig2.png",
                     "cifar10_fig3.csv", "cifar10_fig3.png", "cifar10_order.csv",
                     "cifar10_records.json"]
    text = (tmp_path / "cifar10.md").read_text()
    assert "A note." in text and "test accuracy 0.9000" in text
    assert "| both (RGAN) | 4 |" in text and "| +random noise | 3 |" in text
    # The order's steps: baseline -> random -> both (the variants present), paired by seed.
    assert "| baseline -> +random noise | 3 |" in text
    assert "| +random noise -> both (RGAN) | 3 |" in text
    order = (tmp_path / "cifar10_order.csv").read_text().splitlines()
    assert order[0].startswith("lower,higher,pairs,dis,dis_ci95") and len(order) == 1 + 2
    fig3 = (tmp_path / "cifar10_fig3.csv").read_text().splitlines()
    assert fig3[0] == "variant,radius,n,is,is_ci95,fid,fid_ci95" and len(fig3) == 1 + 2 * 2
    fig2 = (tmp_path / "cifar10_fig2.csv").read_text().splitlines()
    assert len(fig2) == 1 + 2 * 2


def _run_tool(*args):
    return subprocess.run([sys.executable, "tools/reproduce.py", *args], cwd=REPO,
                          capture_output=True, text=True, timeout=300)


def test_launcher_checks(tmp_path):
    missing = _run_tool("--experiment=cifar10", "--scale=cpu", f"--output_dir={tmp_path}/out",
                        f"--source=folder:{tmp_path}/nowhere")
    assert missing.returncode != 0
    assert "error: No CIFAR-10 copy at" in missing.stderr
    assert not os.path.exists(tmp_path / "out")
    wrong = _run_tool("--experiment=table3", "--scale=cpu", "--dry_run")
    assert wrong.returncode != 0 and "is a scale of the cifar10 experiment" in wrong.stderr
    early = _run_tool("--experiment=cifar10", "--scale=cpu", f"--output_dir={tmp_path}/out",
                      f"--source=folder:{tmp_path}", "--report_only")
    assert early.returncode != 0 and "nothing to report" in early.stderr
    assert not os.path.exists(tmp_path / "out" / "c10net")  # no classifier trained for it
    other = _run_tool("--experiment=table3", "--dry_run", "--report_only")
    assert other.returncode != 0 and "flag of the cifar10 experiment" in other.stderr
    dry = _run_tool("--experiment=cifar10", "--scale=cpu", "--dry_run", "--shard=0/2")
    assert dry.returncode == 0, dry.stderr
    assert dry.stdout.count("python tools/train.py") == 10
    assert "dcgan_off_s0 (to run)" in dry.stdout


def _tiny_cifar(root, per_class=40, size=32):
    rng = np.random.default_rng(0)
    for split, count in (("train", per_class), ("test", per_class // 2)):
        for label, name in enumerate(("a", "b")):
            folder = root / split / name
            folder.mkdir(parents=True)
            for i in range(count):
                base = 60 if label == 0 else 190
                array = np.clip(rng.normal(base, 30, (size, size, 3)), 0, 255).astype(np.uint8)
                Image.fromarray(array).save(folder / f"{i}.png")
    return f"folder:{root}"


def test_shard_without_classifier_is_refused(tmp_path):
    source = _tiny_cifar(tmp_path / "data", per_class=4)
    with pytest.raises(ValueError, match="train it once before starting shards"):
        reproduce.reproduce_cifar10("tiny", str(tmp_path / "out"), source=source, shard=(0, 2),
                                    log=lambda m: None)


def test_real_data_is_of_a_class_ordered_folder_sees_every_class(tmp_path):
    # A classifier that is certain of each image's class (the tiny folder's classes are dark
    # and bright): on two balanced classes its IS is 2. Read in folder order, each of IS's ten
    # contiguous splits would hold one class and score 1.
    source = _tiny_cifar(tmp_path / "data", per_class=200)

    def oracle(images):
        bright = tf.reduce_mean(images, axis=[1, 2, 3])
        logits = tf.stack([-50.0 * bright, 50.0 * bright], axis=1)
        return logits, tf.stack([bright, bright ** 2], axis=1)

    certain = classifiers.Classifier(oracle, "oracle", image_size=32, fingerprint="test")
    real = cifar10.real_data_figures(source, certain, num_samples=100, batch_size=50)
    assert real["num_test"] == 200 and real["num_train_each"] == 100
    assert real["is_test"] == pytest.approx(2.0, abs=0.1)  # splits of 20 images: near 50:50
    assert real["version"] == cifar10.REAL_DATA_VERSION


@pytest.mark.slow
def test_tiny_study_end_to_end_resumes_and_pairs(tmp_path):
    source = _tiny_cifar(tmp_path / "data")
    output = str(tmp_path / "out")
    lines = []
    first = reproduce.reproduce_cifar10("tiny", output, source=source, shard=None,
                                        log=lines.append)
    runs = cifar10.study_runs("tiny", source)
    assert first["trained"] == [r.name for r in runs]
    card = files.read_json(os.path.join(output, "c10net", "accuracy.json"))
    assert card["architecture"] == "residual" and len(card["fingerprint"]) == 16
    records = files.read_json(os.path.join(output, "cifar10_records.json"))
    assert len(records) == len(runs)
    for record in records:
        assert record["fid100_c10net"] == record["fid"] and record["step"] == 4
        assert record["classifier"] == "c10net"
        assert record["classifier_fingerprint"] == card["fingerprint"]
        if record["variant"] in ("off", "both"):
            assert [p["step"] for p in record["curve"]] == [2, 4]
            assert [p["radius"] for p in record["sweep"]["points"]] == [0.5, 8.0]
        else:
            assert "curve" not in record
    assert os.path.isfile(os.path.join(output, "cifar10_samples.png"))
    assert os.path.isfile(os.path.join(output, "real_data.json"))
    real = files.read_json(os.path.join(output, "real_data.json"))
    assert real["classifier"].startswith(f"c10net[{card['fingerprint']}]")
    assert real["num_test"] == 40
    lines.clear()
    again = reproduce.reproduce_cifar10("tiny", output, source=source, log=lines.append)
    assert again["trained"] == [] and len(again["skipped"]) == len(runs)
    assert not any(line.startswith("[real data]") for line in lines)  # reused
    stale = dict(real, version=cifar10.REAL_DATA_VERSION - 1)  # an older protocol's figures
    files.write_json(os.path.join(output, "real_data.json"), stale)
    lines.clear()
    reproduce.reproduce_cifar10("tiny", output, source=source, log=lines.append)
    assert any(line.startswith("[real data]") for line in lines)  # measured again
    assert files.read_json(os.path.join(output, "real_data.json"))["version"] == (
        cifar10.REAL_DATA_VERSION)
    # --report_only rewrites the outputs from the finished runs and trains nothing.
    os.remove(os.path.join(output, "cifar10_records.json"))
    lines.clear()
    report = reproduce.reproduce_cifar10("tiny", output, source=source, report_only=True,
                                         log=lines.append)
    assert report["trained"] == [] and report["skipped"] == []
    assert not any(line.startswith(("[train]", "[evaluate]")) for line in lines)
    assert len(files.read_json(os.path.join(output, "cifar10_records.json"))) == len(runs)
