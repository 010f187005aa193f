"""Real images of a split as numpy arrays (for measurements that need them all at once, e.g. the
discriminator's generalization gap and t-SNE)."""
import numpy as np

from rgan_tf.data import pipeline


def load_images(source, split, num_images, image_size=None, with_labels=False, seed=0,
                data_kwargs=None, batch_size=256):
    """The first `num_images` images of `split` of `source` (shuffled with `seed`) as numpy arrays.

    Images are read as they are (`dequantize=False` unless `data_kwargs` says otherwise).

    Args:
      source: the data source, as for `pipeline.dataset`.
      split: the split.
      num_images: how many (fewer if the split holds fewer).
      image_size: the side images are read at (None: the source's own).
      with_labels: also return the labels.
      seed: seed of the order.
      data_kwargs: further arguments of `pipeline.dataset` (e.g. `holdout`).
      batch_size: images per read.

    Returns:
      `images [n, H, W, C]` float32, or `(images, labels [n] int32)` with `with_labels`.
    """
    ds = pipeline.dataset(source=source, batch_size=batch_size, split=split,
                          image_size=image_size, with_labels=with_labels, shuffle=True,
                          repeat=False, seed=seed, drop_remainder=False,
                          **{"dequantize": False, **(data_kwargs or {})})
    images, labels, count = [], [], 0
    for batch in ds:
        batch_images = batch[0] if with_labels else batch
        images.append(batch_images.numpy())
        if with_labels:
            labels.append(batch[1].numpy())
        count += len(images[-1])
        if count >= num_images:
            break
    images = np.concatenate(images)[:num_images]
    if with_labels:
        return images, np.concatenate(labels)[:num_images].astype(np.int32)
    return images
