"""metrics: TF-GAN's IS/FID/KID maths, streaming collection, the real-statistics cache, evaluate."""
import json
import os

import gin
import numpy as np
import pytest
import tensorflow as tf
from scipy import linalg

from conftest import numpy_inception_score
from rgan_tf import classifiers
from rgan_tf import data  # noqa: F401  (registers the `dataset` configurable)
from rgan_tf import metrics

NUM_CLASSES, FEATURE_DIM = 10, 16


@pytest.fixture(scope="module")
def standin(tmp_path_factory):
    """The stand-in Inception, saved to disk and loaded back by path like a local copy."""
    path = str(tmp_path_factory.mktemp("models") / "inception")
    tf.saved_model.save(classifiers.build_standin_inception(
        num_classes=NUM_CLASSES, feature_dim=FEATURE_DIM), path)
    return classifiers.load_classifier(path)


def _batches(images, batch_size):
    return [images[start:start + batch_size] for start in range(0, len(images), batch_size)]


def _digits_like(count, seed, shift=0.0):
    """Smooth random 8x8x1 images in [-1, 1]; `shift` brightens them."""
    rng = np.random.default_rng(seed)
    coarse = rng.uniform(-0.7, 0.7, (count, 4, 4, 1))
    images = np.repeat(np.repeat(coarse, 2, axis=1), 2, axis=2) + shift
    return np.clip(images, -1, 1).astype(np.float32)


def _fid_closed_form(mean_a, cov_a, mean_b, cov_b):
    root = linalg.sqrtm(cov_a @ cov_b).real
    return float(np.sum((mean_a - mean_b) ** 2) + np.trace(cov_a + cov_b - 2 * root))


# --- maths ----------------------------------------------------------------------------------


@pytest.mark.parametrize("count, name", [(50000, "50k"), (5000, "5k"), (1000, "1k"),
                                         (500, "500"), (10000, "10k"), (1500, "1500")])
def test_format_count_as_in_stylegan2_names(count, name):
    assert metrics.format_count(count) == name


def test_fid_of_two_gaussians_is_the_closed_form():
    rng = np.random.default_rng(0)
    dim = 4
    mean_a, mean_b = np.zeros(dim), np.array([1.0, -0.5, 0.0, 2.0])
    root_a = rng.normal(size=(dim, dim)) / 2
    root_b = rng.normal(size=(dim, dim)) / 2
    cov_a, cov_b = root_a @ root_a.T + 0.1 * np.eye(dim), root_b @ root_b.T + 0.1 * np.eye(dim)
    a = rng.multivariate_normal(mean_a, cov_a, size=20000)
    b = rng.multivariate_normal(mean_b, cov_b, size=20000)
    fid = metrics.frechet_distance(a, b)
    # Exactly the closed form on the empirical moments (unbiased covariances) ...
    empirical = _fid_closed_form(a.mean(0), np.cov(a, rowvar=False), b.mean(0),
                                 np.cov(b, rowvar=False))
    assert fid == pytest.approx(empirical, rel=1e-6)
    # ... and close to the population value.
    assert fid == pytest.approx(_fid_closed_form(mean_a, cov_a, mean_b, cov_b), rel=0.03)


def test_fid_is_zero_for_identical_sets_and_symmetric():
    a = np.random.default_rng(1).normal(size=(300, 5))
    b = np.random.default_rng(2).normal(size=(300, 5)) * 2
    assert abs(metrics.frechet_distance(a, a)) < 1e-6
    assert metrics.frechet_distance(a, b) == pytest.approx(metrics.frechet_distance(b, a),
                                                           rel=1e-6)


def test_inception_score_is_one_for_identical_predictions():
    logits = np.tile(np.random.default_rng(0).normal(size=(1, 7)), (100, 1))
    mean, std = metrics.inception_score(logits)
    assert mean == pytest.approx(1.0, abs=1e-6) and std == pytest.approx(0.0, abs=1e-6)


@pytest.mark.parametrize("num_classes", [2, 5, 10])
def test_inception_score_is_n_for_uniform_one_hot_predictions(num_classes):
    # Each class equally often inside every split: each split scores n, so std is 0.
    labels = np.arange(100 * num_classes) % num_classes
    logits = 100.0 * np.eye(num_classes)[labels]
    mean, std = metrics.inception_score(logits, num_splits=10)
    assert mean == pytest.approx(num_classes, rel=1e-6)
    assert std == pytest.approx(0.0, abs=1e-6)


