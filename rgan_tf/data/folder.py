"""The `folder:<path>` source: image files (.png, .jpg, .jpeg, .bmp, .gif; first frame of a GIF)
decoded by `tf.io`. Class subfolders give labels 0..K-1 in sorted name order (files found
recursively in each); a folder with images directly in its root gives every image label 0. Images
are greyscale (C = 1) when every file is greyscale, else RGB (C = 3).

Split layout: a folder whose only subfolders are `train` and `test` (or `train` alone) holds its
splits, each laid out as above (e.g. `cifar10/train/<class>/*.jpg`, `cifar10/test/<class>/*.jpg`;
the test split must have the train split's classes). A folder holding classes named `train` and
`test` is therefore read as splits.

Decoding: when every image has one size and the decoded pixels fit in `DECODE_IN_MEMORY_BYTES`,
the table decodes all files once (in parallel, by `tf.io`) and keeps them as uint8 in memory, so
the training input pipeline only gathers pixels (CIFAR-10's 60,000 images: 184 MB). The decoded
tables are kept for the process's life, per folder and holdout. Larger or mixed-size folders are
decoded file by file in the pipeline.
"""
import os

import numpy as np
import tensorflow as tf
from PIL import Image

from rgan_tf.data import splits as splits_lib
from rgan_tf.data import transforms

#: The splits a split-layout folder may hold (subfolders of the source's folder).
SPLIT_FOLDERS = ("train", "test")
#: Folders whose decoded pixels fit in this many bytes are decoded once and held in memory.
DECODE_IN_MEMORY_BYTES = 2 << 30
_DECODED = {}

#: Image file types read by `folder:` sources (compared case-insensitively).
IMAGE_EXTENSIONS = (".bmp", ".gif", ".jpeg", ".jpg", ".png")

_GREY_MODES = frozenset({"1", "L", "LA", "La", "I", "I;16", "I;16B", "I;16L", "I;16N", "F"})


def _is_image_file(name):
    return not name.startswith(".") and name.lower().endswith(IMAGE_EXTENSIONS)


def _images_under(folder):
    found = []
    for root, dirs, files in os.walk(folder):
        dirs[:] = sorted(d for d in dirs if not d.startswith("."))
        found.extend(os.path.join(root, f) for f in files if _is_image_file(f))
    return sorted(found)


def _check_folder(path):
    source = f"folder:{path}"
    if not os.path.exists(path):
        raise FileNotFoundError(f"{source}: no such folder. Point dataset.source at an existing "
                                "folder of images ('folder:/path/to/images').")
    if not os.path.isdir(path):
        raise ValueError(f"{source} is a file, not a folder" +
                         (f"; use 'npz:{path}'." if path.endswith(".npz") else "."))


def split_folders(path):
    """The split names of a split-layout folder (`("train", "test")` or `("train",)`), else ()."""
    _check_folder(path)
    entries = [e for e in os.listdir(path) if not e.startswith(".")]
    subfolders = {e for e in entries if os.path.isdir(os.path.join(path, e))}
    if "train" not in subfolders or not subfolders <= set(SPLIT_FOLDERS) \
            or any(_is_image_file(e) for e in entries):
        return ()
    return tuple(name for name in SPLIT_FOLDERS if name in subfolders)


def folder_files(path):
    """(files [N], labels [N] int32, class names) of a folder source, in a fixed sorted order.

    A split-layout folder lists its train split's files first, then its test split's."""
    return _listing(path)[:3]


def _listing(path):
    """`folder_files(path)` and {split name: image count} ({} without the split layout), from
    one walk of the tree."""
    names = split_folders(path)
    if not names:
        return _plain_folder_files(path) + ({},)
    files, labels, classes = _plain_folder_files(os.path.join(path, names[0]))
    sizes = {names[0]: len(files)}
    for name in names[1:]:
        more, more_labels, more_classes = _plain_folder_files(os.path.join(path, name))
        if more_classes != classes:
            raise ValueError(
                f"folder:{path}: the {name} split's classes ({', '.join(more_classes) or 'none'}) "
                f"differ from the train split's ({', '.join(classes) or 'none'}); give both the "
                "same class subfolders.")
        sizes[name] = len(more)
        files = list(files) + list(more)
        labels = np.concatenate([labels, more_labels])
    return files, labels, classes, sizes


