"""rgan_tf.data: every source, split, order and input check, offline.

TFDS sources run under `tfds.testing.mock_data`, which needs no network here: TFDS 4.9.10 ships no
metadata for cifar10/mnist/stl10/celeb_a in `tensorflow_datasets/testing/metadata`, so the default
`MockPolicy.AUTO` falls back to `USE_CODE` (features from the builder's code, random examples);
`tfds.builder(...).info` is likewise built from code without downloading. Under the mock, split
slices ("train[:50%]") are not applied (every split has `num_examples` examples), so split slicing
is tested on a small TFDS data set that the test writes to disk itself (`prepared_tfds`).

Only the TFDS tests need `tensorflow_datasets`: they take the `tfds` fixture, which skips them
(and nothing else) when it does not import.
"""
import os

import gin
import numpy as np
import pytest
import tensorflow as tf
from PIL import Image

from rgan_tf import data



@pytest.fixture(scope="module")
def tfds():
    """TensorFlow Datasets; the test is skipped if it does not import."""
    return pytest.importorskip("tensorflow_datasets")


def _first(ds):
    return next(iter(ds))


def _all(ds):
    """Concatenates a finite dataset's batches into numpy arrays."""
    batches = list(ds)
    if isinstance(batches[0], tuple):
        return tuple(np.concatenate([b[i].numpy() for b in batches]) for i in range(2))
    return np.concatenate([b.numpy() for b in batches])


def _in_order(source, split="train", **kwargs):
    return _all(data.dataset(source, batch_size=1, split=split, shuffle=False, repeat=False,
                             drop_remainder=False, **kwargs))


def _scaled(uint8_values):
    """0..255 -> [-1, 1] in float32, as the pipeline computes it."""
    return np.asarray(uint8_values).astype(np.float32) / np.float32(127.5) - np.float32(1.0)


def _save_npz(tmp_path, name="data.npz", **arrays):
    path = tmp_path / name
    np.savez(path, **arrays)
    return f"npz:{path}"


def _write_image(path, array, fmt=None):
    os.makedirs(os.path.dirname(path), exist_ok=True)
    Image.fromarray(array).save(path, format=fmt)


# ---------------------------------------------------------------------------------------------
# digits


def test_digits_default_yields_float_batches_in_range():
    ds = data.dataset()
    assert ds.element_spec == tf.TensorSpec((64, 8, 8, 1), tf.float32)
    images = _first(ds).numpy()
    assert images.dtype == np.float32 and images.shape == (64, 8, 8, 1)
    assert images.min() == -1.0 and images.max() == 1.0  # grey levels 0 and 16 occur


def test_digits_values_labels_and_fixed_split():
    from sklearn.datasets import load_digits
    digits = load_digits()
    images, labels = _in_order("digits", split="all", with_labels=True)
    np.testing.assert_array_equal(images[..., 0], (digits.images / 8.0 - 1.0).astype(np.float32))
    np.testing.assert_array_equal(labels, digits.target)
    assert labels.dtype == np.int32
    train, train_labels = _in_order("digits", split="train", with_labels=True)
    test, test_labels = _in_order("digits", split="test", with_labels=True)
    assert (len(train), len(test)) == (1438, 359)  # the last 20% is held out
    np.testing.assert_array_equal(np.concatenate([train, test]), images)
    np.testing.assert_array_equal(np.concatenate([train_labels, test_labels]), labels)
    assert len(_in_order("digits", split="train[:10%]")) == 144
    np.testing.assert_array_equal(_in_order("digits", split="test[-5:]"), images[-5:])


def test_digits_resized_bilinear_when_enlarging():
    native = _first(data.dataset(batch_size=8, shuffle=False))
    ds = data.dataset(batch_size=8, image_size=32, shuffle=False)
    assert ds.element_spec.shape == (8, 32, 32, 1)
    resized = _first(ds).numpy()
    expected = tf.image.resize(native, (32, 32), method="bilinear", antialias=True).numpy()
    np.testing.assert_allclose(resized, np.clip(expected, -1, 1), atol=1e-6)
    assert resized.min() >= -1.0 and resized.max() <= 1.0
    assert data.dataset_spec("digits", image_size=32) == ((32, 32, 1), 10)
    assert data.dataset_spec() == ((8, 8, 1), 10)


def test_order_is_seeded_deterministic_and_ignores_the_global_seed():
    def batches(seed):
        return [b.numpy() for b in data.dataset(batch_size=16, seed=seed).take(3)]

    first = batches(3)
    tf.random.set_seed(123)  # the in-memory order is stateless: the global seed plays no part
    again = batches(3)
    for a, b in zip(first, again):
        np.testing.assert_array_equal(a, b)
    assert not np.array_equal(first[0], batches(4)[0])