def test_inception_score_of_fixed_logits_is_the_hand_computed_value():
    # p(y|x) = (0.9, 0.1) and (0.1, 0.9): p(y) = (0.5, 0.5), and each sample's KL divergence is
    # 0.9 ln(0.9 / 0.5) + 0.1 ln(0.1 / 0.5) = 0.3680642, so IS = exp(0.3680642) = 1.444935.
    logits = np.log([[0.9, 0.1], [0.1, 0.9]])
    mean, std = metrics.inception_score(logits, num_splits=1)
    assert mean == pytest.approx(1.444935, abs=1e-6) and std == 0.0


def test_inception_score_splits_differ():
    # First half of the samples all one class, second half uniform: splits score 1 and 4.
    logits = 100.0 * np.eye(4)[np.r_[np.zeros(40, int), np.arange(40) % 4]]
    mean, std = metrics.inception_score(logits, num_splits=2)
    assert mean == pytest.approx(2.5, rel=1e-6) and std == pytest.approx(1.5, rel=1e-6)
    with pytest.raises(ValueError, match="num_splits"):
        metrics.inception_score(logits[:5], num_splits=10)


def numpy_kid(a, b):
    """Unbiased MMD^2 with the cubic polynomial kernel k(x, y) = (x.y / d + 1)^3, in numpy."""
    a, b = np.asarray(a, np.float64), np.asarray(b, np.float64)
    kernel = lambda x, y: (x @ y.T / a.shape[1] + 1.0) ** 3  # noqa: E731
    k_aa, k_bb, k_ab = kernel(a, a), kernel(b, b), kernel(a, b)
    m, n = len(a), len(b)
    return ((k_aa.sum() - np.trace(k_aa)) / (m * (m - 1))
            + (k_bb.sum() - np.trace(k_bb)) / (n * (n - 1)) - 2.0 * k_ab.mean())


def test_kid_is_the_hand_computed_unbiased_cubic_kernel_estimate():
    # One feature: k(x, y) = (x y + 1)^3. a = {0, 1}: the off-diagonal k(0, 1) = 1; b = {1, 2}:
    # k(1, 2) = 27; across: k(0, 1) = k(0, 2) = 1, k(1, 1) = 8, k(1, 2) = 27, mean 9.25.
    # KID = 1 + 27 - 2 * 9.25 = 9.5.
    assert metrics.kernel_distance([[0.0], [1.0]], [[1.0], [2.0]]) == pytest.approx(9.5, abs=1e-9)
    rng = np.random.default_rng(0)
    a, b = rng.normal(size=(6, 3)), rng.normal(size=(5, 3)) + 0.5
    assert metrics.kernel_distance(a, b) == pytest.approx(numpy_kid(a, b), rel=1e-9)


def test_kid_is_near_zero_for_identical_sets_and_positive_for_different_ones():
    rng = np.random.default_rng(0)
    a = rng.normal(size=(1000, 16))
    same_distribution = rng.normal(size=(1000, 16))
    shifted = rng.normal(size=(1000, 16)) + 0.5
    far = metrics.kernel_distance(a, shifted)
    assert far == pytest.approx(numpy_kid(a, shifted), rel=1e-6)
    # For a set with itself the unbiased estimator is -2 mean(k(x, x) - k(x, y)) / N: about 0.
    assert abs(metrics.kernel_distance(a, a)) < 0.03 * far
    assert abs(metrics.kernel_distance(a, same_distribution)) < 0.03 * far
    # Smaller blocks: same estimand.
    assert metrics.kernel_distance(a, shifted, max_block_size=250) == pytest.approx(far, rel=0.1)


def test_maths_rejects_bad_inputs():
    with pytest.raises(ValueError, match="widths differ"):
        metrics.frechet_distance(np.zeros((5, 3)), np.zeros((5, 4)))
    with pytest.raises(ValueError, match="matrix"):
        metrics.kernel_distance(np.zeros(5), np.zeros(5))
    with pytest.raises(ValueError, match="NaN"):
        metrics.inception_score(np.full((10, 3), np.nan), num_splits=1)


