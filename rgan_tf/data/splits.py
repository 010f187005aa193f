"""In-memory sources (digits, npz, folder) as a `Table` of items, labels and named index splits:
"train", "test", "all", and TFDS-style slices of them ("train[:90%]", "test[10:]").

A configured `holdout` is a fixed pseudo-random subset drawn with `HOLDOUT_SEED`, independent of
the training seed, so changing the seed never moves images between "train" and "test".
"""
import math
import re

import numpy as np

from rgan_tf.data import checks

#: Seed of the fixed permutation that picks the `holdout` images of npz and folder sources.
HOLDOUT_SEED = 20190615

_SPLIT_RE = re.compile(r"^(train|test|all)(?:\[(-?\d+%?)?:(-?\d+%?)?\])?$")


class Table:
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


def fixed_holdout_splits(count, holdout, source):
    """train/test/all indices with `holdout` images picked by a fixed permutation."""
    everything = np.arange(count, dtype=np.int64)
    if holdout is None:
        return {"train": everything, "all": everything}
    held = checks.holdout_count(holdout, count, source)
    permutation = np.random.default_rng(HOLDOUT_SEED).permutation(count)
    return {"train": np.sort(permutation[held:]), "test": np.sort(permutation[:held]),
            "all": everything}


def no_test_message(source):
    return (f"{source} has no held-out 'test' split: set dataset.holdout (e.g. 0.1, a fixed 10% "
            "of the images, then left out of 'train')" +
            (", or store test_images (and test_labels) in the .npz" if source.startswith("npz:")
             else "") + ".")

