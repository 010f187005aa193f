"""Real images for GAN training and evaluation: one gin-configurable entry, `dataset`.

`dataset(source=...)` yields shuffled, batched, prefetched float32 images `[B, H, W, C]` (NHWC) in
[-1, 1], or `(images, labels)` with int32 labels `[B]` when `with_labels=True`. `dataset_spec`
answers `((H, W, C), num_classes)` for a source without reading its pixels, so a trainer can check
that a model fits the data before it trains.

Sources (`source=`):

* ``digits`` (default): scikit-learn's bundled handwritten digits (1,797 images, 8x8x1, grey
  levels 0..16 mapped linearly onto [-1, 1]); on disk, no download. 10 classes.
* ``tfds:<name>``: a TensorFlow Datasets data set, read with `tfds.load(name, data_dir=...)`.
  Standard geometry for the GAN benchmarks: ``cifar10`` 32x32x3, ``mnist`` 28x28x1, ``stl10``
  96x96 resized to 48x48 (area resampling, i.e. 2x2 box averages), ``celeb_a`` 218x178 center-
  cropped to 140x140 (`CELEB_A_CROP`) and resized to 64x64. Any other TFDS image data set (an
  ``image`` feature, uint8, 1 or 3 channels) is passed through at its own size. Labels are the
  ``label`` class feature as int32 (stl10's "unlabelled" split has label -1). The bare names
  ``cifar10``, ``mnist``, ``stl10`` and ``celeb_a`` are accepted as short for ``tfds:<name>``.
* ``npz:<path>``: an ``.npz`` archive holding ``images``, uint8 in [0, 255] or float in [-1, 1],
  ``[N, H, W, C]`` with C = 1 or 3, or ``[N, H, W]`` (a channel axis is added); optional
  ``labels`` ``[N]`` (non-negative integers); optional ``test_images`` / ``test_labels``, a real
  held-out split of the same image shape.
* ``folder:<path>``: image files (.png, .jpg, .jpeg, .bmp, .gif; first frame of a GIF), decoded by
  `tf.io`. Class subfolders give labels 0..K-1 in sorted name order (files found recursively in
  each); a folder with images directly in its root and no subfolders gives every image label 0.
  All images must share a size unless `image_size` is given. Images are greyscale (C = 1) when
  every file is a greyscale image, else RGB (C = 3; grey files are replicated, alpha dropped).

Why 140x140 for CelebA: it keeps the whole face with hair and chin and is the center crop used for
64x64 CelebA by most FID-reporting GAN and score-model code (e.g. tensorpack's DCGAN-CelebA,
Song et al.'s score_sde); DCGAN-tensorflow's tighter 108x108 crop shows only the face and is
not comparable with those numbers.

Resizing (`image_size`, or the standard sizes above): area resampling when both sides shrink
(box filter, antialiased), antialiased bilinear otherwise (area would make enlarged images blocky).
Results are clipped to [-1, 1].

Splits (`split=`):

* TFDS: passed to `tfds.load` unchanged ("train", "test", "train[:90%]", "train+test", ...).
* digits: a fixed, order-based split: "train" is the first 80% (1,438 images), "test" the last
  20% (359 images, `DIGITS_TEST_FRACTION`), "all" everything.
* npz and folder: "train" is everything and there is no "test", unless a holdout is configured:
  either the npz holds ``test_images`` (then "train" = ``images``, "test" = ``test_images``), or
  ``holdout`` is set (a fraction in (0, 1) or a count): a fixed pseudo-random subset of that size
  (drawn with `HOLDOUT_SEED`, independent of `seed`, so changing the training seed never moves
  images between the two) becomes "test" and the rest "train". "all" is always everything. Bind
  ``dataset.holdout = 0.1`` in gin so that the trainer ("train") and the evaluation ("test") agree.
  ``holdout`` on digits replaces its 20% (still the last images).
* The in-memory sources also accept TFDS-style slices of these: "train[:90%]", "test[10:]".

Order: `shuffle=True` gives a fresh permutation every epoch. For digits, npz and folder it is a
stateless function of `(seed, epoch)` (`tf.random.experimental.stateless_shuffle`), so the batch
at a given position never depends on TensorFlow's global seed (resumable by `skip`). TFDS data are
streamed through a `shuffle_buffer`-sized buffer seeded with `seed`; TensorFlow combines an op seed
with the global seed, so that order is reproducible when the global seed is the same (the trainer
sets it from the same seed). `shuffle_buffer` is unused for the in-memory sources, which are
shuffled in full (only indices are shuffled).

Dequantization (`dequantize=True`, for 8-bit sources: tfds, folder and uint8 npz): each pixel
level `x` in 0..255 becomes `(x + u) / 128 - 1` with `u ~ U[0, 1)`, i.e. a uniform draw from the
level's bin `[x / 128 - 1, (x + 1) / 128 - 1)` in [-1, 1): the reference pipelines' `x / 128 - 1 +
U(0, 1/128)` (igul222/improved_wgan_training `gan_cifar_resnet.py` lines 194-195;
pfnet-research/sngan_projection `datasets/cifar10.py` lines 20-21; adler-j/tensordata
`cifar10.py` lines 122 and 163-164, used by BWGAN). Without it a level maps to `x / 127.5 - 1`
(255 to exactly 1). The noise is added at the source's resolution, before any resize, and is a
stateless function of `(seed, position in the stream)` (`rgan_tf.rng.stream_seed` with stream
`DEQUANTIZE_STREAM`): the same seed gives the same noisy batches, a new epoch new noise, and
`skip(n)` (resume) continues the uninterrupted stream exactly. It is a training option:
evaluation reads real images with `dequantize=False`.

Input checks: everything that would otherwise fail later, or silently train on wrong data, fails at
the call with one `ValueError` (or `FileNotFoundError` for a missing path) saying what to fix.
Accepted npz image dtypes are uint8 (read as 0..255) and float16/32/64 (must be finite and in
[-1, 1]); bool, strings, objects and other integer types are refused, since their range is
ambiguous (convert with ``.astype(np.uint8)`` if they hold 0..255).
"""
import functools
import math
import os
import re
import zipfile

