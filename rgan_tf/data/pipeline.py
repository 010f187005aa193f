"""The data pipeline: `dataset` (batches of real images, and labels, from any source) and
`dataset_spec` (what a source yields, without reading pixels). Plain functions: gin's face of
`dataset` is `rgan_tf.data.dataset`; library code calls this one with explicit arguments.

Order: `shuffle=True` gives a fresh permutation every epoch. For digits, npz and folder it is a
stateless function of `(seed, epoch)` (`tf.random.experimental.stateless_shuffle`), so the batch at
a given position never depends on TensorFlow's global seed (resumable by `skip`). TFDS data are
streamed through a `shuffle_buffer`-sized buffer seeded with `seed`.
"""
import numpy as np
import tensorflow as tf

from rgan_tf.data import checks
from rgan_tf.data import digits
from rgan_tf.data import folder
from rgan_tf.data import npz
from rgan_tf.data import tfds
from rgan_tf.data import transforms


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
        SNGAN and BWGAN references do (see `rgan_tf.data`); deterministic given `seed`. Only for
        8-bit sources (tfds, folder, uint8 npz).

    Returns:
      A prefetched `tf.data.Dataset` of float32 images `[B, H, W, C]` in [-1, 1], or of
      `(images [B, H, W, C] float32, labels [B] int32)` when `with_labels`.

    Raises:
      ValueError: a bad argument or bad data, with what to fix.
      FileNotFoundError: the npz file or folder does not exist.
    """
    kind, argument = checks.parse_source(source)
    batch_size = checks.check_int("batch_size", batch_size, 1)
    image_size = checks.check_image_size(image_size)
    shuffle_buffer = checks.check_int("shuffle_buffer", shuffle_buffer, 1)
    seed = checks.check_int("seed", seed, None)
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
        ds = tfds.dataset(argument, split, image_size, with_labels, shuffle, seed,
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
    kind, argument = checks.parse_source(source)
    image_size = checks.check_image_size(image_size)
    if kind == "digits":
        side = image_size or 8
        return (side, side, 1), 10
    if kind == "tfds":
        info = tfds.info(argument, data_dir, image_size, with_labels=False)
        return info["shape"], info["num_classes"]
    if kind == "npz":
        return npz.spec(argument, image_size)
    files, _, classes = folder.folder_files(argument)
    shape = folder.folder_shape(argument, files, image_size)
    return shape, (len(classes) if classes else None)



def _table(kind, argument, holdout):
    if kind == "digits":
        return digits.table(holdout)
    if kind == "npz":
        return npz.table(argument, holdout)
    return folder.table(argument, holdout)



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
    checks.check_batch_fits(batch_size, len(indices), drop_remainder, f"split {split!r} of "
                      f"{table.source}")
    if image_size is not None:
        height = width = image_size
    elif table.paths is None:
        height, width = table.shape[:2]
    else:  # a folder read at its own size: all images must share it
        height, width = folder.folder_shape(table.source.partition(":")[2], list(table.paths), None,
                                      table.scanned)[:2]
    channels = table.shape[2]
    indices = tf.constant(indices, tf.int64)
    labels = None if table.labels is None else tf.constant(table.labels, tf.int32)
    positions = _order(int(indices.shape[0]), shuffle, repeat, seed)

    if table.paths is None and not dequantize:
        images = tf.constant(table.images)

        def make_batch(batch_positions):
            chosen = tf.gather(indices, batch_positions)
            batch = transforms.resize(transforms.to_float(tf.gather(images, chosen)), image_size)
            if with_labels:
                return batch, tf.gather(labels, chosen)
            return batch

        return positions.batch(batch_size, drop_remainder=drop_remainder).map(
            make_batch, num_parallel_calls=tf.data.AUTOTUNE, deterministic=True)

    # Image by image: decoded from files, or dequantized with a key per stream position, so a
    # folder gives the same pixels whether it is decoded into memory or read file by file.
    paths = None if table.paths is None else tf.constant(table.paths)
    images = None if table.images is None else tf.constant(table.images)

    def load(index, position):
        chosen = tf.gather(indices, position)
        if images is not None:
            image = tf.gather(images, chosen)
        else:
            image = tf.io.decode_image(tf.io.read_file(tf.gather(paths, chosen)), channels=0,
                                       dtype=tf.uint8, expand_animations=False)
            image = transforms.to_channels(image, channels)
            if image_size is None:
                image = tf.ensure_shape(image, (height, width, channels))
        image = (transforms.dequantize(image, seed, index) if dequantize
                 else transforms.to_float(image))
        image = transforms.resize(image, image_size)
        image.set_shape((height, width, channels))
        if with_labels:
            return image, tf.gather(labels, chosen)
        return image

    loaded = positions.enumerate().map(load, num_parallel_calls=tf.data.AUTOTUNE,
                                       deterministic=True)
    return loaded.batch(batch_size, drop_remainder=drop_remainder)