def test_each_epoch_is_a_new_permutation_of_the_split():
    ds = data.dataset(batch_size=1797, split="all", with_labels=True, seed=1)
    (epoch0, labels0), (epoch1, labels1) = [(x.numpy(), y.numpy()) for x, y in ds.take(2)]
    assert not np.array_equal(labels0, labels1)
    everything, _ = _in_order("digits", split="all", with_labels=True)
    for epoch in (epoch0, epoch1):
        np.testing.assert_array_equal(np.sort(epoch.reshape(1797, -1), axis=0),
                                      np.sort(everything.reshape(1797, -1), axis=0))


def test_unshuffled_finite_pass_and_remainder():
    ds = data.dataset(batch_size=100, split="test", shuffle=False, repeat=False,
                      drop_remainder=False)
    sizes = [len(b) for b in ds]
    assert sizes == [100, 100, 100, 59]
    ds = data.dataset(batch_size=100, split="test", shuffle=False, repeat=False)
    assert [len(b) for b in ds] == [100, 100, 100]


def test_gin_binds_the_entry():
    gin.parse_config("dataset.image_size = 16\ndataset.batch_size = 5")
    try:
        assert data.dataset().element_spec.shape == (5, 16, 16, 1)
    finally:
        gin.clear_config()


# ---------------------------------------------------------------------------------------------
# npz


def test_npz_uint8_with_labels(tmp_path):
    rng = np.random.default_rng(0)
    images = rng.integers(0, 256, (20, 6, 5, 3), dtype=np.uint8)
    images[0, 0, 0] = (0, 255, 7)
    labels = rng.integers(0, 4, 20)
    source = _save_npz(tmp_path, images=images, labels=labels)
    got, got_labels = _in_order(source, with_labels=True)
    np.testing.assert_array_equal(got, _scaled(images))
    assert got[0, 0, 0, 0] == -1.0 and got[0, 0, 0, 1] == 1.0
    np.testing.assert_array_equal(got_labels, labels)
    ds = data.dataset(source, batch_size=4, with_labels=True)
    assert ds.element_spec == (tf.TensorSpec((4, 6, 5, 3), tf.float32),
                               tf.TensorSpec((4,), tf.int32))
    assert data.dataset_spec(source) == ((6, 5, 3), int(labels.max()) + 1)
    assert data.dataset_spec(source, image_size=9) == ((9, 9, 3), int(labels.max()) + 1)
    assert _first(data.dataset(source, batch_size=4, image_size=3)).shape == (4, 3, 3, 3)


def test_npz_rank3_gets_a_channel_axis_and_no_labels(tmp_path):
    images = np.arange(5 * 4 * 4, dtype=np.uint8).reshape(5, 4, 4)
    source = _save_npz(tmp_path, images=images)
    got = _in_order(source)
    assert got.shape == (5, 4, 4, 1)
    np.testing.assert_array_equal(got[..., 0], _scaled(images))
    assert data.dataset_spec(source) == ((4, 4, 1), None)
    with pytest.raises(ValueError, match="with_labels=True but .* has no labels.*store 'labels'"):
        data.dataset(source, batch_size=2, with_labels=True)


def test_npz_float_in_range_passes_through(tmp_path):
    images = np.linspace(-1.0, 1.0, 3 * 2 * 2).reshape(3, 2, 2, 1)  # float64
    source = _save_npz(tmp_path, images=images)
    got = _in_order(source)
    assert got.dtype == np.float32
    np.testing.assert_allclose(got, images, atol=1e-7)
    assert got.min() == -1.0 and got.max() == 1.0


def test_npz_test_images_are_the_test_split(tmp_path):
    train = np.zeros((6, 4, 4, 1), np.uint8)
    test = np.full((3, 4, 4, 1), 255, np.uint8)
    source = _save_npz(tmp_path, images=train, labels=np.arange(6), test_images=test,
                       test_labels=np.array([7, 8, 9]))
    got, labels = _in_order(source, split="test", with_labels=True)
    assert got.shape == (3, 4, 4, 1) and np.all(got == 1.0)
    np.testing.assert_array_equal(labels, [7, 8, 9])
    assert np.all(_in_order(source, split="train") == -1.0)
    assert len(_in_order(source, split="all")) == 9
    assert data.dataset_spec(source) == ((4, 4, 1), 10)
    with pytest.raises(ValueError, match="already holds test_images; leave dataset.holdout"):
        data.dataset(source, batch_size=1, holdout=0.5)