import gin
import numpy as np
import tensorflow as tf

from rgan_tf import rng

#: The forms `source` may take.
SOURCE_FORMS = ("digits", "tfds:<name>", "npz:<path>", "folder:<path>")
#: Image file types read by `folder:` sources (compared case-insensitively).
IMAGE_EXTENSIONS = (".bmp", ".gif", ".jpeg", ".jpg", ".png")
#: Side of the center crop taken from CelebA's 218x178 aligned faces before resizing.
CELEB_A_CROP = 140
#: Fraction of `digits` (the last images) held out as its "test" split.
DIGITS_TEST_FRACTION = 0.2
#: Seed of the fixed permutation that picks the `holdout` images of npz and folder sources.
HOLDOUT_SEED = 20190615
#: TFDS data sets with a standard GAN geometry: name -> output side (None: native).
TFDS_STANDARD_SIZES = {"cifar10": None, "mnist": None, "stl10": 48, "celeb_a": 64}

#: `rgan_tf.rng` stream of the dequantization noise, far above the train step's streams (8 per
#: critic step), so the data never shares a stateless-RNG key with the model's draws.
DEQUANTIZE_STREAM = 4095

_PREFIXES = ("tfds", "npz", "folder")
_SPLIT_RE = re.compile(r"^(train|test|all)(?:\[(-?\d+%?)?:(-?\d+%?)?\])?$")
_GREY_MODES = frozenset({"1", "L", "LA", "La", "I", "I;16", "I;16B", "I;16L", "I;16N", "F"})


# ---------------------------------------------------------------------------------------------
# Public API.