# --- streaming ------------------------------------------------------------------------------


def test_streaming_equals_one_batch(standin):
    images = _digits_like(50, seed=0)
    logits_one, features_one = metrics.collect_activations([images], standin, verbose=False)
    logits, features = metrics.collect_activations(_batches(images, 7), standin, verbose=False)
    np.testing.assert_allclose(logits, logits_one, rtol=1e-5, atol=1e-5)
    np.testing.assert_allclose(features, features_one, rtol=1e-5, atol=1e-5)
    assert logits.shape == (50, NUM_CLASSES) and features.shape == (50, FEATURE_DIM)
    # The scores agree too.
    assert metrics.inception_score(logits, 5)[0] == pytest.approx(
        metrics.inception_score(logits_one, 5)[0], rel=1e-5)


def test_collect_stops_at_num_samples_and_takes_labelled_batches(standin):
    images = _digits_like(30, seed=1)
    labelled = [(batch, np.zeros(len(batch), np.int32)) for batch in _batches(images, 8)]
    calls = standin.calls
    logits, features = metrics.collect_activations(iter(labelled), standin, num_samples=20,
                                                   verbose=False)
    assert logits.shape[0] == 20 and features.shape[0] == 20
    assert standin.calls - calls == 3  # 8 + 8 + 4: the third batch is cut, no fourth
    _, all_features = metrics.collect_activations([images[:20]], standin, verbose=False)
    np.testing.assert_allclose(features, all_features, rtol=1e-5, atol=1e-5)
    # Fewer images than asked for: what there is.
    assert metrics.collect_activations([images[:5]], standin, num_samples=20,
                                       verbose=False)[0].shape[0] == 5


def test_generated_activations_draws_exactly_num_samples(standin):
    sizes = []

    def generate(count):
        sizes.append(count)
        return _digits_like(count, seed=len(sizes))

    logits, features = metrics.generated_activations(generate, 25, 10, standin, verbose=False)
    assert sizes == [10, 10, 5]
    assert logits.shape == (25, NUM_CLASSES) and features.shape == (25, FEATURE_DIM)
    with pytest.raises(ValueError, match="returned 3 images"):
        metrics.generated_activations(lambda n: _digits_like(3, 0), 5, 5, standin, verbose=False)


# --- real statistics cache ------------------------------------------------------------------


def test_real_statistics_are_cached_and_reused(standin, tmp_path):
    real = _digits_like(40, seed=3)
    kwargs = dict(source="unit-test", split="train", num_samples=40, batch_size=10,
                  cache_dir=str(tmp_path), batches=lambda: _batches(real, 10), verbose=False)
    calls = standin.calls
    first = metrics.real_features(standin, **kwargs)
    assert standin.calls - calls == 4
    calls = standin.calls
    second = metrics.real_features(standin, **kwargs)
    assert standin.calls == calls  # read from the cache: the classifier did not run
    np.testing.assert_array_equal(first, second)
    assert len(list(tmp_path.glob("*.npz"))) == 1
    assert list(tmp_path.glob("*.npz"))[0].name.startswith("unit-test_train_40_inception_")


def test_real_statistics_ignore_the_training_dequantization(standin, tmp_path):
    import gin
    from rgan_tf import data  # noqa: F401  (registers the `dataset` configurable)
    levels = np.random.default_rng(1).integers(0, 256, size=(20, 8, 8, 1), dtype=np.uint8)
    np.savez(tmp_path / "real.npz", images=levels)
    kwargs = dict(source=f"npz:{tmp_path / 'real.npz'}", num_samples=20, batch_size=10,
                  verbose=False)
    plain = metrics.real_features(standin, cache_dir=str(tmp_path / "a"), **kwargs)
    try:
        gin.parse_config("dataset.dequantize = True")
        bound = metrics.real_features(standin, cache_dir=str(tmp_path / "b"), **kwargs)
    finally:
        gin.clear_config()
    np.testing.assert_allclose(bound, plain, rtol=1e-6, atol=1e-6)


