"""The `npz:<path>` source: an `.npz` archive holding `images` (uint8 in [0, 255] or float in
[-1, 1], `[N, H, W, C]` with C = 1 or 3, or `[N, H, W]`), optional `labels` `[N]`, and optional
`test_images` / `test_labels`, a real held-out split of the same image shape. Other image dtypes
are refused: their range is ambiguous."""
import os
import zipfile

import numpy as np

from rgan_tf.data import splits as splits_lib


def _check_npz_header(shape, dtype, key, source):
    """Checks dtype, rank, emptiness and channels of an npz image array; returns (H, W, C)."""
    if dtype.kind not in "f" and dtype != np.uint8:
        raise ValueError(
            f"{source}: '{key}' has dtype {dtype}; store uint8 in [0, 255] or float in [-1, 1]. "
            "bool, string, object and other integer dtypes are refused (ambiguous range): "
            "convert with .astype(np.uint8) if the values are 0..255.")
    if len(shape) not in (3, 4):
        raise ValueError(f"{source}: '{key}' must be [N, H, W] or [N, H, W, C] (NHWC); got "
                         f"shape {tuple(shape)} (rank {len(shape)}).")
    if shape[0] == 0 or shape[1] == 0 or shape[2] == 0:
        raise ValueError(f"{source}: '{key}' is empty (shape {tuple(shape)}); it needs at least "
                         "one image of at least 1x1 pixels.")
    channels = 1 if len(shape) == 3 else shape[3]
    if channels not in (1, 3):
        hint = (" It looks like NCHW: transpose with images.transpose(0, 2, 3, 1)."
                if shape[1] in (1, 3) else "")
        raise ValueError(f"{source}: '{key}' must have 1 or 3 channels on its last axis (NHWC); "
                         f"got shape {tuple(shape)}, {channels} channels.{hint}")
    return (int(shape[1]), int(shape[2]), int(channels))


def _check_npz_images(array, key, source):
    """Checks an npz image array fully; returns `[N, H, W, C]` uint8 or float32 in [-1, 1]."""
    _check_npz_header(array.shape, array.dtype, key, source)
    if array.ndim == 3:
        array = array[..., None]
    if array.dtype == np.uint8:
        return array
    array = array.astype(np.float32, copy=False)
    finite = np.isfinite(array)
    if not finite.all():
        raise ValueError(f"{source}: '{key}' holds {int(array.size - finite.sum())} NaN or "
                         "infinite values; every pixel must be a finite number in [-1, 1].")
    low, high = float(array.min()), float(array.max())
    if low < -1.0 or high > 1.0:
        raise ValueError(
            f"{source}: float '{key}' must lie in [-1, 1] but spans [{low:.4g}, {high:.4g}]: "
            "rescale it (images / 127.5 - 1 for 0..255 values, images * 2 - 1 for 0..1 values) "
            "or store uint8 0..255.")
    return array


def _check_labels(labels, count, key, source):
    if labels.ndim == 2 and labels.shape[1] == 1:
        labels = labels[:, 0]
    if labels.ndim != 1:
        raise ValueError(f"{source}: '{key}' must be a vector [N] of class indices; got shape "
                         f"{labels.shape}.")
    if len(labels) != count:
        raise ValueError(f"{source}: '{key}' has {len(labels)} entries but there are {count} "
                         "images; give exactly one label per image.")
    if labels.dtype.kind not in "iu":
        raise ValueError(f"{source}: '{key}' has dtype {labels.dtype}; labels must be integer "
                         "class indices 0..K-1.")
    if labels.min() < 0 or labels.max() > np.iinfo(np.int32).max:
        raise ValueError(f"{source}: '{key}' must hold class indices 0..K-1; found values in "
                         f"[{labels.min()}, {labels.max()}].")
    return labels.astype(np.int32)