@gin.configurable
def dataset(source="digits", batch_size=64, split="train", image_size=None, with_labels=False,
            shuffle=True, repeat=True, seed=0, drop_remainder=True, shuffle_buffer=10_000,
            data_dir=None, holdout=None, dequantize=False):
    """Batches of real images (and labels) from `source`.

    Args:
      source: "digits", "tfds:<name>", "npz:<path>" or "folder:<path>" (see the module docstring).
      batch_size: images per batch, B >= 1.
      split: "train", "test", "all" or a slice such as "train[:90%]"; TFDS split names pass
        through to `tfds.load`.
      image_size: side S of the square images produced (resized); None: the source's standard
        size (native, or 48 for stl10 and 64 for celeb_a).
      with_labels: also yield the int32 class labels.
      shuffle: shuffle, with a new order every epoch.
      repeat: repeat forever (batches then run across epoch boundaries).
      seed: integer seed of the order.
      drop_remainder: drop a last, smaller batch (the batch dimension is then static, B).
      shuffle_buffer: TFDS shuffle buffer size (in-memory sources are shuffled in full).
      data_dir: TFDS data directory (None: TFDS's default, ~/tensorflow_datasets).
      holdout: npz/folder (and digits): images held out as the "test" split, a fraction in (0, 1)
        or a count; None: digits holds out its last 20%, npz its `test_images` if any, folder
        nothing.
      dequantize: map each 8-bit level `x` to `(x + U[0, 1)) / 128 - 1`, as the WGAN-GP ResNet,
        SNGAN and BWGAN references do (see the module docstring); deterministic given `seed`.
        Only for 8-bit sources (tfds, folder, uint8 npz).

    Returns:
      A prefetched `tf.data.Dataset` of float32 images `[B, H, W, C]` in [-1, 1], or of
      `(images [B, H, W, C] float32, labels [B] int32)` when `with_labels`.

    Raises:
      ValueError: a bad argument or bad data, with what to fix.
      FileNotFoundError: the npz file or folder does not exist.
    """
    kind, argument = _parse_source(source)
    batch_size = _check_int("batch_size", batch_size, 1)
    image_size = _check_image_size(image_size)
    shuffle_buffer = _check_int("shuffle_buffer", shuffle_buffer, 1)
    seed = _check_int("seed", seed, None)
    if not isinstance(dequantize, bool):
        raise ValueError(f"dataset.dequantize must be True or False, got {dequantize!r}.")
    if dequantize and kind == "digits":
        raise ValueError("dataset.dequantize applies to 8-bit images (tfds, folder, uint8 npz); "
                         "digits holds 17 grey levels as floats: leave dequantize False.")
    if kind == "tfds":
        if holdout is not None:
            raise ValueError(
                f"dataset.holdout applies to digits, npz and folder sources; {source} has its own "
                "splits: use split='test' or a slice such as 'train[90%:]'.")
        ds = _tfds_dataset(argument, split, image_size, with_labels, shuffle, seed,
                           shuffle_buffer, data_dir, batch_size, drop_remainder, repeat,
                           dequantize)
    else:
        table = _table(kind, argument, holdout)
        if dequantize and table.images is not None and table.images.dtype != np.uint8:
            raise ValueError(f"dataset.dequantize applies to 8-bit images, but {source} holds "
                             f"{table.images.dtype} images; store uint8 0..255 or leave "
                             "dequantize False.")
        ds = _table_dataset(table, split, image_size, with_labels, shuffle, repeat, seed,
                            batch_size, drop_remainder, dequantize)
    options = tf.data.Options()
    options.deterministic = True
    return ds.prefetch(tf.data.AUTOTUNE).with_options(options)