def test_npz_holdout_is_fixed_disjoint_and_independent_of_seed(tmp_path):
    images = np.arange(50, dtype=np.uint8).reshape(50, 1, 1, 1)
    source = _save_npz(tmp_path, images=images)

    def values(split, **kwargs):
        batch = _first(data.dataset(source, batch_size=1000, split=split, holdout=0.2,
                                    repeat=False, drop_remainder=False, **kwargs)).numpy()
        return set(np.round((batch.ravel() + 1.0) * 127.5).astype(int))

    train, test = values("train"), values("test")
    assert len(test) == 10 and len(train) == 40 and not train & test
    assert train | test == set(range(50))
    assert values("test", seed=7) == test and values("train", seed=7) == train
    assert test != set(range(40, 50))  # picked across the file, not its last rows
    counted = _first(data.dataset(source, batch_size=100, split="test", holdout=5,
                                  repeat=False, drop_remainder=False))
    assert len(counted) == 5


# ---------------------------------------------------------------------------------------------
# folder


def test_folder_class_subfolders_give_sorted_labels(tmp_path):
    rng = np.random.default_rng(1)
    arrays = {}
    for name in ("dog/b.png", "dog/a.png", "cat/x.png", "cat/deeper/y.png", "emu/z.png"):
        arrays[name] = rng.integers(0, 256, (5, 7, 3), dtype=np.uint8)
        _write_image(str(tmp_path / name), arrays[name])
    (tmp_path / "dog" / "notes.txt").write_text("not an image")
    source = f"folder:{tmp_path}"
    images, labels = _in_order(source, with_labels=True)
    order = ["cat/deeper/y.png", "cat/x.png", "dog/a.png", "dog/b.png", "emu/z.png"]
    np.testing.assert_array_equal(labels, [0, 0, 1, 1, 2])
    np.testing.assert_array_equal(
        images, _scaled(np.stack([arrays[n] for n in order])))
    assert data.dataset_spec(source) == ((5, 7, 3), 3)
    ds = data.dataset(source, batch_size=2, with_labels=True)
    assert ds.element_spec == (tf.TensorSpec((2, 5, 7, 3), tf.float32),
                               tf.TensorSpec((2,), tf.int32))


def test_folder_root_images_get_label_zero_and_greyscale_one_channel(tmp_path):
    for i in range(3):
        _write_image(str(tmp_path / f"{i}.png"), np.full((4, 4), 60 * i, np.uint8))
    source = f"folder:{tmp_path}"
    images, labels = _in_order(source, with_labels=True)
    assert images.shape == (3, 4, 4, 1)
    np.testing.assert_array_equal(labels, [0, 0, 0])
    np.testing.assert_array_equal(images[:, 0, 0, 0], _scaled([0, 60, 120]))
    assert data.dataset_spec(source) == ((4, 4, 1), None)


def test_folder_formats_and_mixed_channels(tmp_path):
    rgb = np.random.default_rng(2).integers(0, 256, (6, 6, 3), dtype=np.uint8)
    _write_image(str(tmp_path / "a.bmp"), rgb)
    _write_image(str(tmp_path / "b.jpg"), rgb)
    _write_image(str(tmp_path / "c.jpeg"), rgb)
    _write_image(str(tmp_path / "d.gif"), rgb)
    _write_image(str(tmp_path / "e.png"), np.full((6, 6), 255, np.uint8))  # grey -> RGB
    Image.fromarray(np.dstack([rgb, np.full((6, 6), 9, np.uint8)])).save(tmp_path / "f.png")
    images = _in_order(f"folder:{tmp_path}")
    assert images.shape == (6, 6, 6, 3)
    assert images.min() >= -1.0 and images.max() <= 1.0
    np.testing.assert_array_equal(images[0], _scaled(rgb))  # BMP is lossless
    np.testing.assert_array_equal(images[4], np.ones((6, 6, 3)))
    np.testing.assert_array_equal(images[5], _scaled(rgb))  # alpha dropped
    for index, name in ((1, "b.jpg"), (2, "c.jpeg")):  # lossy: compare with PIL's decoding
        decoded = np.asarray(Image.open(tmp_path / name).convert("RGB"))
        assert np.abs(images[index] - _scaled(decoded)).mean() < 0.05
    gif = np.asarray(Image.open(tmp_path / "d.gif").convert("RGB"))  # palette: exact
    np.testing.assert_array_equal(images[3], _scaled(gif))


