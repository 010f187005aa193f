"""The CIFAR-10 classifier (`rgan_tf.evaluation.residual_classifier`): its interface, its
augmentation (a reflected-pad crop and flip per image, fixed by seed and step), its schedule, and
training that learns, is fixed by its seed, and saves a card the evaluation reads."""
import os

import numpy as np
import pytest
import tensorflow as tf
from PIL import Image

from rgan_tf.evaluation import classifiers
from rgan_tf.evaluation import domain_classifiers
from rgan_tf.evaluation import residual_classifier as rc


def test_outputs_are_logits_and_pooled_features():
    model = rc.residual_classifier(32, 3, 10, width=0.125)
    logits, features = model(tf.zeros((2, 32, 32, 3)))
    assert logits.shape == (2, 10) and features.shape == (2, 64)
    assert model.get_layer("logits") is not None and model.get_layer("pool_3") is not None
    with pytest.raises(ValueError, match="divisible by 8"):
        rc.residual_classifier(36)


def _window_of(padded, out):
    """(row, col, flipped) of the window of `padded` that `out` equals, or None."""
    size = out.shape[0]
    for flipped in (False, True):
        target = out[:, ::-1] if flipped else out
        for row in range(2 * rc.PAD + 1):
            for col in range(2 * rc.PAD + 1):
                if np.array_equal(padded[row:row + size, col:col + size], target):
                    return row, col, flipped
    return None


def test_augment_crops_a_reflected_window_and_flips_per_image():
    images = tf.reshape(tf.range(6 * 8 * 8 * 1, dtype=tf.float32), (6, 8, 8, 1))
    first = rc.augment(images, seed=5, step=3).numpy()
    np.testing.assert_array_equal(first, rc.augment(images, seed=5, step=3).numpy())
    assert not np.array_equal(first, rc.augment(images, seed=5, step=4).numpy())
    padded = np.pad(images.numpy(), [[0, 0], [4, 4], [4, 4], [0, 0]], mode="reflect")
    windows = [_window_of(padded[i], first[i]) for i in range(6)]
    assert all(w is not None for w in windows)
    many = rc.augment(tf.tile(images[:1], (200, 1, 1, 1)), seed=1, step=0).numpy()
    found = {_window_of(padded[0], out) for out in many[:60]}
    assert len({(r, c) for r, c, _ in found}) > 20 and {f for _, _, f in found} == {False, True}


def test_one_cycle_rises_then_falls_to_zero():
    schedule = rc.OneCycle(0.4, 100)
    values = [float(schedule(step)) for step in (0, 10, 20, 60, 100)]
    np.testing.assert_allclose(values, [0.0, 0.2, 0.4, 0.2, 0.0], atol=1e-6)


def _two_class_folder(root, per_class=48):
    """Class a: dark images, class b: bright; train and test splits."""
    rng = np.random.default_rng(0)
    for split, count in (("train", per_class), ("test", per_class // 4)):
        for name, base in (("a", 70), ("b", 185)):
            folder = root / split / name
            folder.mkdir(parents=True)
            for i in range(count):
                array = np.clip(rng.normal(base, 40, (32, 32, 3)), 0, 255).astype(np.uint8)
                Image.fromarray(array).save(folder / f"{i}.png")
    return f"folder:{root}"


def test_training_learns_is_fixed_by_its_seed_and_saves_a_card(tmp_path):
    source = _two_class_folder(tmp_path / "data")
    settings = dict(epochs=3, batch_size=16, width=0.125, learning_rate=0.1, verbose=0)
    model, record = rc.train_residual_classifier(source, seed=1, **settings)
    assert record["test_accuracy"] >= 0.9
    assert record["steps"] == 3 * (96 // 16) and record["source"] == source
    again, _ = rc.train_residual_classifier(source, seed=1, **settings)
    other, _ = rc.train_residual_classifier(source, seed=2, **settings)
    for a, b in zip(model.weights, again.weights):
        np.testing.assert_array_equal(a.numpy(), b.numpy())
    assert any(not np.array_equal(a.numpy(), b.numpy())
               for a, b in zip(model.weights, other.weights))
    path = str(tmp_path / "c10net")
    card = domain_classifiers.save_with_card(model, record, path)
    loaded = classifiers.load_classifier(path)
    assert loaded.identity.startswith(f"c10net[{card['fingerprint']}]")
    assert os.path.isfile(os.path.join(path, "accuracy.json"))
    images = tf.random.uniform((4, 32, 32, 3), -1, 1)
    logits, features = loaded(images)
    np.testing.assert_allclose(logits, model(images, training=False)[0], atol=1e-4)
    assert features.shape == (4, 64)