def dataset_spec(source="digits", image_size=None, data_dir=None):
    """What `dataset(source, image_size=...)` yields, without reading pixels.

    Reads TFDS metadata, npz array headers or image file headers only; checks what can be checked
    from those (shape, dtype, channels), so a bad source fails here already.

    Args:
      source: as for `dataset`.
      image_size: as for `dataset`.
      data_dir: TFDS data directory.

    Returns:
      `(image_shape, num_classes)`: `image_shape` the tuple `(H, W, C)` of one image;
      `num_classes` the number of classes K (labels are 0..K-1), or None for a source without
      labels (a folder without class subfolders, an npz without `labels`, a TFDS set without a
      `label` class feature).
    """
    kind, argument = _parse_source(source)
    image_size = _check_image_size(image_size)
    if kind == "digits":
        side = image_size or 8
        return (side, side, 1), 10
    if kind == "tfds":
        info = _tfds_info(argument, data_dir, image_size, with_labels=False)
        return info["shape"], info["num_classes"]
    if kind == "npz":
        return _npz_spec(argument, image_size)
    files, _, classes = _folder_files(argument)
    shape = _folder_shape(argument, files, image_size)
    return shape, (len(classes) if classes else None)


# ---------------------------------------------------------------------------------------------
# Argument checks.


def _parse_source(source):
    if not isinstance(source, str):
        raise ValueError(f"dataset.source must be a string, one of {', '.join(SOURCE_FORMS)}; "
                         f"got {source!r}.")
    if source == "digits":
        return "digits", None
    if source in TFDS_STANDARD_SIZES:
        return "tfds", source
    prefix, colon, argument = source.partition(":")
    if colon and prefix in _PREFIXES:
        if not argument.strip():
            what = "a data set name" if prefix == "tfds" else "a path"
            raise ValueError(f"Data source {source!r} lacks {what} after '{prefix}:'.")
        return prefix, argument if prefix == "tfds" else os.path.expanduser(argument)
    raise ValueError(
        f"Unknown data source {source!r}: use one of 'digits', 'tfds:<name>' (e.g. "
        "'tfds:cifar10'), 'npz:<path>' or 'folder:<path>'.")


def _check_int(name, value, minimum):
    if isinstance(value, bool) or not isinstance(value, (int, np.integer)) or (
            minimum is not None and value < minimum):
        bound = f" >= {minimum}" if minimum is not None else ""
        raise ValueError(f"dataset.{name} must be an integer{bound}, got {value!r}.")
    return int(value)


def _check_image_size(image_size):
    if image_size is None:
        return None
    if isinstance(image_size, bool) or not isinstance(image_size, (int, np.integer)) or (
            image_size < 1):
        raise ValueError(f"dataset.image_size must be None or an integer >= 1 (the side of the "
                         f"square images), got {image_size!r}.")
    return int(image_size)


def _holdout_count(holdout, n, source):
    message = (f"dataset.holdout must be a fraction in (0, 1) or a count in [1, {n - 1}] "
               f"({source} holds {n} images), got {holdout!r}.")
    if isinstance(holdout, bool) or not isinstance(holdout, (int, float, np.integer, np.floating)):
        raise ValueError(message)
    if isinstance(holdout, (float, np.floating)):
        if not 0.0 < holdout < 1.0:
            raise ValueError(message)
        count = int(math.floor(holdout * n + 0.5))
        if count < 1 or count > n - 1:
            raise ValueError(message + " It leaves one of the two splits empty.")
        return count
    if not 1 <= holdout <= n - 1:
        raise ValueError(message)
    return int(holdout)


def _check_batch_fits(batch_size, count, drop_remainder, what):
    if drop_remainder and batch_size > count:
        raise ValueError(
            f"dataset.batch_size={batch_size} is larger than {what}, which holds {count} images: "
            "with drop_remainder=True no batch would be complete. Lower batch_size, or set "
            "drop_remainder=False.")


# ---------------------------------------------------------------------------------------------
# Image maths (TensorFlow).


def _to_float(images):
    """uint8 [..., H, W, C] in 0..255 -> float32 in [-1, 1]; float32 passes through."""
    if images.dtype == tf.uint8:
        return tf.cast(images, tf.float32) / 127.5 - 1.0
    return tf.cast(images, tf.float32)


