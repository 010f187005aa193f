"""evaluation: worst-case noise raises the generator's loss more than random noise of the same
radius; the paired noise sources; the discriminator's gap and sensitivity; tools/evaluate.py end to
end on a tiny digits run (names with the protocol, appended to metrics.jsonl); an export; and
`MetricsCallback` during training (metrics.jsonl, metrics.png, TensorBoard events)."""
import glob
import json
import os
import subprocess
import sys

import gin
import keras
import numpy as np
import pytest
import tensorflow as tf
from PIL import Image

from conftest import (CONFIG, LATENT_DIM, numpy_inception_score, run_tool, tiny, tiny_discriminator,
                      tiny_generator, tool_command)
from rgan_tf import classifiers, evaluation, export, launch, perturbations
from rgan_tf.robust_gan import RobustGAN


def tiny_gan(num_classes=None, seed=0, **kwargs):
    keras.utils.set_random_seed(seed)
    return RobustGAN(tiny_generator(num_classes=num_classes),
                     tiny_discriminator(num_classes=num_classes), num_classes=num_classes,
                     **kwargs)


# --- noise and perturbations ----------------------------------------------------------------


@pytest.mark.parametrize("num_classes", [None, 3])
def test_worst_case_noise_raises_the_generator_loss_more_than_random_noise(num_classes):
    model = tiny_gan(num_classes)
    losses = evaluation.generator_loss_under_noise(model, 256, [0.5, 2.0], batch_size=64)
    for eps in (0.5, 2.0):
        worst = losses[f"g_loss_worst_eps{eps:g}"] - losses["g_loss"]
        random = losses[f"g_loss_random_eps{eps:g}"] - losses["g_loss"]
        assert worst > 0 and worst > 3 * abs(random), (eps, worst, random)
    # A larger radius raises it further.
    assert losses["g_loss_worst_eps2"] > losses["g_loss_worst_eps0.5"]


def test_worst_case_noise_is_the_ascent_direction_at_radius_eps():
    model = tiny_gan()
    z = tf.random.stateless_normal([16, LATENT_DIM], [1, 2])
    moved = evaluation.worst_case_noise(model, z, 0.3)
    np.testing.assert_allclose(perturbations.per_sample_norm(moved - z).numpy(), 0.3, rtol=1e-4)
    with tf.GradientTape() as tape:
        tape.watch(z)
        loss = tf.reduce_sum(evaluation.generator_losses(model, z))
    gradient = tape.gradient(loss, z).numpy()
    direction = (moved - z).numpy() / 0.3
    np.testing.assert_allclose(direction, gradient / np.linalg.norm(
        gradient, axis=1, keepdims=True), atol=1e-4)
    # Linf: every coordinate moves by eps.
    moved = evaluation.worst_case_noise(model, z, 0.1, norm="linf")
    np.testing.assert_allclose(np.abs((moved - z).numpy()), 0.1, rtol=1e-4)


def test_noise_sources_share_their_base_noise():
    model = tiny_gan()
    normal = evaluation.NoiseImages(model, "normal", seed=3)
    worst_zero = evaluation.NoiseImages(model, "worst", 0.0, seed=3)
    worst = evaluation.NoiseImages(model, "worst", 0.5, seed=3)
    random = evaluation.NoiseImages(model, "random", 0.5, seed=3)
    first = normal(10).numpy()
    np.testing.assert_allclose(worst_zero(10).numpy(), first, atol=1e-6)
    assert not np.allclose(worst(10).numpy(), first)
    assert not np.allclose(random(10).numpy(), first)
    assert not np.allclose(normal(10).numpy(), first)  # the next call: fresh noise
    z, _ = normal.noise(10, 0)
    z_random, _ = random.latent(10, 0)
    np.testing.assert_allclose(perturbations.per_sample_norm(z_random - z).numpy(), 0.5,
                               rtol=1e-4)
    with pytest.raises(ValueError, match="noise mode"):
        evaluation.NoiseImages(model, "adversarial")
    with pytest.raises(ValueError, match="radius"):
        evaluation.NoiseImages(model, "worst", -1.0)


def test_discriminator_gap_and_sensitivity():
    model = tiny_gan()
    rng = np.random.default_rng(0)
    train = rng.uniform(-1, 1, (50, 8, 8, 1)).astype(np.float32)
    heldout = rng.uniform(-1, 1, (30, 8, 8, 1)).astype(np.float32)
    record = evaluation.discriminator_generalization(model, train, heldout, [0.5, 2.0],
                                                     batch_size=16)
    # By hand: the non-saturating loss on real images, softplus(-D(x)), in numpy.
    def loss(images):
        return float(np.mean(np.logaddexp(0.0, -model.discriminator(images).numpy())))

    def worst_case(images, eps):  # x + eps * (per-sample unit gradient of softplus(-D(x)))
        images = tf.constant(images)
        with tf.GradientTape() as tape:
            tape.watch(images)
            total = tf.reduce_sum(tf.nn.softplus(-model.discriminator(images)))
        gradient = tape.gradient(total, images).numpy()
        norms = np.linalg.norm(gradient.reshape(len(gradient), -1), axis=1)
        return images.numpy() + eps * gradient / norms[:, None, None, None]

    assert record["d_loss_train"] == pytest.approx(loss(train), rel=1e-5)
    assert record["d_loss_heldout"] == pytest.approx(loss(heldout), rel=1e-5)
    assert record["d_gap"] == pytest.approx(loss(heldout) - loss(train), rel=1e-4, abs=1e-6)
    assert record["d_num_train"] == 50 and record["d_num_heldout"] == 30
    for eps in (0.5, 2.0):
        assert record[f"d_sensitivity_eps{eps:g}"] == pytest.approx(
            loss(worst_case(train, eps)) - loss(train), rel=1e-4, abs=1e-6)
    # The worst-case perturbation raises the loss, more at the larger radius.
    assert 0 < record["d_sensitivity_eps0.5"] < record["d_sensitivity_eps2"]
    no_heldout = evaluation.discriminator_generalization(model, train, None, [])
    assert set(no_heldout) == {"d_loss_train", "d_num_train"}
    # Conditional: labels go with the images.
    conditional = tiny_gan(num_classes=3)
    labels = np.arange(50, dtype=np.int32) % 3
    record = evaluation.discriminator_generalization(conditional, (train, labels),
                                                     (heldout, labels[:30]), [0.5])
    assert np.isfinite(record["d_gap"]) and record["d_sensitivity_eps0.5"] > 0


