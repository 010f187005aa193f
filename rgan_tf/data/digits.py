"""The `digits` source: scikit-learn's bundled handwritten digits (1,797 images, 8x8x1, grey levels
0..16 mapped linearly onto [-1, 1]; on disk, no download; 10 classes). "train" is the first 80%,
"test" the last 20% (`DIGITS_TEST_FRACTION`), or the last `holdout` images."""
import functools

import numpy as np

from rgan_tf.data import checks
from rgan_tf.data import splits as splits_lib

#: Fraction of `digits` (the last images) held out as its "test" split.
DIGITS_TEST_FRACTION = 0.2


@functools.lru_cache(maxsize=1)
def _digits_arrays():
    from sklearn.datasets import load_digits  # heavy (scikit-learn): imported when first read
    digits = load_digits()
    images = (digits.images.astype(np.float32) / 8.0 - 1.0)[..., None]  # 0..16 -> [-1, 1]
    return images, digits.target.astype(np.int32)


def table(holdout):
    images, labels = _digits_arrays()
    count = len(images)
    held = checks.holdout_count(DIGITS_TEST_FRACTION if holdout is None else holdout, count,
                                "digits")
    everything = np.arange(count, dtype=np.int64)
    splits = {"train": everything[:count - held], "test": everything[count - held:],
              "all": everything}
    return splits_lib.Table("digits", splits, labels, images.shape[1:], images=images)

