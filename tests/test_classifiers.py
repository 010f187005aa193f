"""classifiers: loading by spec or path (once), TF-GAN's preprocessing, the Inception interface."""
import keras
import numpy as np
import pytest
import tensorflow as tf
import tensorflow_hub as hub

from rgan_tf.evaluation import classifiers
from rgan_tf.evaluation import domain_classifiers

NUM_CLASSES, FEATURE_DIM = 10, 16


@pytest.fixture(scope="module")
def standin_path(tmp_path_factory):
    """The stand-in Inception, saved the way a local copy of the module would sit on disk."""
    path = str(tmp_path_factory.mktemp("models") / "inception_copy")
    module = domain_classifiers.build_standin_inception(num_classes=NUM_CLASSES,
                                                        feature_dim=FEATURE_DIM)
    tf.saved_model.save(module, path)
    return path


@pytest.fixture
def count_hub_loads(monkeypatch):
    """Counts hub.load calls; returns the list of handles asked for."""
    calls = []
    real_load = hub.load

    def counting_load(handle, *args, **kwargs):
        calls.append(handle)
        return real_load(handle, *args, **kwargs)

    monkeypatch.setattr(hub, "load", counting_load)
    return calls


def _images(count=5, size=8, channels=1, seed=0):
    return np.random.default_rng(seed).uniform(-1, 1, (count, size, size, channels)).astype(
        np.float32)


def test_standin_loaded_by_path_has_inception_interface(standin_path):
    classifier = classifiers.load_classifier(standin_path)
    assert classifier.image_size == (299, 299) and classifier.channels == 3
    assert classifier.name == "inception_copy"
    logits, features = classifier(_images())
    assert logits.shape == (5, NUM_CLASSES) and features.shape == (5, FEATURE_DIM)
    assert logits.dtype == tf.float32 and np.all(np.isfinite(features.numpy()))
    # The raw module speaks Inception's language: {"logits", "pool_3" [B, 1, 1, F]}.
    outputs = hub.load(standin_path)(tf.zeros([2, 299, 299, 3]))
    assert set(outputs) == {"logits", "pool_3"}
    assert outputs["pool_3"].shape == (2, 1, 1, FEATURE_DIM)


def test_preprocessing_replicates_channels_then_resizes_bilinear_to_299(standin_path):
    classifier = classifiers.load_classifier(standin_path)
    images = _images(3, size=8, channels=1)
    prepared = classifier.preprocess(images).numpy()
    assert prepared.shape == (3, 299, 299, 3)
    np.testing.assert_array_equal(prepared[..., 0], prepared[..., 2])
    expected = tf.image.resize(np.repeat(images, 3, axis=-1), [299, 299],
                               method=tf.image.ResizeMethod.BILINEAR).numpy()
    np.testing.assert_allclose(prepared, expected, atol=1e-6)
    assert classifier.resize == "bilinear to 299x299"
    # Grey and colour batches in turn through one traced function.
    for channels in (1, 3, 1):
        assert classifier(_images(2, size=8, channels=channels))[0].shape == (2, NUM_CLASSES)
    # Already at the input size: untouched.
    full = _images(2, size=299, channels=3)
    np.testing.assert_array_equal(classifier.preprocess(full).numpy(), full)


def test_outputs_are_the_module_outputs_on_preprocessed_images(standin_path):
    classifier = classifiers.load_classifier(standin_path)
    images = _images(4, size=32, channels=3, seed=1)
    logits, features = classifier(images)
    raw = hub.load(standin_path)(tf.image.resize(images, [299, 299], method="bilinear"))
    np.testing.assert_allclose(logits.numpy(), raw["logits"].numpy(), rtol=1e-5, atol=1e-5)
    np.testing.assert_allclose(features.numpy(), raw["pool_3"].numpy().reshape(4, -1),
                               rtol=1e-5, atol=1e-5)


def test_a_path_is_loaded_once(tmp_path, count_hub_loads):
    path = str(tmp_path / "once")
    domain_classifiers.export_classifier(domain_classifiers.build_standin_inception(
        image_size=32, num_classes=3, feature_dim=4), path)
    first = classifiers.load_classifier(path)
    second = classifiers.load_classifier(path)
    assert count_hub_loads == [path]
    assert first is second  # one Classifier, so its traced function is reused
    assert first.image_size == (32, 32)


def test_inception_without_network_says_what_to_pass(monkeypatch):
    def offline(handle, *args, **kwargs):
        raise OSError(f"Failed to resolve {handle}: no network")

    monkeypatch.setattr(hub, "load", offline)
    monkeypatch.setattr(classifiers, "_LOADED", {})
    with pytest.raises(classifiers.ClassifierUnavailableError) as error:
        classifiers.load_classifier("inception")
    message = str(error.value)
    assert classifiers.INCEPTION_TFHUB in message
    assert "tf-hub-format=compressed" in message
    assert "--classifier=/path/to/inception" in message
    assert "no network" in message