def _plain_folder_files(path):
    source = f"folder:{path}"
    _check_folder(path)
    entries = sorted(e for e in os.listdir(path) if not e.startswith("."))
    classes = [e for e in entries if os.path.isdir(os.path.join(path, e))]
    root_files = [os.path.join(path, e) for e in entries
                  if _is_image_file(e) and os.path.isfile(os.path.join(path, e))]
    kinds = ", ".join(IMAGE_EXTENSIONS)
    if classes and root_files:
        raise ValueError(
            f"{source} has image files in its root ({os.path.basename(root_files[0])}, ...) and "
            f"class subfolders ({', '.join(classes[:3])}, ...): move the root images into a class "
            "subfolder, or the subfolders' images into the root for unlabelled data.")
    if not classes:
        if not root_files:
            raise ValueError(f"{source} holds no image files ({kinds}).")
        return root_files, np.zeros(len(root_files), np.int32), []
    files, labels, empty = [], [], []
    for label, name in enumerate(classes):
        found = _images_under(os.path.join(path, name))
        if not found:
            empty.append(name)
        files.extend(found)
        labels.extend([label] * len(found))
    if empty:
        raise ValueError(
            f"{source}: class subfolder(s) {', '.join(empty)} hold no image files ({kinds}); "
            "remove them or add images" + (" (the folder holds no images at all)."
                                          if not files else "."))
    return files, np.asarray(labels, np.int32), classes


def _scan_headers(files):
    """(sizes [(H, W)], channels C) from the image files' headers (PIL reads no pixels)."""
    sizes, grey = [], True
    for name in files:
        try:
            with Image.open(name) as image:
                width, height = image.size
                grey = grey and image.mode in _GREY_MODES
        except Exception as error:  # PIL raises several types for unreadable files
            raise ValueError(f"{name} is not a readable image ({error}); remove or replace it.") \
                from None
        sizes.append((height, width))
    return sizes, 1 if grey else 3


def folder_shape(path, files, image_size, scanned=None):
    sizes, channels = scanned or _scan_headers(files)
    if image_size is not None:
        return (image_size, image_size, channels)
    distinct = sorted(set(sizes))
    if len(distinct) > 1:
        first = files[sizes.index(distinct[0])]
        other = files[sizes.index(distinct[1])]
        raise ValueError(
            f"folder:{path} holds images of {len(distinct)} sizes (e.g. {first}: "
            f"{distinct[0][0]}x{distinct[0][1]}, {other}: {distinct[1][0]}x{distinct[1][1]}, "
            "HxW): set dataset.image_size to resize them all, or make them one size.")
    return distinct[0] + (channels,)


def table(path, holdout):
    """The folder's `Table`: decoded into memory when it fits (see the module docstring)."""
    key = (os.path.abspath(path), holdout)
    stamp = _stamp(path)
    cached = _DECODED.get(key)
    if cached is not None and cached[0] == stamp:
        return cached[1]
    files, labels, _, sizes_by_split = _listing(path)
    source = f"folder:{path}"
    if sizes_by_split:
        if holdout is not None:
            raise ValueError(f"{source} holds its own splits ({', '.join(sizes_by_split)} "
                             "subfolders): leave dataset.holdout unset and use split='test'.")
        splits, start = {"all": np.arange(len(files), dtype=np.int64)}, 0
        for name, count in sizes_by_split.items():
            splits[name] = np.arange(start, start + count, dtype=np.int64)
            start += count
    else:
        splits = splits_lib.fixed_holdout_splits(len(files), holdout, source)
    scanned = _scan_headers(files)
    sizes = set(scanned[0])
    shape = (sizes.pop() if len(sizes) == 1 else (None, None)) + (scanned[1],)
    if "test" in splits:
        missing = {}
    elif sizes_by_split:
        missing = {"test": f"{source} holds a train/ split but no test/ one: add test/ with the "
                           "train split's class subfolders."}
    else:
        missing = {"test": splits_lib.no_test_message(source)}
    if shape[0] is not None and len(files) * int(np.prod(shape)) <= DECODE_IN_MEMORY_BYTES:
        result = splits_lib.Table(source, splits, labels, shape,
                                  images=decode_all(files, shape), missing=missing,
                                  scanned=scanned)
        _DECODED[key] = (stamp, result)
        return result
    return splits_lib.Table(source, splits, labels, shape, paths=np.asarray(files),
                            missing=missing, scanned=scanned)


def _stamp(path):
    """A cheap fingerprint of a folder tree (each folder's modification time and file count): a
    decoded table is reused while no file was added, removed or renamed (a file rewritten in
    place under its name is not seen)."""
    stamp = []
    for root, dirs, files in os.walk(path):
        dirs.sort()
        stamp.append((root, os.stat(root).st_mtime_ns, len(files)))
    return tuple(stamp)


def decode_all(files, shape):
    """uint8 `[N, H, W, C]`: every file decoded by `tf.io` (as the streaming pipeline decodes)."""
    channels = shape[2]

    def load(name):
        image = tf.io.decode_image(tf.io.read_file(name), channels=0, dtype=tf.uint8,
                                   expand_animations=False)
        return tf.ensure_shape(transforms.to_channels(image, channels), shape)

    images = np.empty((len(files),) + tuple(shape), np.uint8)
    batches = tf.data.Dataset.from_tensor_slices(np.asarray(files)).map(
        load, num_parallel_calls=tf.data.AUTOTUNE, deterministic=True).batch(1024)
    start = 0
    for batch in batches:
        images[start:start + len(batch)] = batch.numpy()
        start += len(batch)
    return images