def test_real_images_are_read_without_the_training_dequantization(tmp_path):
    # `dataset.dequantize = True` in a config is a training option: the real images scored
    # (the discriminator's gap, FID statistics) are the data as stored, x / 127.5 - 1.
    levels = np.random.default_rng(0).integers(0, 256, size=(6, 4, 4, 3), dtype=np.uint8)
    np.savez(tmp_path / "real.npz", images=levels)
    gin.parse_config([f"dataset.source = 'npz:{tmp_path / 'real.npz'}'",
                      "dataset.dequantize = True"])
    images = evaluation.load_real_images("train", 6)
    expected = levels.astype(np.float32) / np.float32(127.5) - np.float32(1.0)
    np.testing.assert_allclose(np.sort(images.ravel()), np.sort(expected.ravel()), atol=1e-6)


# --- run folders ----------------------------------------------------------------------------


@pytest.fixture(scope="module")
def tiny_run(tmp_path_factory):
    """A 2-step RGAN digits run (8x8), a 8x8 digits classifier trained for a few steps, and an
    8x8 stand-in Inception (random weights: its predictions vary from sample to sample, so its
    IS on the run's samples is well above 1, unlike the barely trained classifier's)."""
    folder = tmp_path_factory.mktemp("evaluation")
    launch.run_training([CONFIG], tiny(2), str(folder / "run"))
    model, _ = classifiers.train_domain_classifier("digits", steps=5, batch_size=32, verbose=0)
    classifiers.export_classifier(model, str(folder / "classifier"))
    classifiers.export_classifier(classifiers.build_standin_inception(
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
    noise = evaluation.NoiseImages(model, "normal", seed=0)
    logits = np.concatenate([classifiers.load_classifier(classifier)(noise(50))[0].numpy()
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
    record = evaluation.evaluate_run(export_dir=exported, num_samples=50, classifier=classifier,
                                     metrics=("is", "fid"), cache_dir=cache, verbose=False,
                                     log=lambda message: None)
    assert record["step"] == 2 and record["real_source"] == "digits"
    assert {"is50", "is50_std", "fid50"} <= set(record) and "kid50" not in record
    assert record["sampling"] == "moving_average" and record["ema_decay"] is None
    assert os.path.isfile(os.path.join(exported, "metrics.jsonl"))
    # The same noise through the run folder gives the same scores.
    from_run = evaluation.evaluate_run(model_dir=str(run), num_samples=50, classifier=classifier,
                                       metrics=("is", "fid"), cache_dir=cache, verbose=False,
                                       metrics_file=str(tmp_path / "m.jsonl"),
                                       log=lambda message: None)
    assert from_run["is50"] == pytest.approx(record["is50"], rel=1e-4)
    assert from_run["fid50"] == pytest.approx(record["fid50"], rel=1e-3)
    with pytest.raises(ValueError, match="not an export"):
        evaluation.evaluate_run(export_dir=exported, robustness=True, classifier=classifier)
    result = run_tool("evaluate.py", f"--model_dir={run}", f"--export_dir={exported}")
    assert result.returncode == 1 and "exactly one of model_dir and export_dir" in result.stderr
    assert "Traceback" not in result.stderr


def _event_tags(folder):
    tags = {}
    for path in glob.glob(os.path.join(folder, "events.out.tfevents.*")):
        for event in tf.compat.v1.train.summary_iterator(path):
            for value in event.summary.value:
                tags.setdefault(value.tag, []).append(
                    (event.step, float(tf.make_ndarray(value.tensor))))
    return tags


def test_metrics_callback_writes_jsonl_plot_and_tensorboard(tiny_run, tmp_path):
    _, classifier, cache = tiny_run
    folder = tmp_path / "run"
    launch.run_training([CONFIG], tiny(
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
    config = evaluation.read_run_config(str(folder))
    assert config["MetricsCallback.every"] == 2 and config["MetricsCallback.num_samples"] == 50


def test_resource_meter_sees_memory_allocated_inside_the_block():
    before_mib = evaluation._rss_bytes() / 2**20
    with evaluation.ResourceMeter() as meter:
        block = np.ones(200 * 2**20 // 8)  # 200 MiB, every page touched
    fields = meter.fields("eval")
    del block
    assert fields["eval_peak_rss_mib"] >= before_mib + 190
    assert fields["eval_seconds"] >= 0 and fields["eval_cpu_seconds"] >= 0


def test_metrics_callback_refuses_bad_settings(tmp_path):
    with pytest.raises(ValueError, match="every"):
        evaluation.MetricsCallback(str(tmp_path), every=-1)
    with pytest.raises(ValueError, match="num_samples"):
        evaluation.MetricsCallback(str(tmp_path), num_samples=5)
    with pytest.raises(ValueError, match="radius"):
        evaluation.MetricsCallback(str(tmp_path), robustness_radii=[float("nan")])
