"""Folder sources with split subfolders (`train/`, `test/`, as the offline CIFAR-10 copy is laid
out), the in-memory decoding of small folders, and the real copy when it is present."""
import os

import numpy as np
import pytest
from PIL import Image

from rgan_tf import data
from rgan_tf.data import folder

SHARED_CIFAR10 = os.path.join(os.path.dirname(__file__), "..", "..", "shared", "data", "cifar10")


def _write(path, array, fmt=None):
    os.makedirs(os.path.dirname(path), exist_ok=True)
    Image.fromarray(array).save(path, format=fmt)


def _in_order(source, split="train", batch_size=1, **kwargs):
    batches = list(data.dataset(source, batch_size=batch_size, split=split, shuffle=False, repeat=False,
                                drop_remainder=False, with_labels=True, **kwargs))
    return (np.concatenate([b[0].numpy() for b in batches]),
            np.concatenate([b[1].numpy() for b in batches]))


def _split_folder(root, sizes=None, ext="png"):
    """train/{cat,dog} and test/{cat,dog}; pixel (0,0,0) of each image is a unique id."""
    sizes = sizes or {"train": 3, "test": 2}
    rng = np.random.default_rng(0)
    ids = {}
    for split, count in sizes.items():
        for label, name in enumerate(("cat", "dog")):
            for i in range(count):
                array = rng.integers(0, 256, (8, 8, 3), dtype=np.uint8)
                uid = len(ids) * 5
                array[0, 0, 0] = uid
                _write(str(root / split / name / f"{i}.{ext}"), array)
                ids[(split, name, i)] = (array, label)
    return ids


def test_split_subfolders_are_splits_with_shared_class_labels(tmp_path):
    ids = _split_folder(tmp_path)
    source = f"folder:{tmp_path}"
    assert data.dataset_spec(source) == ((8, 8, 3), 2)
    for split, count in (("train", 3), ("test", 2)):
        images, labels = _in_order(source, split)
        expected = [ids[(split, name, i)] for name in ("cat", "dog") for i in range(count)]
        np.testing.assert_array_equal(
            images, np.stack([a for a, _ in expected]).astype(np.float32) / 127.5 - 1.0)
        np.testing.assert_array_equal(labels, [label for _, label in expected])
    everything, _ = _in_order(source, "all")
    assert len(everything) == 10
    assert folder.split_folders(str(tmp_path)) == ("train", "test")


def test_split_layout_errors(tmp_path):
    _split_folder(tmp_path)
    with pytest.raises(ValueError, match="holds its own splits .*leave dataset.holdout unset"):
        data.dataset(f"folder:{tmp_path}", holdout=0.1)
    _write(str(tmp_path / "test" / "emu" / "0.png"), np.zeros((8, 8, 3), np.uint8))
    with pytest.raises(ValueError, match=r"test split's classes \(cat, dog, emu\) differ from the "
                                         r"train split's \(cat, dog\)"):
        data.dataset(f"folder:{tmp_path}")


def test_train_only_split_folder_has_no_test_split(tmp_path):
    _split_folder(tmp_path, {"train": 2})
    source = f"folder:{tmp_path}"
    assert len(_in_order(source)[0]) == 4
    with pytest.raises(ValueError, match="holds a train/ split but no test/ one: add test/"):
        data.dataset(source, split="test")


def test_other_subfolder_names_stay_classes(tmp_path):
    _split_folder(tmp_path, {"train": 1, "extra": 1})
    assert folder.split_folders(str(tmp_path)) == ()
    assert data.dataset_spec(f"folder:{tmp_path}") == ((8, 8, 3), 2)  # classes extra, train


@pytest.mark.parametrize("ext", ["png", "jpg"])
def test_in_memory_decoding_gives_the_streamed_pixels(tmp_path, monkeypatch, ext):
    _split_folder(tmp_path, ext=ext)
    source = f"folder:{tmp_path}"
    memory = folder.table(str(tmp_path), None)
    assert memory.images is not None and memory.images.dtype == np.uint8
    in_memory = _in_order(source, "all")
    dequantized = _in_order(source, "all", batch_size=4, dequantize=True)[0]
    monkeypatch.setattr(folder, "DECODE_IN_MEMORY_BYTES", 0)
    monkeypatch.setattr(folder, "_DECODED", {})
    streamed_table = folder.table(str(tmp_path), None)
    assert streamed_table.images is None and streamed_table.paths is not None
    streamed = _in_order(source, "all")
    np.testing.assert_array_equal(in_memory[0], streamed[0])
    np.testing.assert_array_equal(in_memory[1], streamed[1])
    # Dequantization draws the same noise in both paths (a key per stream position), on top of
    # the same 8-bit levels.
    np.testing.assert_array_equal(
        dequantized, _in_order(source, "all", batch_size=4, dequantize=True)[0])
    levels = np.round((in_memory[0] + 1.0) * 127.5)
    assert np.all((dequantized + 1.0) * 128 - levels >= -1e-3)
    assert np.all((dequantized + 1.0) * 128 - levels < 1 + 1e-3)


def test_decoded_table_is_reused_until_the_folder_changes(tmp_path):
    _split_folder(tmp_path)
    first = folder.table(str(tmp_path), None)
    assert folder.table(str(tmp_path), None) is first
    _write(str(tmp_path / "train" / "cat" / "new.png"), np.zeros((8, 8, 3), np.uint8))
    second = folder.table(str(tmp_path), None)
    assert second is not first and len(second.select("train")) == 7


@pytest.mark.skipif(not os.path.isdir(SHARED_CIFAR10),
                    reason="the offline CIFAR-10 copy (../shared/data/cifar10) is not here")
def test_the_offline_cifar10_copy():
    source = f"folder:{SHARED_CIFAR10}"
    assert data.dataset_spec(source) == ((32, 32, 3), 10)
    _, _, classes = folder.folder_files(SHARED_CIFAR10)
    assert classes == ["airplane", "automobile", "bird", "cat", "deer", "dog", "frog", "horse",
                       "ship", "truck"]
    table = folder.table(SHARED_CIFAR10, None)
    assert (len(table.select("train")), len(table.select("test"))) == (50000, 10000)
    assert table.images.shape == (60000, 32, 32, 3)
    np.testing.assert_array_equal(np.bincount(table.labels[table.select("test")]), [1000] * 10)