def _dequantize(images, seed, position):
    """uint8 `[..., H, W, C]` -> float32 `(x + u) / 128 - 1`, `u ~ U[0, 1)` per entry, in [-1, 1).

    `u` is a stateless draw keyed by `(seed, position)`: `position` is the int64 index of the
    image (or batch) in the stream, so the noise is reproducible and fresh at every position.
    """
    key = rng.stream_seed(seed, position, DEQUANTIZE_STREAM)
    noise = tf.random.stateless_uniform(tf.shape(images), key, dtype=tf.float32,
                                        alg=rng.ALGORITHM)
    return (tf.cast(images, tf.float32) + noise) / 128.0 - 1.0


def _resize_with(images, size, method):
    return tf.image.resize(images, (size, size), method=method, antialias=True)


def _resize(images, size):
    """[..., H, W, C] float32 in [-1, 1] -> [..., size, size, C]; area if shrinking, else bilinear.

    Area resampling averages the source pixels each output pixel covers (exact 2x2 means for
    96 -> 48); it is only used when both sides shrink, since enlarging with it repeats pixels.
    """
    if size is None:
        return images
    height, width = images.shape[-3], images.shape[-2]
    if height is not None and width is not None:
        if (height, width) == (size, size):
            return images
        method = "area" if height >= size and width >= size else "bilinear"
        resized = _resize_with(images, size, method)
    else:
        shape = tf.shape(images)
        shrinks = tf.logical_and(shape[-3] >= size, shape[-2] >= size)
        resized = tf.cond(shrinks, lambda: _resize_with(images, size, "area"),
                          lambda: _resize_with(images, size, "bilinear"))
    return tf.clip_by_value(resized, -1.0, 1.0)


def _to_channels(image, channels):
    """A decoded uint8 image [H, W, c] (c = 1..4) -> [H, W, channels]; alpha is dropped."""
    count = tf.shape(image)[-1]
    if channels == 1:
        image = tf.cond(count >= 3, lambda: tf.image.rgb_to_grayscale(image[..., :3]),
                        lambda: image[..., :1])
    else:
        image = tf.cond(count >= 3, lambda: image[..., :3],
                        lambda: tf.image.grayscale_to_rgb(image[..., :1]))
    image.set_shape([None, None, channels])
    return image


# ---------------------------------------------------------------------------------------------
# In-memory sources (digits, npz, folder): a table of items, labels and named index splits.


class _Table:
    """Items of an in-memory source and its splits.

    Attributes:
      source: the source string, for messages.
      images: `[N, H, W, C]` uint8 or float32 in [-1, 1]; None for a folder.
      paths: `[N]` file paths of a folder; None otherwise.
      labels: `[N]` int32, -1 where a part of the source has no labels; None: no labels at all.
      splits: base split name -> sorted int64 indices into the items.
      missing: base split name -> why it is not available (a message).
      shape: `(H, W, C)` of the stored images; H and W None when a folder's sizes vary.
      scanned: a folder's `(sizes [(H, W)], C)` from its file headers; None otherwise.
    """

    def __init__(self, source, splits, labels, shape, images=None, paths=None, missing=None,
                 scanned=None):
        self.source = source
        self.scanned = scanned
        self.splits = splits
        self.labels = labels
        self.shape = shape
        self.images = images
        self.paths = paths
        self.missing = missing or {}

    def select(self, split):
        """Indices `[n]` of `split` ("train", "test", "all", or a TFDS-style slice of one)."""
        match = _SPLIT_RE.match(split.replace(" ", "")) if isinstance(split, str) else None
        if match is None:
            raise ValueError(
                f"Unknown split {split!r} for {self.source}: use 'train', 'test' or 'all', "
                "optionally sliced as in TFDS ('train[:90%]', 'test[10:]').")
        base = match.group(1)
        if base in self.missing:
            raise ValueError(self.missing[base])
        indices = self.splits[base]
        count = len(indices)
        start, stop = (_slice_bound(match.group(i), count, split) for i in (2, 3))
        indices = indices[start:stop]
        if not len(indices):
            raise ValueError(f"Split {split!r} of {self.source} selects no images (its "
                             f"'{base}' part holds {count}).")
        return indices


