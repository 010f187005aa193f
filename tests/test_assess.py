"""rgan_tf.assess / tools/evaluate.py end to end on a tiny digits run: names with the protocol,
IS checked against numpy, peak memory against the process's, appended to metrics.jsonl; an export
measured like its run folder; refusals."""
import json
import os
import subprocess
import sys

import gin
import numpy as np
import pytest

from conftest import CONFIG, numpy_inception_score, run_tool, tiny, tool_command
from rgan_tf import assess
from rgan_tf import config
from rgan_tf import export
from rgan_tf.evaluation import classifiers
from rgan_tf.evaluation import domain_classifiers
from rgan_tf.evaluation import noise


@pytest.fixture(scope="module")
def tiny_run(tmp_path_factory):
    """A 2-step RGAN digits run (8x8), a 8x8 digits classifier trained for a few steps, and an
    8x8 stand-in Inception (random weights: its predictions vary from sample to sample, so its
    IS on the run's samples is well above 1, unlike the barely trained classifier's)."""
    folder = tmp_path_factory.mktemp("evaluation")
    config.run_training([CONFIG], tiny(2), str(folder / "run"))
    model, _ = domain_classifiers.train_domain_classifier("digits", steps=5, batch_size=32,
                                                          verbose=0)
    domain_classifiers.export_classifier(model, str(folder / "classifier"))
    domain_classifiers.export_classifier(domain_classifiers.build_standin_inception(
        image_size=8, num_classes=10, feature_dim=16), str(folder / "standin"))
    yield folder / "run", str(folder / "classifier"), str(folder / "cache")
    gin.clear_config()


# Runs a command and prints its peak resident set (KiB, Linux) as the last line of stderr.
PEAK_RSS_WRAPPER = ("import resource, subprocess, sys; code = subprocess.call(sys.argv[1:]); "
                    "print(resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss, "
                    "file=sys.stderr); sys.exit(code)")


def test_evaluate_tool_appends_named_metrics_with_the_protocol(tiny_run):
    run, _, cache = tiny_run
    classifier = str(run.parent / "standin")
    command = tool_command("evaluate.py", f"--model_dir={run}", f"--classifier={classifier}",
                           "--num_samples=100", "--batch_size=50", "--robustness", "--radii=0.5",
                           "--generalization", "--d_num_images=64", f"--cache_dir={cache}",
                           "--noverbose")
    result = subprocess.run([sys.executable, "-c", PEAK_RSS_WRAPPER] + command,
                            capture_output=True, text=True, timeout=300,
                            env=dict(os.environ, TF_CPP_MIN_LOG_LEVEL="2"))
    assert result.returncode == 0, result.stderr[-3000:]
    process_peak_mib = int(result.stderr.strip().splitlines()[-1]) / 1024
    records = [json.loads(line) for line in open(run / "metrics.jsonl")]
    assert len(records) == 1
    record = records[0]
    assert json.loads(result.stdout.strip().splitlines()[-1]) == record
    for name in ("is100", "is100_std", "fid100", "kid100", "is100_worst_eps0.5",
                 "is100_worst_eps0.5_std", "fid100_worst_eps0.5", "g_loss",
                 "g_loss_worst_eps0.5", "g_loss_random_eps0.5", "d_loss_train",
                 "d_loss_heldout", "d_gap", "d_sensitivity_eps2.3", "eval_seconds",
                 "eval_peak_rss_mib"):
        assert np.isfinite(record[name]), name
    assert record["step"] == 2 and record["origin"] == "evaluate"
    assert record["num_fake"] == 100 and record["num_real"] == 100
    assert record["real_source"] == "digits" and record["real_split"] == "test"
    assert record["classifier"] == "standin" and record["resize"] == "bilinear to 8x8"
    assert record["is_splits"] == 10 and record["noise_norm"] == "l2"
    assert record["fid100"] > 0
    # IS: numpy on the classifier's logits of the same 100 samples (the run's generator on
    # `NoiseImages`' noise, seed 0, two batches of 50).
    model, _ = export.load_run(str(run), log=lambda message: None)
    images = noise.NoiseImages(model, "normal", seed=0)
    logits = np.concatenate([classifiers.load_classifier(classifier)(images(50))[0].numpy()
                             for _ in range(2)])
    # The 2-step generator's samples are alike, so IS is barely above 1: compare IS - 1.
    expected = numpy_inception_score(logits, 10)[0]
    assert expected - 1 > 1e-4
    assert record["is100"] - 1 == pytest.approx(expected - 1, rel=1e-2)
    # The evaluation's peak memory is the process's (RSS in MiB), not more, and most of it.
    assert 0.5 * process_peak_mib <= record["eval_peak_rss_mib"] <= 1.01 * process_peak_mib
    assert record["g_loss_worst_eps0.5"] > record["g_loss"]
    assert record["d_num_train"] == 64 and record["d_num_heldout"] == 64
    assert record["sampling"] == "moving_average" and record["ema_decay"] is None
    assert "sampling_batch" not in record
    assert "is100=" in result.stdout and "Appended to" in result.stdout


def test_evaluate_an_export_and_refusals(tiny_run, tmp_path):
    run, classifier, cache = tiny_run
    exported = export.export_run(str(run), str(tmp_path / "export"), log=lambda message: None)
    record = assess.evaluate_run(export_dir=exported, num_samples=50, classifier=classifier,
                                 metrics=("is", "fid"), cache_dir=cache, verbose=False,
                                 log=lambda message: None)
    assert record["step"] == 2 and record["real_source"] == "digits"
    assert {"is50", "is50_std", "fid50"} <= set(record) and "kid50" not in record
    assert record["sampling"] == "moving_average" and record["ema_decay"] is None
    assert os.path.isfile(os.path.join(exported, "metrics.jsonl"))
    # The same noise through the run folder gives the same scores.
    from_run = assess.evaluate_run(model_dir=str(run), num_samples=50, classifier=classifier,
                                   metrics=("is", "fid"), cache_dir=cache, verbose=False,
                                   metrics_file=str(tmp_path / "m.jsonl"),
                                   log=lambda message: None)
    assert from_run["is50"] == pytest.approx(record["is50"], rel=1e-4)
    assert from_run["fid50"] == pytest.approx(record["fid50"], rel=1e-3)
    with pytest.raises(ValueError, match="not an export"):
        assess.evaluate_run(export_dir=exported, robustness=True, classifier=classifier)
    result = run_tool("evaluate.py", f"--model_dir={run}", f"--export_dir={exported}")
    assert result.returncode == 1 and "exactly one of model_dir and export_dir" in result.stderr
    assert "Traceback" not in result.stderr