def test_inception_is_loaded_once_and_named(monkeypatch, standin_path):
    calls = []
    module = hub.load(standin_path)

    def fake_hub(handle, *args, **kwargs):
        calls.append(handle)
        return module

    monkeypatch.setattr(hub, "load", fake_hub)
    monkeypatch.setattr(classifiers, "_LOADED", {})
    first = classifiers.load_classifier("inception")
    second = classifiers.load_classifier("inception")
    assert calls == [classifiers.INCEPTION_TFHUB]
    assert first.name == "inception" and first.image_size == (299, 299)
    assert classifiers.INCEPTION_TFHUB in first.identity
    np.testing.assert_allclose(first(_images())[0].numpy(), second(_images())[0].numpy())


def test_unknown_spec_is_a_clear_error(tmp_path):
    with pytest.raises(ValueError, match="inception"):
        classifiers.load_classifier(str(tmp_path / "missing"))
    with pytest.raises(ValueError, match="no saved_model.pb"):
        classifiers.load_classifier(str(tmp_path))  # an empty folder


def test_exported_keras_classifier_round_trips_without_resizing(tmp_path):
    keras.utils.set_random_seed(0)
    model = domain_classifiers.domain_classifier(8, 1, num_classes=4, width=4, feature_dim=6)
    path = domain_classifiers.export_classifier(model, str(tmp_path / "domain"))
    classifier = classifiers.load_classifier(path)
    assert classifier.image_size == (8, 8) and classifier.channels == 1
    images = _images(3)
    logits, features = classifier(images)
    expected_logits, expected_features = model(images)
    np.testing.assert_allclose(logits.numpy(), expected_logits.numpy(), rtol=1e-5, atol=1e-6)
    np.testing.assert_allclose(features.numpy(), expected_features.numpy(), rtol=1e-5, atol=1e-6)
    with pytest.raises(ValueError, match="1-channel"):
        classifier(_images(2, channels=3))


def test_keras_file_with_named_layers(tmp_path):
    keras.utils.set_random_seed(0)
    model = domain_classifiers.domain_classifier(8, 1, num_classes=4, width=4, feature_dim=6)
    path = str(tmp_path / "domain.keras")
    model.save(path)
    classifier = classifiers.load_classifier(path)
    assert classifier.name == "domain" and classifier.image_size == (8, 8)
    logits, features = classifier(_images(2))
    np.testing.assert_allclose(logits.numpy(), model(_images(2))[0].numpy(), rtol=1e-5, atol=1e-6)
    assert features.shape == (2, 6)

    images = keras.Input((8, 8, 1))
    unnamed = keras.Model(images, keras.layers.Dense(3)(keras.layers.Flatten()(images)))
    unnamed.save(str(tmp_path / "unnamed.keras"))
    with pytest.raises(classifiers.ClassifierUnavailableError, match="pool_3"):
        classifiers.load_classifier(str(tmp_path / "unnamed.keras"))


def test_signature_only_module_and_wrong_outputs(tmp_path):
    # A SavedModel reached only through its 'default' signature (as TF1-Hub modules are).
    module = tf.Module()
    module.w = tf.Variable(tf.ones([3, 2]))
    module.serve = tf.function(
        lambda images: {"logits": tf.reduce_mean(images, [1, 2]) @ module.w,
                        "pool_3": tf.reduce_mean(images, [1, 2])},
        input_signature=[tf.TensorSpec([None, 16, 16, 3], tf.float32, name="x")])
    path = str(tmp_path / "signature_only")
    tf.saved_model.save(module, path, signatures={"default": module.serve})
    classifier = classifiers.load_classifier(path)
    assert classifier.image_size == (16, 16)
    logits, features = classifier(np.ones((2, 4, 4, 1), np.float32))
    np.testing.assert_allclose(logits.numpy(), 3.0 * np.ones((2, 2)), rtol=1e-6)
    assert features.shape == (2, 3)

    wrong = tf.Module()
    wrong.__call__ = tf.function(lambda images: {"probs": images[:, 0, 0, :]},
                                 input_signature=[tf.TensorSpec([None, 4, 4, 3], tf.float32)])
    tf.saved_model.save(wrong, str(tmp_path / "wrong"))
    with pytest.raises(classifiers.ClassifierUnavailableError, match="'logits' and 'pool_3'"):
        classifiers.load_classifier(str(tmp_path / "wrong"))


def test_classifier_counts_calls_and_checks_rank(standin_path):
    classifier = classifiers.load_classifier(standin_path)
    before = classifier.calls
    classifier(_images(2))
    classifier(_images(3))
    assert classifier.calls == before + 2
    with pytest.raises(ValueError, match=r"\[B, H, W, C\]"):
        classifier(np.zeros((8, 8, 1), np.float32))
