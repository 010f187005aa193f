"""The `folder:<path>` source: image files (.png, .jpg, .jpeg, .bmp, .gif; first frame of a GIF)
decoded by `tf.io`. Class subfolders give labels 0..K-1 in sorted name order (files found
recursively in each); a folder with images directly in its root gives every image label 0. Images
are greyscale (C = 1) when every file is greyscale, else RGB (C = 3)."""
import os

import numpy as np
from PIL import Image

from rgan_tf.data import splits as splits_lib

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


def folder_files(path):
    """(files [N], labels [N] int32, class names) of a folder source, in a fixed sorted order."""
    source = f"folder:{path}"
    if not os.path.exists(path):
        raise FileNotFoundError(f"{source}: no such folder. Point dataset.source at an existing "
                                "folder of images ('folder:/path/to/images').")
    if not os.path.isdir(path):
        raise ValueError(f"{source} is a file, not a folder" +
                         (f"; use 'npz:{path}'." if path.endswith(".npz") else "."))
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
    files, labels, classes = folder_files(path)
    source = f"folder:{path}"
    splits = splits_lib.fixed_holdout_splits(len(files), holdout, source)
    scanned = _scan_headers(files)
    sizes = set(scanned[0])
    shape = (sizes.pop() if len(sizes) == 1 else (None, None)) + (scanned[1],)
    missing = {} if "test" in splits else {"test": splits_lib.no_test_message(source)}
    return splits_lib.Table(source, splits, labels, shape, paths=np.asarray(files), missing=missing,
                  scanned=scanned)