def _slice_bound(text, count, split):
    if text is None:
        return None
    if text.endswith("%"):
        percent = int(text[:-1])
        if abs(percent) > 100:
            raise ValueError(f"Split {split!r}: a percentage must lie in [-100%, 100%].")
        magnitude = int(math.floor(abs(percent) * count / 100 + 0.5))
        return magnitude if percent >= 0 else -magnitude
    return int(text)


def _fixed_holdout_splits(count, holdout, source):
    """train/test/all indices with `holdout` images picked by a fixed permutation."""
    everything = np.arange(count, dtype=np.int64)
    if holdout is None:
        return {"train": everything, "all": everything}
    held = _holdout_count(holdout, count, source)
    permutation = np.random.default_rng(HOLDOUT_SEED).permutation(count)
    return {"train": np.sort(permutation[held:]), "test": np.sort(permutation[:held]),
            "all": everything}


def _no_test_message(source):
    return (f"{source} has no held-out 'test' split: set dataset.holdout (e.g. 0.1, a fixed 10% "
            "of the images, then left out of 'train')" +
            (", or store test_images (and test_labels) in the .npz" if source.startswith("npz:")
             else "") + ".")


def _table(kind, argument, holdout):
    if kind == "digits":
        return _digits_table(holdout)
    if kind == "npz":
        return _npz_table(argument, holdout)
    return _folder_table(argument, holdout)


@functools.lru_cache(maxsize=1)
def _digits_arrays():
    from sklearn.datasets import load_digits
    digits = load_digits()
    images = (digits.images.astype(np.float32) / 8.0 - 1.0)[..., None]  # 0..16 -> [-1, 1]
    return images, digits.target.astype(np.int32)


def _digits_table(holdout):
    images, labels = _digits_arrays()
    count = len(images)
    held = _holdout_count(DIGITS_TEST_FRACTION if holdout is None else holdout, count, "digits")
    everything = np.arange(count, dtype=np.int64)
    splits = {"train": everything[:count - held], "test": everything[count - held:],
              "all": everything}
    return _Table("digits", splits, labels, images.shape[1:], images=images)


# npz ------------------------------------------------------------------------------------------


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


def _npz_table(path, holdout):
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
        splits = _fixed_holdout_splits(count, holdout, source)
        missing = {} if "test" in splits else {"test": _no_test_message(source)}
        return _Table(source, splits, labels, images.shape[1:], images=images, missing=missing)

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
    return _Table(source, splits, all_labels, images.shape[1:],
                  images=np.concatenate([images, test_images]))


def _npy_header(archive_file, key):
    """(shape, dtype) of `key` in an open zip file, from the .npy header only."""
    with archive_file.open(key + ".npy") as handle:
        version = np.lib.format.read_magic(handle)
        read_header = (np.lib.format.read_array_header_1_0 if version == (1, 0)
                       else np.lib.format.read_array_header_2_0)
        shape, _, dtype = read_header(handle)
    return shape, dtype


def _npz_spec(path, image_size):
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


# folder ---------------------------------------------------------------------------------------


def _is_image_file(name):
    return not name.startswith(".") and name.lower().endswith(IMAGE_EXTENSIONS)


def _images_under(folder):
    found = []
    for root, dirs, files in os.walk(folder):
        dirs[:] = sorted(d for d in dirs if not d.startswith("."))
        found.extend(os.path.join(root, f) for f in files if _is_image_file(f))
    return sorted(found)


def _folder_files(path):
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
    from PIL import Image
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


def _folder_shape(path, files, image_size, scanned=None):
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


