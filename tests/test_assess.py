"""rgan_tf.assess / tools/evaluate.py end to end on a tiny digits run: names with the protocol,
appended to metrics.jsonl; an export measured like its run folder; refusals."""
import json
import os

import gin
import numpy as np
import pytest

from rgan_tf import assess
from rgan_tf import config
from rgan_tf import export
from rgan_tf.evaluation import domain_classifiers
from test_training import CONFIG, run_tool, tiny


@pytest.fixture(scope="module")
def tiny_run(tmp_path_factory):
    """A 2-step RGAN digits run (8x8) and a 8x8 digits classifier trained for a few steps."""
    folder = tmp_path_factory.mktemp("evaluation")
    config.run_training([CONFIG], tiny(2), str(folder / "run"))
    model, _ = domain_classifiers.train_domain_classifier("digits", steps=5, batch_size=32,
                                                          verbose=0)
    domain_classifiers.export_classifier(model, str(folder / "classifier"))
    yield folder / "run", str(folder / "classifier"), str(folder / "cache")
    gin.clear_config()


def test_evaluate_tool_appends_named_metrics_with_the_protocol(tiny_run):
    run, classifier, cache = tiny_run
    result = run_tool("evaluate.py", f"--model_dir={run}", f"--classifier={classifier}",
                      "--num_samples=100", "--batch_size=50", "--robustness", "--radii=0.5",
                      "--generalization", "--d_num_images=64", f"--cache_dir={cache}",
                      "--noverbose")
    assert result.returncode == 0, result.stderr[-3000:]
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
    assert record["classifier"] == "classifier" and record["resize"] == "bilinear to 8x8"
    assert record["is_splits"] == 10 and record["noise_norm"] == "l2"
    assert 1.0 <= record["is100"] <= 10.0 and record["fid100"] > 0
    assert record["eval_peak_rss_mib"] > 100
    assert record["g_loss_worst_eps0.5"] > record["g_loss"]
    assert record["d_num_train"] == 64 and record["d_num_heldout"] == 64
    assert "is100=" in result.stdout and "Appended to" in result.stdout


def test_evaluate_an_export_and_refusals(tiny_run, tmp_path):
    run, classifier, cache = tiny_run
    exported = export.export_run(str(run), str(tmp_path / "export"), log=lambda message: None)
    record = assess.evaluate_run(export_dir=exported, num_samples=50, classifier=classifier,
                                 metrics=("is", "fid"), cache_dir=cache, verbose=False,
                                 log=lambda message: None)
    assert record["step"] == 2 and record["real_source"] == "digits"
    assert {"is50", "is50_std", "fid50"} <= set(record) and "kid50" not in record
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