def test_folder_of_varying_sizes_needs_image_size(tmp_path):
    _write_image(str(tmp_path / "a" / "small.png"), np.zeros((4, 4, 3), np.uint8))
    _write_image(str(tmp_path / "b" / "large.png"), np.full((8, 12, 3), 255, np.uint8))
    source = f"folder:{tmp_path}"
    with pytest.raises(ValueError, match=r"images of 2 sizes .*set dataset.image_size"):
        data.dataset(source, batch_size=1)
    with pytest.raises(ValueError, match=r"images of 2 sizes"):
        data.dataset_spec(source)
    images, labels = _in_order(source, image_size=6, with_labels=True)
    assert images.shape == (2, 6, 6, 3)
    np.testing.assert_allclose(images[0], -1.0, atol=1e-6)  # 4x4 enlarged (bilinear)
    np.testing.assert_allclose(images[1], 1.0, atol=1e-6)  # 8x12 shrunk (area)
    assert data.dataset_spec(source, image_size=6) == ((6, 6, 3), 2)


def test_folder_holdout(tmp_path):
    for i in range(10):
        _write_image(str(tmp_path / f"{i:02d}.png"), np.full((2, 2), i * 20, np.uint8))
    source = f"folder:{tmp_path}"
    with pytest.raises(ValueError, match="no held-out 'test' split: set dataset.holdout"):
        data.dataset(source, batch_size=1, split="test")
    test = _in_order(source, split="test", holdout=0.3)
    train = _in_order(source, split="train", holdout=0.3)
    assert (len(test), len(train)) == (3, 7)
    assert not set(test[:, 0, 0, 0]) & set(train[:, 0, 0, 0])
    assert len(_in_order(source, split="all", holdout=0.3)) == 10
    assert len(_in_order(source)) == 10  # without a holdout, train is everything


# ---------------------------------------------------------------------------------------------
# TFDS (mocked)


@pytest.mark.parametrize("source,shape,num_classes", [
    ("tfds:cifar10", (32, 32, 3), 10),
    ("tfds:mnist", (28, 28, 1), 10),
    ("tfds:stl10", (48, 48, 3), 10),
    ("tfds:celeb_a", (64, 64, 3), None),
])
def test_tfds_standard_geometry(tfds, source, shape, num_classes):
    with_labels = num_classes is not None
    with tfds.testing.mock_data(num_examples=12):
        ds = data.dataset(source, batch_size=4, with_labels=with_labels)
        batch = _first(ds)
        images = (batch[0] if with_labels else batch).numpy()
        assert images.shape == (4,) + shape and images.dtype == np.float32
        assert images.min() >= -1.0 and images.max() <= 1.0 and images.std() > 0.1
        if with_labels:
            labels = batch[1].numpy()
            assert batch[1].dtype == tf.int32 and labels.min() >= 0
            assert labels.max() < num_classes
        assert data.dataset_spec(source) == (shape, num_classes)
        assert data.dataset_spec(source, image_size=16)[0] == (16, 16, shape[2])
        assert _first(data.dataset(source, batch_size=2, image_size=16)).shape == (
            2, 16, 16, shape[2])


@pytest.mark.parametrize("name,crop", [("stl10", None), ("celeb_a", 140)])
def test_tfds_resize_is_area_after_center_crop(tfds, name, crop):
    with tfds.testing.mock_data(num_examples=4):
        # The mock encodes its random images only when decoding is skipped (as `dataset` does,
        # to shuffle encoded bytes): decode the same JPEG (celeb_a) bytes here.
        encoded = _first(tfds.load(name, split="train", shuffle_files=False,
                                   decoders={"image": tfds.decode.SkipDecoding()}))["image"]
        raw = tfds.builder(name).info.features["image"].decode_example(encoded)
        got = _first(data.dataset(f"tfds:{name}", batch_size=4, shuffle=False))[0]
    raw = tf.cast(raw, tf.float32) / 127.5 - 1.0
    if crop:  # 218x178 faces: rows 39..178, columns 19..158
        assert raw.shape == (218, 178, 3)
        raw = raw[39:39 + crop, 19:19 + crop]
    expected = tf.image.resize(raw, got.shape[:2], method="area")
    np.testing.assert_allclose(got.numpy(), expected.numpy(), atol=1e-5)


def test_tfds_order_is_seeded(tfds):
    with tfds.testing.mock_data(num_examples=40):
        def labels(seed):
            ds = data.dataset("tfds:cifar10", batch_size=8, with_labels=True, seed=seed)
            return np.concatenate([y.numpy() for _, y in ds.take(5)])

        first = labels(5)
        np.testing.assert_array_equal(first, labels(5))
        assert not np.array_equal(first, labels(6))
        unshuffled = _all(data.dataset("tfds:cifar10", batch_size=8, with_labels=True,
                                       shuffle=False, repeat=False))[1]
        assert len(unshuffled) == 40 and not np.array_equal(unshuffled[:40], first[:40])