def _folder_table(path, holdout):
    files, labels, classes = _folder_files(path)
    source = f"folder:{path}"
    splits = _fixed_holdout_splits(len(files), holdout, source)
    scanned = _scan_headers(files)
    sizes = set(scanned[0])
    shape = (sizes.pop() if len(sizes) == 1 else (None, None)) + (scanned[1],)
    missing = {} if "test" in splits else {"test": _no_test_message(source)}
    return _Table(source, splits, labels, shape, paths=np.asarray(files), missing=missing,
                  scanned=scanned)


# the pipeline ---------------------------------------------------------------------------------


def _order(count, shuffle, repeat, seed):
    """Positions 0..count-1, epoch after epoch; shuffled statelessly from (seed, epoch)."""
    if not shuffle:
        positions = tf.data.Dataset.range(count)
        return positions.repeat() if repeat else positions
    epochs = tf.data.Dataset.counter() if repeat else tf.data.Dataset.range(1)
    seed = tf.constant(seed, tf.int64)

    def one_epoch(epoch):
        permutation = tf.random.experimental.stateless_shuffle(
            tf.range(count, dtype=tf.int64), seed=tf.stack([seed, tf.cast(epoch, tf.int64)]))
        return tf.data.Dataset.from_tensor_slices(permutation)

    return epochs.flat_map(one_epoch)


def _table_dataset(table, split, image_size, with_labels, shuffle, repeat, seed, batch_size,
                   drop_remainder, dequantize=False):
    indices = table.select(split)
    if with_labels:
        if table.labels is None or np.any(table.labels[indices] < 0):
            raise ValueError(
                f"with_labels=True but split {split!r} of {table.source} has no labels" +
                (": store 'labels' (and 'test_labels') in the .npz."
                 if table.source.startswith("npz:") else "."))
    _check_batch_fits(batch_size, len(indices), drop_remainder, f"split {split!r} of "
                      f"{table.source}")
    if image_size is not None:
        height = width = image_size
    elif table.paths is None:
        height, width = table.shape[:2]
    else:  # a folder read at its own size: all images must share it
        height, width = _folder_shape(table.source.partition(":")[2], list(table.paths), None,
                                      table.scanned)[:2]
    channels = table.shape[2]
    indices = tf.constant(indices, tf.int64)
    labels = None if table.labels is None else tf.constant(table.labels, tf.int32)
    positions = _order(int(indices.shape[0]), shuffle, repeat, seed)

    if table.paths is None:
        images = tf.constant(table.images)

        def make_batch(batch_index, batch_positions):
            chosen = tf.gather(indices, batch_positions)
            batch = tf.gather(images, chosen)
            batch = _dequantize(batch, seed, batch_index) if dequantize else _to_float(batch)
            batch = _resize(batch, image_size)
            if with_labels:
                return batch, tf.gather(labels, chosen)
            return batch

        return positions.batch(batch_size, drop_remainder=drop_remainder).enumerate().map(
            make_batch, num_parallel_calls=tf.data.AUTOTUNE, deterministic=True)

    paths = tf.constant(table.paths)

    def load(index, position):
        chosen = tf.gather(indices, position)
        image = tf.io.decode_image(tf.io.read_file(tf.gather(paths, chosen)), channels=0,
                                   dtype=tf.uint8, expand_animations=False)
        image = _to_channels(image, channels)
        if image_size is None:
            image = tf.ensure_shape(image, (height, width, channels))
        image = _dequantize(image, seed, index) if dequantize else _to_float(image)
        image = _resize(image, image_size)
        image.set_shape((height, width, channels))
        if with_labels:
            return image, tf.gather(labels, chosen)
        return image

    loaded = positions.enumerate().map(load, num_parallel_calls=tf.data.AUTOTUNE,
                                       deterministic=True)
    return loaded.batch(batch_size, drop_remainder=drop_remainder)


# ---------------------------------------------------------------------------------------------
# TFDS.


