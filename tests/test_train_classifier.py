"""tools/train_classifier.py: a digits classifier, saved in Inception's form for offline eval."""
import os
import subprocess
import sys

import numpy as np
import pytest

from rgan_tf import classifiers
from rgan_tf import data as data_lib
from rgan_tf import metrics

REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


def _digits(split, count, seed=0):
    batches = data_lib.dataset(source="digits", batch_size=count, split=split, shuffle=True,
                               repeat=False, seed=seed)
    return next(iter(batches)).numpy()


def test_tool_trains_on_digits_and_writes_a_loadable_classifier(tmp_path):
    output = str(tmp_path / "digits_classifier")
    env = dict(os.environ, TF_CPP_MIN_LOG_LEVEL="3")
    result = subprocess.run(
        [sys.executable, os.path.join(REPO, "tools", "train_classifier.py"), "--source=digits",
         "--steps=20", "--batch_size=32", f"--output={output}"],
        capture_output=True, text=True, env=env, timeout=180, cwd=str(tmp_path))
    assert result.returncode == 0, result.stderr[-3000:]
    assert "test accuracy:" in result.stdout
    accuracy = float(result.stdout.split("test accuracy:")[1].split()[0])

    classifier = classifiers.load_classifier(output)
    images = _digits("test", 16)
    assert classifier.image_size == tuple(images.shape[1:3])
    assert classifier.channels == images.shape[-1]
    logits, features = classifier(images)
    assert logits.shape == (16, 10) and features.shape[0] == 16
    assert np.all(np.isfinite(features.numpy()))
    # The printed accuracy is the saved classifier's on the whole test split (359 images).
    test_images, test_labels = next(iter(data_lib.dataset(
        source="digits", batch_size=359, split="test", with_labels=True, shuffle=False,
        repeat=False)))
    predicted = np.argmax(classifier(test_images.numpy())[0].numpy(), axis=1)
    assert accuracy == pytest.approx(np.mean(predicted == test_labels.numpy()), abs=6e-5)


def test_tool_without_output_fails(tmp_path):
    result = subprocess.run(
        [sys.executable, os.path.join(REPO, "tools", "train_classifier.py"), "--steps=1"],
        capture_output=True, text=True, timeout=120, cwd=str(tmp_path),
        env=dict(os.environ, TF_CPP_MIN_LOG_LEVEL="3"))
    assert result.returncode != 0 and "output" in result.stderr


def test_trained_classifier_learns_digits_and_drives_evaluation(tmp_path):
    model, accuracy = classifiers.train_domain_classifier("digits", steps=200, batch_size=64,
                                                          verbose=0)
    assert accuracy > 0.6  # chance is 0.1
    path = classifiers.export_classifier(model, str(tmp_path / "digits"))
    classifier = classifiers.load_classifier(path)

    real_test = _digits("test", 200, seed=1)
    noise = np.random.default_rng(0).uniform(-1, 1, real_test.shape).astype(np.float32)
    kwargs = dict(classifier=classifier, source="digits", split="train", num_fake=200,
                  num_real=500, batch_size=100, cache_dir=str(tmp_path / "cache"),
                  num_splits=2, verbose=False)
    real_like = iter([real_test[:100], real_test[100:]])
    good = metrics.evaluate(lambda n: next(real_like), **kwargs)
    noise_like = iter([noise[:100], noise[100:]])
    bad = metrics.evaluate(lambda n: next(noise_like), **kwargs)
    assert good["fid200"] < bad["fid200"] and good["kid200"] < bad["kid200"]
    assert good["is200"] > bad["is200"]
    assert good["num_real"] == 500 and good["classifier"] == "digits"
    # The whole split, last partial batch included (digits' test split: the last 359 images).
    whole = metrics.real_features(classifier, "digits", "test", None, batch_size=100,
                                  cache_dir=str(tmp_path / "cache"), verbose=False)
    assert whole.shape[0] == 359


def test_steps_or_epochs_exactly_one():
    with pytest.raises(ValueError, match="exactly one"):
        classifiers.train_domain_classifier("digits", steps=10, epochs=1)
    with pytest.raises(ValueError, match="exactly one"):
        classifiers.train_domain_classifier("digits")