def test_tfds_bad_requests(tfds):
    with tfds.testing.mock_data(num_examples=6):
        with pytest.raises(ValueError, match="with_labels=True but tfds:celeb_a has no 'label'"):
            data.dataset("tfds:celeb_a", batch_size=2, with_labels=True)
        with pytest.raises(ValueError, match="batch_size=7 is larger than split 'train' of "
                                             "tfds:mnist, which holds 6 images"):
            data.dataset("tfds:mnist", batch_size=7)
        assert len(list(data.dataset("tfds:mnist", batch_size=7, repeat=False,
                                     drop_remainder=False))) == 1
        with pytest.raises(ValueError, match="holdout applies to digits, npz and folder"):
            data.dataset("tfds:mnist", batch_size=2, holdout=0.1)
    with pytest.raises(ValueError, match="TensorFlow Datasets has no data set named 'no_such_set'"):
        data.dataset_spec("tfds:no_such_set")


@pytest.fixture(scope="module")
def prepared_tfds(tfds, tmp_path_factory):
    """A TFDS data set prepared on disk by the test (no download): `train` holds 20 4x4 images
    whose every pixel is the image's index, `test` 10 images valued 100 + index."""

    class RganTfSlices(tfds.core.GeneratorBasedBuilder):
        VERSION = tfds.core.Version("1.0.0")

        def _info(self):
            return tfds.core.DatasetInfo(builder=self, features=tfds.features.FeaturesDict({
                "image": tfds.features.Image(shape=(4, 4, 1)),
                "label": tfds.features.ClassLabel(num_classes=20)}))

        def _split_generators(self, dl_manager):
            return {"train": self._generate_examples(0, 20),
                    "test": self._generate_examples(100, 10)}

        def _generate_examples(self, start, count):
            for index in range(count):
                yield index, {"image": np.full((4, 4, 1), start + index, np.uint8),
                              "label": index}

    data_dir = str(tmp_path_factory.mktemp("tfds"))
    RganTfSlices(data_dir=data_dir).download_and_prepare()
    return "tfds:rgan_tf_slices", data_dir


@pytest.mark.parametrize("split,expected", [
    ("train", lambda train, test: train),
    ("train[:25%]", lambda train, test: train[:5]),
    ("train[-3:]", lambda train, test: train[-3:]),
    ("train[10:12]+test[:1]", lambda train, test: train[10:12] + test[:1]),
    ("test[50%:]", lambda train, test: test[5:]),
])
def test_tfds_split_slicing(tfds, prepared_tfds, split, expected):
    source, data_dir = prepared_tfds
    # TFDS stores examples in an order of its own: the reference is that order, read directly.
    stored = {name: [int(example["image"][0, 0, 0]) for example in tfds.as_numpy(tfds.load(
        source[len("tfds:"):], split=name, data_dir=data_dir, shuffle_files=False))]
        for name in ("train", "test")}
    assert sorted(stored["train"]) == list(range(20))
    values = expected(stored["train"], stored["test"])
    images, labels = _in_order(source, split=split, data_dir=data_dir, with_labels=True)
    np.testing.assert_array_equal(images[:, 0, 0, 0], _scaled(values))
    np.testing.assert_array_equal(labels, np.asarray(values) % 100)
    assert np.all(images == images[:, :1, :1, :1])


def test_tfds_slice_sizes_are_checked_against_the_batch(prepared_tfds):
    source, data_dir = prepared_tfds
    with pytest.raises(ValueError, match=r"batch_size=6 is larger than split 'train\[:25%\]'"):
        data.dataset(source, batch_size=6, split="train[:25%]", data_dir=data_dir)
    # A shuffled pass over the slice holds the slice's 5 images.
    whole = _in_order(source, split="train[:25%]", data_dir=data_dir)[:, 0, 0, 0]
    batch = _first(data.dataset(source, batch_size=5, split="train[:25%]", data_dir=data_dir,
                                seed=3))
    assert sorted(batch.numpy()[:, 0, 0, 0]) == sorted(whole) and len(set(whole)) == 5


# ---------------------------------------------------------------------------------------------
# Bad input: one clear error each.


@pytest.mark.parametrize("source", ["foo:bar", "hdf5:/x.h5", "cifar100", "", "tfds", 3])
def test_unknown_source_lists_valid_forms(source):
    with pytest.raises(ValueError, match=r"'digits', 'tfds:<name>'.*'npz:<path>'.*'folder:<path>'"
                       if isinstance(source, str) else "must be a string"):
        data.dataset(source)


