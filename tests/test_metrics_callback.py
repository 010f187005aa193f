"""rgan_tf.run.metrics_callback: `MetricsCallback` during training writes metrics.jsonl,
metrics.png and TensorBoard events, on the run's own data, with the sampling mode and moving
average in each record; bad settings are refused."""
import glob
import json
import os

import numpy as np
import pytest
import tensorflow as tf
from PIL import Image

from conftest import CONFIG, tiny
from rgan_tf import config
from rgan_tf.run import metrics_callback
from rgan_tf.run import operative_config
from test_assess import tiny_run  # noqa: F401  (the fixture)


def _event_tags(folder):
    tags = {}
    for path in glob.glob(os.path.join(folder, "events.out.tfevents.*")):
        for event in tf.compat.v1.train.summary_iterator(path):
            for value in event.summary.value:
                tags.setdefault(value.tag, []).append(
                    (event.step, float(tf.make_ndarray(value.tensor))))
    return tags


def test_metrics_callback_writes_jsonl_plot_and_tensorboard(tiny_run, tmp_path):  # noqa: F811
    _, classifier, cache = tiny_run
    folder = tmp_path / "run"
    config.run_training([CONFIG], tiny(
        4, "train.callbacks = [@MetricsCallback]", "MetricsCallback.every = 2",
        "MetricsCallback.num_samples = 50", f"MetricsCallback.classifier = '{classifier}'",
        f"MetricsCallback.cache_dir = '{cache}'", "MetricsCallback.robustness_radii = [0.5]",
        "MetricsCallback.d_num_images = 40", "RobustGAN.sampling = 'batch_stats'",
        "RobustGAN.ema_decay = 0.9"), str(folder))
    records = [json.loads(line) for line in open(folder / "metrics.jsonl")]
    assert [record["step"] for record in records] == [2, 4]  # the end was step 4: not twice
    for record in records:
        assert record["origin"] == "callback" and record["real_split"] == "test"
        assert (record["sampling"], record["sampling_batch"], record["ema_decay"]) == (
            "batch_stats", 50, 0.9)
        for name in ("is50", "fid50", "is50_worst_eps0.5", "fid50_worst_eps0.5",
                     "g_loss_worst_eps0.5", "g_loss_random_eps0.5", "d_loss_train",
                     "d_loss_heldout", "d_gap", "d_sensitivity_eps2.3"):
            assert np.isfinite(record[name]), name
    assert records[0]["d_num_heldout"] == 40
    with Image.open(folder / "metrics.png") as picture:
        assert picture.size[0] > 800 and picture.size[1] > 200
    tags = _event_tags(folder / "logs")
    assert [step for step, _ in tags["eval/is50"]] == [2, 4]
    assert tags["eval/d_gap"][0][1] == pytest.approx(records[0]["d_gap"], rel=1e-5)
    assert "train/g_loss" in tags  # the trainer's own scalars are still there
    # The callback's settings are part of the run's operative config.
    run_config = operative_config.read_run_config(str(folder))
    assert run_config["MetricsCallback.every"] == 2
    assert run_config["MetricsCallback.num_samples"] == 50


def test_metrics_callback_refuses_bad_settings(tmp_path):
    with pytest.raises(ValueError, match="every"):
        metrics_callback.MetricsCallback(str(tmp_path), every=-1)
    with pytest.raises(ValueError, match="num_samples"):
        metrics_callback.MetricsCallback(str(tmp_path), num_samples=5)
    with pytest.raises(ValueError, match="radius"):
        metrics_callback.MetricsCallback(str(tmp_path), robustness_radii=[float("nan")])