def _open_npz(path):
    source = f"npz:{path}"
    if not os.path.exists(path):
        raise FileNotFoundError(f"{source}: no such file. Point dataset.source at an existing "
                                ".npz file ('npz:/path/to/images.npz').")
    if os.path.isdir(path):
        raise ValueError(f"{source} is a folder; use 'folder:{path}' for image files, or give "
                         "an .npz file.")
    try:
        archive = np.load(path, allow_pickle=False)
    except (OSError, ValueError, EOFError, zipfile.BadZipFile) as error:
        raise ValueError(f"{source} is not a readable .npz archive ({error}); save one with "
                         "np.savez(path, images=images, labels=labels).") from None
    if not isinstance(archive, np.lib.npyio.NpzFile):
        raise ValueError(f"{source} holds a single array, not an .npz archive; save one with "
                         "np.savez(path, images=images, labels=labels).")
    if "images" not in archive.files:
        archive.close()
        raise ValueError(f"{source} has no 'images' array (it holds {sorted(archive.files)}); "
                         "save one with np.savez(path, images=images, labels=labels).")
    if "test_labels" in archive.files and "test_images" not in archive.files:
        archive.close()
        raise ValueError(f"{source} has 'test_labels' but no 'test_images'; store both.")
    return archive, source


def _read(archive, key, source):
    try:
        return np.asarray(archive[key])
    except ValueError as error:  # object arrays need pickle, which is refused
        raise ValueError(f"{source}: '{key}' cannot be read without pickle ({error}); store a "
                         "numeric array (uint8 images, integer labels).") from None


def table(path, holdout):
    archive, source = _open_npz(path)
    with archive:
        images = _check_npz_images(_read(archive, "images", source), "images", source)
        count = len(images)
        labels = (_check_labels(_read(archive, "labels", source), count, "labels", source)
                  if "labels" in archive.files else None)
        test_images = test_labels = None
        if "test_images" in archive.files:
            test_images = _check_npz_images(_read(archive, "test_images", source),
                                            "test_images", source)
            if "test_labels" in archive.files:
                test_labels = _check_labels(_read(archive, "test_labels", source),
                                            len(test_images), "test_labels", source)
    if test_images is None:
        splits = splits_lib.fixed_holdout_splits(count, holdout, source)
        missing = {} if "test" in splits else {"test": splits_lib.no_test_message(source)}
        return splits_lib.Table(source, splits, labels, images.shape[1:], images=images,
                                missing=missing)

    if holdout is not None:
        raise ValueError(f"{source} already holds test_images; leave dataset.holdout unset "
                         "(None) or remove test_images from the file.")
    if test_images.shape[1:] != images.shape[1:]:
        raise ValueError(f"{source}: test_images have shape {test_images.shape[1:]} per image "
                         f"but images have {images.shape[1:]}; both must match.")
    if test_images.dtype != images.dtype:  # mixed uint8/float: store both as float in [-1, 1]
        images, test_images = (a.astype(np.float32) / 127.5 - 1.0 if a.dtype == np.uint8 else a
                               for a in (images, test_images))
    test_count = len(test_images)
    if labels is None and test_labels is None:
        all_labels = None
    else:
        all_labels = np.concatenate([
            labels if labels is not None else np.full(count, -1, np.int32),
            test_labels if test_labels is not None else np.full(test_count, -1, np.int32)])
    total = count + test_count
    splits = {"train": np.arange(count, dtype=np.int64),
              "test": np.arange(count, total, dtype=np.int64),
              "all": np.arange(total, dtype=np.int64)}
    return splits_lib.Table(source, splits, all_labels, images.shape[1:],
                  images=np.concatenate([images, test_images]))


def _npy_header(archive_file, key):
    """(shape, dtype) of `key` in an open zip file, from the .npy header only."""
    with archive_file.open(key + ".npy") as handle:
        version = np.lib.format.read_magic(handle)
        read_header = (np.lib.format.read_array_header_1_0 if version == (1, 0)
                       else np.lib.format.read_array_header_2_0)
        shape, _, dtype = read_header(handle)
    return shape, dtype


def spec(path, image_size):
    archive, source = _open_npz(path)
    with archive:
        with zipfile.ZipFile(path) as archive_file:
            shape, dtype = _npy_header(archive_file, "images")
            height, width, channels = _check_npz_header(shape, dtype, "images", source)
        maxima = [int(_read(archive, key, source).max(initial=-1))
                  for key in ("labels", "test_labels") if key in archive.files]
    num_classes = max(maxima) + 1 if maxima and max(maxima) >= 0 else None
    if image_size is not None:
        height = width = image_size
    return (height, width, channels), num_classes