@pytest.mark.parametrize("change", [dict(split="test"), dict(num_samples=30), dict(seed=1),
                                    dict(source="other"), dict(image_size=16)])
def test_a_key_change_recomputes(standin, tmp_path, change):
    real = _digits_like(40, seed=3)
    kwargs = dict(source="unit-test", split="train", num_samples=40, batch_size=10,
                  cache_dir=str(tmp_path), batches=lambda: _batches(real, 10), verbose=False)
    metrics.real_features(standin, **kwargs)
    calls = standin.calls
    metrics.real_features(standin, **dict(kwargs, **change))
    assert standin.calls > calls


def test_another_classifier_invalidates(standin, tmp_path):
    real = _digits_like(20, seed=3)
    kwargs = dict(source="unit-test", num_samples=20, batch_size=10, cache_dir=str(tmp_path),
                  batches=lambda: _batches(real, 10), verbose=False)
    metrics.real_features(standin, **kwargs)
    other_path = str(tmp_path / "other_classifier")
    classifiers.export_classifier(classifiers.build_standin_inception(
        num_classes=NUM_CLASSES, feature_dim=FEATURE_DIM, seed=1), other_path)
    other = classifiers.load_classifier(other_path)
    assert other.identity != standin.identity
    metrics.real_features(other, **kwargs)
    assert other.calls == 2


def test_a_cache_file_with_another_key_is_not_trusted(standin, tmp_path):
    real = _digits_like(20, seed=3)
    key = metrics.real_stats_key("unit-test", "train", 20, standin)
    path = metrics.real_stats_path(key, str(tmp_path))
    metrics.save_real_stats(path, dict(key, num_samples=999), np.zeros((20, FEATURE_DIM)))
    assert metrics.load_real_stats(path, key) is None
    calls = standin.calls
    features = metrics.real_features(standin, "unit-test", "train", 20, cache_dir=str(tmp_path),
                                     batches=[real], verbose=False)
    assert standin.calls == calls + 1 and np.abs(features).sum() > 0
    # Rewritten with the right key: now trusted.
    np.testing.assert_array_equal(metrics.load_real_stats(path, key), features)


def test_data_arguments_and_their_gin_bindings_enter_the_key(standin):
    plain = metrics.real_stats_key("digits", "test", 100, standin)
    with_holdout = metrics.real_stats_key("digits", "test", 100, standin,
                                          data_kwargs={"holdout": 0.1})
    assert with_holdout != plain and with_holdout["data"] == {"holdout": 0.1}
    gin.parse_config("dataset.holdout = 0.1")
    assert metrics.real_stats_key("digits", "test", 100, standin) == with_holdout
    gin.clear_config()
    assert metrics.real_stats_key("digits", "test", 100, standin) == plain


def _rewrite_keeping_size_and_mtime(path, content):
    stat = os.stat(path)
    assert len(content) == stat.st_size
    path.write_bytes(content)
    os.utime(path, ns=(stat.st_atime_ns, stat.st_mtime_ns))
    assert os.stat(path).st_mtime_ns == stat.st_mtime_ns


def test_source_file_content_enters_the_key(standin, tmp_path):
    # A same-size rewrite with the same modification time still changes the key.
    data_file = tmp_path / "images.npz"
    data_file.write_bytes(b"abcd")
    key = metrics.real_stats_key(f"npz:{data_file}", "train", 10, standin)
    _rewrite_keeping_size_and_mtime(data_file, b"abce")
    changed = metrics.real_stats_key(f"npz:{data_file}", "train", 10, standin)
    assert changed != key
    assert metrics.real_stats_path(changed) != metrics.real_stats_path(key)
    _rewrite_keeping_size_and_mtime(data_file, b"abcd")
    assert metrics.real_stats_key(f"npz:{data_file}", "train", 10, standin) == key
    # A folder source: one image file among several.
    folder = tmp_path / "images"
    (folder / "3").mkdir(parents=True)
    (folder / "1.png").write_bytes(b"\x00" * 8)
    (folder / "3" / "2.png").write_bytes(b"\x01" * 8)
    key = metrics.real_stats_key(f"folder:{folder}", "train", 10, standin)
    _rewrite_keeping_size_and_mtime(folder / "3" / "2.png", b"\x01" * 7 + b"\x02")
    assert metrics.real_stats_key(f"folder:{folder}", "train", 10, standin) != key