@pytest.mark.parametrize("source", ["tfds:", "npz:", "folder: "])
def test_source_without_name_or_path(source):
    with pytest.raises(ValueError, match="lacks a (data set name|path)"):
        data.dataset(source)


def test_missing_paths(tmp_path):
    with pytest.raises(FileNotFoundError, match="no such file"):
        data.dataset(f"npz:{tmp_path}/none.npz")
    with pytest.raises(FileNotFoundError, match="no such folder"):
        data.dataset(f"folder:{tmp_path}/none")
    with pytest.raises(FileNotFoundError, match="no such file"):
        data.dataset_spec(f"npz:{tmp_path}/none.npz")


def test_empty_folders(tmp_path):
    with pytest.raises(ValueError, match="holds no image files"):
        data.dataset(f"folder:{tmp_path}")
    (tmp_path / "notes.txt").write_text("x")
    with pytest.raises(ValueError, match="holds no image files"):
        data.dataset_spec(f"folder:{tmp_path}")
    _write_image(str(tmp_path / "cats" / "a.png"), np.zeros((2, 2), np.uint8))
    os.makedirs(tmp_path / "dogs")
    with pytest.raises(ValueError, match="class subfolder.*dogs hold no image files"):
        data.dataset(f"folder:{tmp_path}")


def test_folder_layout_and_file_errors(tmp_path):
    _write_image(str(tmp_path / "cats" / "a.png"), np.zeros((2, 2), np.uint8))
    _write_image(str(tmp_path / "loose.png"), np.zeros((2, 2), np.uint8))
    with pytest.raises(ValueError, match="image files in its root .* and class subfolders"):
        data.dataset(f"folder:{tmp_path}")
    os.remove(tmp_path / "loose.png")
    (tmp_path / "cats" / "broken.png").write_bytes(b"not a png")
    with pytest.raises(ValueError, match="broken.png is not a readable image"):
        data.dataset(f"folder:{tmp_path}")
    with pytest.raises(ValueError, match="is a file, not a folder"):
        data.dataset(f"folder:{tmp_path}/cats/a.png")


@pytest.mark.parametrize("arrays,message", [
    ({"images": np.zeros((0, 8, 8), np.uint8)}, "is empty"),
    ({"images": np.zeros((4, 8), np.uint8)}, r"must be \[N, H, W\] or \[N, H, W, C\].*rank 2"),
    ({"images": np.zeros((2, 3, 4, 4, 1), np.uint8)}, r"rank 5"),
    ({"images": np.zeros((4, 8, 8, 2), np.uint8)}, "1 or 3 channels.*2 channels"),
    ({"images": np.zeros((4, 8, 8, 4), np.uint8)}, "1 or 3 channels.*4 channels"),
    ({"images": np.zeros((4, 3, 8, 8), np.uint8)}, "looks like NCHW"),
    ({"images": np.zeros((4, 8, 8), bool)}, "dtype bool; store uint8"),
    ({"images": np.zeros((4, 8, 8), np.int64)}, "dtype int64; store uint8.*astype"),
    ({"images": np.zeros((4, 8, 8), np.uint16)}, "dtype uint16"),
    ({"images": np.full((4, 8, 8), "a")}, "dtype <U1"),
    ({"images": np.array([[[np.nan]]], np.float32)}, "1 NaN or infinite values"),
    ({"images": np.array([[[np.inf, 0.0]]])}, "NaN or infinite"),
    ({"images": np.full((2, 4, 4, 3), 255.0, np.float32)}, r"\[-1, 1\].*spans.*rescale"),
    ({"images": np.zeros((4, 8, 8), np.uint8), "labels": np.arange(3)},
     "'labels' has 3 entries but there are 4 images"),
    ({"images": np.zeros((4, 8, 8), np.uint8), "labels": np.zeros(4, np.float32)},
     "labels must be integer"),
    ({"images": np.zeros((4, 8, 8), np.uint8), "labels": np.array([0, 1, -1, 2])},
     "class indices 0..K-1"),
    ({"images": np.zeros((4, 8, 8), np.uint8), "labels": np.zeros((4, 2), np.int64)},
     r"vector \[N\]"),
    ({"pixels": np.zeros((4, 8, 8), np.uint8)}, r"no 'images' array \(it holds \['pixels'\]\)"),
    ({"images": np.zeros((4, 8, 8), np.uint8), "test_images": np.zeros((2, 4, 4), np.uint8)},
     "test_images have shape"),
    ({"images": np.zeros((4, 8, 8), np.uint8), "test_labels": np.zeros(2, np.int64)},
     "'test_labels' but no 'test_images'"),
])
def test_bad_npz(tmp_path, arrays, message):
    source = _save_npz(tmp_path, **arrays)
    with pytest.raises(ValueError, match=message):
        data.dataset(source, batch_size=1)


