"""The `tfds:<name>` source: a TensorFlow Datasets data set, with the GAN benchmarks' geometry:
cifar10 32x32x3, mnist 28x28x1, stl10 96x96 resized to 48x48 (area resampling), celeb_a 218x178
center-cropped to 140x140 (`CELEB_A_CROP`) and resized to 64x64; any other TFDS image data set (an
`image` feature, uint8, 1 or 3 channels) at its own size.

Why 140x140 for CelebA: it keeps the whole face with hair and chin and is the center crop used for
64x64 CelebA by most FID-reporting GAN and score-model code (e.g. tensorpack's DCGAN-CelebA, Song
et al.'s score_sde); DCGAN-tensorflow's tighter 108x108 crop shows only the face.
"""
import numpy as np
import tensorflow as tf

from rgan_tf.data import checks
from rgan_tf.data import transforms

#: Side of the center crop taken from CelebA's 218x178 aligned faces before resizing.
CELEB_A_CROP = 140


def info(name, data_dir, image_size, with_labels):
    """Checks a TFDS data set's features; returns its output shape, label count and features."""
    import tensorflow_datasets as tfds  # heavy (seconds): imported when a TFDS source is read
    from tensorflow_datasets.core import registered  # with tfds, above
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
    size = image_size or checks.TFDS_STANDARD_SIZES.get(base)
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


def dataset(name, split, image_size, with_labels, shuffle, seed, shuffle_buffer, data_dir,
            batch_size, drop_remainder, repeat, dequantize=False):
    """Batches of `tfds:<name>`'s images (and labels), as `rgan_tf.data.pipeline.dataset`."""
    import tensorflow_datasets as tfds  # heavy (seconds): imported when a TFDS source is read
    spec = info(name, data_dir, image_size, with_labels)
    # Images stay encoded until after the shuffle buffer: it then holds ~10 kB of PNG/JPEG per
    # example instead of the decoded pixels (116 kB for a CelebA face).
    ds = tfds.load(name, split=split, data_dir=data_dir, shuffle_files=shuffle,
                   read_config=tfds.ReadConfig(shuffle_seed=seed),
                   decoders={"image": tfds.decode.SkipDecoding()})
    count = int(ds.cardinality())
    if count == 0:
        raise ValueError(f"Split {split!r} of tfds:{name} holds no images.")
    if count > 0:
        checks.check_batch_fits(batch_size, count, drop_remainder,
                                f"split {split!r} of tfds:{name}")
    if shuffle:
        buffer = min(shuffle_buffer, count) if count > 0 else shuffle_buffer
        ds = ds.shuffle(buffer, seed=seed, reshuffle_each_iteration=True)
    if repeat:
        ds = ds.repeat()
    feature, crop, size = spec["image"], spec["crop"], spec["size"]

    def prepare(index, example):
        image = feature.decode_example(example["image"])
        if crop:
            image = tf.image.resize_with_crop_or_pad(image, crop, crop)
        image = (transforms.dequantize(image, seed, index) if dequantize
                 else transforms.to_float(image))
        image = transforms.resize(image, size)
        image = tf.ensure_shape(image, spec["shape"])
        if with_labels:
            return image, tf.cast(example["label"], tf.int32)
        return image

    ds = ds.enumerate().map(prepare, num_parallel_calls=tf.data.AUTOTUNE, deterministic=True)
    return ds.batch(batch_size, drop_remainder=drop_remainder)