# --- the protocol ---------------------------------------------------------------------------


def test_evaluate_runs_the_full_pipeline(standin, tmp_path):
    """Images -> resize to 299 -> stand-in Inception loaded by path -> activations -> metrics."""
    real = _digits_like(500, seed=10)
    like_images = _digits_like(500, seed=11)

    def in_batches(images):
        batches = iter(_batches(images, 100))
        return lambda count: next(batches)

    like_real = in_batches(like_images)
    unlike_real = in_batches(_digits_like(500, seed=12, shift=0.8))
    kwargs = dict(classifier=standin, source="unit-test", num_fake=500, num_real=500,
                  batch_size=100, cache_dir=str(tmp_path), real_batches=[real],
                  verbose=False)
    good = metrics.evaluate(like_real, **kwargs)
    bad = metrics.evaluate(unlike_real, **kwargs)
    assert set(good) == {"is500", "is500_std", "fid500", "kid500", "num_fake", "num_real",
                         "real_source", "real_split", "is_splits", "classifier",
                         "classifier_id", "resize"}
    assert good["num_fake"] == 500 and good["num_real"] == 500 and good["real_split"] == "train"
    assert good["classifier"] == "inception" and good["resize"] == "bilinear to 299x299"
    # IS: the numpy formula on the classifier's logits of the very images generated.
    logits = np.concatenate([standin(batch)[0].numpy() for batch in _batches(like_images, 100)])
    expected_mean, expected_std = numpy_inception_score(logits, num_splits=10)
    assert good["is500"] == pytest.approx(expected_mean, rel=1e-4)
    assert good["is500_std"] == pytest.approx(expected_std, rel=1e-3, abs=1e-6)
    assert good["fid500"] < bad["fid500"] and good["kid500"] < bad["kid500"]
    # The metric equals the maths on the collected activations.
    _, fake = metrics.generated_activations(lambda n: real, 500, 500, standin, verbose=False)
    real_in_batches = iter(_batches(real, 100))
    same = metrics.evaluate(lambda n: next(real_in_batches), **kwargs)
    real_features = metrics.real_features(standin, "unit-test", "train", 500,
                                          cache_dir=str(tmp_path), verbose=False)
    assert same["fid500"] == pytest.approx(metrics.frechet_distance(real_features, fake),
                                           abs=1e-6)
    assert abs(same["fid500"]) < 1e-3


def test_evaluate_names_and_subsets(standin, tmp_path):
    real = _digits_like(300, seed=10)
    record = metrics.evaluate(lambda n: _digits_like(n, seed=n), standin, source="unit-test",
                              split="test", num_fake=100, num_real=None, batch_size=50,
                              metrics=("fid", "kid"), cache_dir=str(tmp_path),
                              real_batches=[real], verbose=False)
    assert "fid100_full" in record and "kid100_full" in record and "is100" not in record
    assert record["num_real"] == 300 and record["real_split"] == "test"
    only_is = metrics.evaluate(lambda n: _digits_like(n, seed=n), standin, num_fake=100,
                               num_splits=4, metrics=("is",), verbose=False)
    assert set(only_is) >= {"is100", "is100_std"} and "num_real" not in only_is
    assert only_is["is_splits"] == 4
    with pytest.raises(ValueError, match="source="):
        metrics.evaluate(lambda n: None, standin, metrics=("fid",), verbose=False)
    with pytest.raises(ValueError, match="subset"):
        metrics.evaluate(lambda n: None, standin, metrics=("fjd",), verbose=False)


def test_append_jsonl(tmp_path):
    path = str(tmp_path / "run" / "metrics.jsonl")
    metrics.append_jsonl(path, {"step": 1, "fid50k": np.float64(12.5), "is50k": 3.0})
    metrics.append_jsonl(path, {"step": 2, "fid50k": 11.0, "counts": np.arange(2)})
    lines = open(path, encoding="utf-8").read().splitlines()
    assert [json.loads(line) for line in lines] == [
        {"step": 1, "fid50k": 12.5, "is50k": 3.0}, {"step": 2, "fid50k": 11.0, "counts": [0, 1]}]
