"""Argument checks of `rgan_tf.data.dataset`, and the source string's forms: everything that
would otherwise fail later, or silently read wrong data, fails here with one `ValueError`."""
import math
import os

import numpy as np

#: The forms `source` may take.
SOURCE_FORMS = ("digits", "tfds:<name>", "npz:<path>", "folder:<path>")
#: TFDS data sets with a standard GAN geometry: name -> output side (None: native). Their bare
#: names are accepted as short for `tfds:<name>`.
TFDS_STANDARD_SIZES = {"cifar10": None, "mnist": None, "stl10": 48, "celeb_a": 64}

_PREFIXES = ("tfds", "npz", "folder")


def parse_source(source):
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


def check_int(name, value, minimum):
    if isinstance(value, bool) or not isinstance(value, (int, np.integer)) or (
            minimum is not None and value < minimum):
        bound = f" >= {minimum}" if minimum is not None else ""
        raise ValueError(f"dataset.{name} must be an integer{bound}, got {value!r}.")
    return int(value)


def check_image_size(image_size):
    if image_size is None:
        return None
    if isinstance(image_size, bool) or not isinstance(image_size, (int, np.integer)) or (
            image_size < 1):
        raise ValueError(f"dataset.image_size must be None or an integer >= 1 (the side of the "
                         f"square images), got {image_size!r}.")
    return int(image_size)


def holdout_count(holdout, n, source):
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


def check_batch_fits(batch_size, count, drop_remainder, what):
    if drop_remainder and batch_size > count:
        raise ValueError(
            f"dataset.batch_size={batch_size} is larger than {what}, which holds {count} images: "
            "with drop_remainder=True no batch would be complete. Lower batch_size, or set "
            "drop_remainder=False.")