def _tfds_info(name, data_dir, image_size, with_labels):
    """Checks a TFDS data set's features; returns its output shape, label count and features."""
    import tensorflow_datasets as tfds
    from tensorflow_datasets.core import registered
    source = f"tfds:{name}"
    try:
        builder = tfds.builder(name, data_dir=data_dir)
    except registered.DatasetNotFoundError:
        raise ValueError(f"{source}: TensorFlow Datasets has no data set named {name!r} (see "
                         "https://www.tensorflow.org/datasets/catalog).") from None
    features = builder.info.features
    keys = sorted(features.keys())
    image = features["image"] if "image" in keys else None
    if not isinstance(image, tfds.features.Image):
        raise ValueError(f"{source} has no 'image' Image feature (its features: "
                         f"{', '.join(keys)}); only image data sets can be read.")
    height, width, channels = image.shape
    if image.np_dtype != np.uint8:
        raise ValueError(f"{source}: its images are {image.np_dtype}, not uint8; only uint8 "
                         "TFDS images are supported.")
    if channels not in (1, 3):
        raise ValueError(f"{source}: its images have {channels} channels; only 1 or 3 "
                         "are supported.")
    base = builder.name
    crop = CELEB_A_CROP if base == "celeb_a" else None
    if crop:
        height = width = crop
    size = image_size or TFDS_STANDARD_SIZES.get(base)
    if size is None and (height is None or width is None):
        raise ValueError(f"{source} has images of varying size ({height}x{width}); set "
                         "dataset.image_size to resize them to one size.")
    label = features["label"] if "label" in keys else None
    num_classes = label.num_classes if isinstance(label, tfds.features.ClassLabel) else None
    if with_labels and num_classes is None:
        raise ValueError(f"with_labels=True but {source} has no 'label' class feature (its "
                         f"features: {', '.join(keys)}).")
    shape = (size, size, channels) if size else (height, width, channels)
    return {"shape": shape, "num_classes": num_classes, "image": image, "crop": crop,
            "size": size}


def _tfds_dataset(name, split, image_size, with_labels, shuffle, seed, shuffle_buffer, data_dir,
                  batch_size, drop_remainder, repeat, dequantize=False):
    import tensorflow_datasets as tfds
    info = _tfds_info(name, data_dir, image_size, with_labels)
    # Images stay encoded until after the shuffle buffer: it then holds ~10 kB of PNG/JPEG per
    # example instead of the decoded pixels (116 kB for a CelebA face).
    ds = tfds.load(name, split=split, data_dir=data_dir, shuffle_files=shuffle,
                   read_config=tfds.ReadConfig(shuffle_seed=seed),
                   decoders={"image": tfds.decode.SkipDecoding()})
    count = int(ds.cardinality())
    if count == 0:
        raise ValueError(f"Split {split!r} of tfds:{name} holds no images.")
    if count > 0:
        _check_batch_fits(batch_size, count, drop_remainder, f"split {split!r} of tfds:{name}")
    if shuffle:
        buffer = min(shuffle_buffer, count) if count > 0 else shuffle_buffer
        ds = ds.shuffle(buffer, seed=seed, reshuffle_each_iteration=True)
    if repeat:
        ds = ds.repeat()
    feature, crop, size = info["image"], info["crop"], info["size"]

    def prepare(index, example):
        image = feature.decode_example(example["image"])
        if crop:
            image = tf.image.resize_with_crop_or_pad(image, crop, crop)
        image = _dequantize(image, seed, index) if dequantize else _to_float(image)
        image = _resize(image, size)
        image = tf.ensure_shape(image, info["shape"])
        if with_labels:
            return image, tf.cast(example["label"], tf.int32)
        return image

    ds = ds.enumerate().map(prepare, num_parallel_calls=tf.data.AUTOTUNE, deterministic=True)
    return ds.batch(batch_size, drop_remainder=drop_remainder)