def test_bad_npz_files(tmp_path):
    (tmp_path / "text.npz").write_text("hello")
    with pytest.raises(ValueError, match="not a readable .npz archive"):
        data.dataset(f"npz:{tmp_path}/text.npz")
    np.save(tmp_path / "single.npy", np.zeros((2, 2, 2), np.uint8))
    with pytest.raises(ValueError, match="holds a single array, not an .npz archive"):
        data.dataset(f"npz:{tmp_path}/single.npy")
    np.savez(tmp_path / "objects.npz", images=np.array([None, 1], dtype=object))
    with pytest.raises(ValueError, match="cannot be read without pickle"):
        data.dataset(f"npz:{tmp_path}/objects.npz")
    with pytest.raises(ValueError, match="dtype int64"):  # dataset_spec checks the header
        data.dataset_spec(_save_npz(tmp_path, images=np.zeros((2, 2, 2), np.int64)))
    with pytest.raises(ValueError, match="is a folder; use 'folder:"):
        data.dataset(f"npz:{tmp_path}")


@pytest.mark.parametrize("batch_size", [0, -3, 2.5, True, "64", None])
def test_bad_batch_size(batch_size):
    with pytest.raises(ValueError, match="batch_size must be an integer >= 1"):
        data.dataset(batch_size=batch_size)


def test_batch_larger_than_the_data(tmp_path):
    with pytest.raises(ValueError, match="batch_size=400 is larger than split 'test' of digits, "
                                         "which holds 359 images.*drop_remainder=False"):
        data.dataset(batch_size=400, split="test")
    assert len(_first(data.dataset(batch_size=400, split="test", repeat=False,
                                   drop_remainder=False))) == 359
    source = _save_npz(tmp_path, images=np.zeros((3, 2, 2), np.uint8))
    with pytest.raises(ValueError, match="batch_size=4 is larger than split 'train' of npz:"):
        data.dataset(source, batch_size=4)


@pytest.mark.parametrize("kwargs,message", [
    ({"split": "validation"},
     "Unknown split 'validation' for digits: use 'train', 'test' or 'all'"),
    ({"split": "train[5:5]"}, "selects no images"),
    ({"split": "train[:200%]"}, "percentage must lie in"),
    ({"holdout": 1.5}, r"holdout must be a fraction in \(0, 1\) or a count in \[1, 1796\]"),
    ({"holdout": 0}, "holdout must be a fraction"),
    ({"holdout": 1797}, "holdout must be a fraction"),
    ({"holdout": 1e-5}, "leaves one of the two splits empty"),
    ({"image_size": 0}, "image_size must be None or an integer >= 1"),
    ({"image_size": 32.0}, "image_size must be None or an integer >= 1"),
    ({"shuffle_buffer": 0}, "shuffle_buffer must be an integer >= 1"),
    ({"seed": "0"}, "seed must be an integer"),
])
def test_bad_arguments(kwargs, message):
    with pytest.raises(ValueError, match=message):
        data.dataset(batch_size=1, **kwargs)


def test_digits_holdout_override_and_npz_test_without_holdout(tmp_path):
    assert len(_in_order("digits", split="test", holdout=100)) == 100
    source = _save_npz(tmp_path, images=np.zeros((3, 2, 2), np.uint8))
    with pytest.raises(ValueError, match="no held-out 'test' split: set dataset.holdout.*"
                                         "store test_images"):
        data.dataset(source, batch_size=1, split="test")


# ---------------------------------------------------------------------------------------------
# dequantization


def _levels(plain):
    """The 8-bit levels 0..255 behind images that the pipeline scaled by x / 127.5 - 1."""
    return np.rint((plain.astype(np.float64) + 1.0) * 127.5)


def _assert_dequantized(noisy, levels):
    """`noisy` is `(levels + u) / 128 - 1` with `u` in [0, 1), spread over the whole bin."""
    u = (noisy.astype(np.float64) + 1.0) * 128.0 - levels
    assert u.min() >= -1e-4 and u.max() < 1.0 + 1e-4, (u.min(), u.max())
    assert noisy.min() >= -1.0 and noisy.max() < 1.0
    if u.size >= 1000:  # uniform over the bin and independent of the level
        assert abs(u.mean() - 0.5) < 0.02 and u.min() < 0.02 and u.max() > 0.98
        assert abs(np.corrcoef(u.ravel(), levels.ravel())[0, 1]) < 0.1


def test_dequantize_draws_within_each_levels_bin_as_the_references(tmp_path):
    # gan_cifar_resnet.py lines 194-195 and sngan_projection datasets/cifar10.py lines 20-21:
    # x / 128 - 1 + U(0, 1/128); worked example: level 255 -> [255/128 - 1, 1) = [0.9921875, 1).
    levels = np.random.default_rng(0).integers(0, 256, size=(6, 8, 8, 3), dtype=np.uint8)
    levels[0] = 255
    levels[1] = 0
    source = _save_npz(tmp_path, images=levels)
    noisy = _in_order(source, dequantize=True)
    _assert_dequantized(noisy, levels.astype(np.float64))
    assert 0.9921875 <= noisy[0].min() and noisy[0].max() < 1.0
    assert -1.0 <= noisy[1].min() and noisy[1].max() < -1.0 + 1 / 128
    np.testing.assert_allclose(_in_order(source), _scaled(levels), atol=1e-6)  # off: x / 127.5 - 1


def test_dequantize_is_a_function_of_seed_and_stream_position(tmp_path):
    levels = np.random.default_rng(1).integers(0, 256, size=(8, 4, 4, 1), dtype=np.uint8)
    source = _save_npz(tmp_path, images=levels)

    def batches(seed, count=6, skip=0, shuffle=True):
        ds = data.dataset(source, batch_size=4, seed=seed, dequantize=True, shuffle=shuffle)
        return [b.numpy() for b in ds.skip(skip).take(count)]

    first = batches(3)
    for a, b in zip(first, batches(3)):
        np.testing.assert_array_equal(a, b)
    # Resume: skipping n batches continues the uninterrupted stream, noise included.
    for a, b in zip(first[2:], batches(3, count=4, skip=2)):
        np.testing.assert_array_equal(a, b)
    assert not np.array_equal(first[0], batches(4, count=1)[0])
    # Unshuffled, batches 0 and 2 hold the same images (two batches an epoch): fresh noise, same
    # levels.
    ordered = batches(3, count=3, shuffle=False)
    assert not np.array_equal(ordered[0], ordered[2])
    np.testing.assert_array_equal(np.floor((ordered[0] + 1) * 128),
                                  np.floor((ordered[2] + 1) * 128))


def test_dequantize_folder_and_tfds_sources(tmp_path):
    rng = np.random.default_rng(2)
    for index in range(4):
        _write_image(str(tmp_path / "images" / f"{index}.png"),
                     rng.integers(0, 256, size=(16, 16, 3), dtype=np.uint8))
    source = f"folder:{tmp_path / 'images'}"
    _assert_dequantized(_in_order(source, dequantize=True), _levels(_in_order(source)))
    with tfds.testing.mock_data(num_examples=8):
        plain = _all(data.dataset("tfds:cifar10", batch_size=4, shuffle=False, repeat=False))
        noisy = _all(data.dataset("tfds:cifar10", batch_size=4, shuffle=False, repeat=False,
                                  dequantize=True))
    _assert_dequantized(noisy, _levels(plain))


def test_dequantize_is_added_before_resizing(tmp_path):
    # Dequantized at the source's 16x16, then 2x2 area averages: each output pixel lies within
    # 1/128 above the mean of its four x / 128 - 1, and its noise is the mean of four U[0, 1)
    # (standard deviation sqrt(1/12) / 2 = 0.144 levels; noise added after resizing: 0.289).
    levels = np.random.default_rng(3).integers(0, 256, size=(2, 16, 16, 1), dtype=np.uint8)
    noisy = _in_order(_save_npz(tmp_path, images=levels), image_size=8, dequantize=True)
    low = levels.astype(np.float64).reshape(2, 8, 2, 8, 2, 1).mean(axis=(2, 4)) / 128 - 1
    u = (noisy - low) * 128
    assert u.min() >= -1e-3 and u.max() < 1 + 1e-3
    assert 0.11 < u.std() < 0.18 and abs(u.mean() - 0.5) < 0.05


@pytest.mark.parametrize("source_kind,value,message", [
    ("digits", True, "digits holds 17 grey levels"),
    ("float_npz", True, "holds float32 images"),
    ("uint8_npz", 1, "must be True or False"),
])
def test_dequantize_refuses_what_it_cannot_do(tmp_path, source_kind, value, message):
    if source_kind == "digits":
        source = "digits"
    else:
        dtype = np.float32 if source_kind == "float_npz" else np.uint8
        source = _save_npz(tmp_path, images=np.zeros((2, 4, 4, 1), dtype))
    with pytest.raises(ValueError, match=message):
        data.dataset(source, batch_size=2, dequantize=value)
