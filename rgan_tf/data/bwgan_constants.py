"""BWGAN's data constants (lambda, gamma) measured on real images, for the gin configs.

The reference (adler-j/bwgan) re-estimates `lambda = mean ||F_s x||_p` and `gamma = mean
||F_s x||_q` on every real batch; the shipped BWGAN configs bind fixed values instead (one
`BWGAN_NORM` for the loss's gamma and the penalty's weight and gamma, exact at p = 2, s = 0, where
the two coincide). `measure` gives both means over the first images of a split
(`tools/bwgan_constants.py` prints them with the gin lines to paste).
"""
import tensorflow as tf

from rgan_tf import penalties
from rgan_tf.data import pipeline


def measure(source, split="train", image_size=None, num_images=50000, batch_size=500, p=2.0,
            s=0.0, c=5.0, dequantize=False, seed=0):
    """Mean `||F_s x||_p` and `||F_s x||_q` (q the dual exponent of p) over the first
    `num_images` images of a split, in order (dequantized as `dataset(dequantize=True,
    seed=seed)` when `dequantize`, as the reference estimates its constants on its dequantized
    real batches).

    Args:
      source: a data source, as `dataset.source`.
      split: the split.
      image_size: the image side (None: the source's standard size).
      num_images: images to average over (fewer if the split holds fewer).
      batch_size: images per batch while measuring.
      p: Lp exponent of the image space (`bwgan_penalty.p`).
      s: Sobolev order (`bwgan_penalty.s`).
      c: Sobolev frequency scale (`bwgan_penalty.c`).
      dequantize: read the images as training does with `dataset.dequantize`.
      seed: seed of the dequantization noise.

    Returns:
      `(lam, gamma, count)`: the two means and the number of images measured.
    """
    q = penalties.dual_exponent(p)
    images = pipeline.dataset(source=source, split=split, image_size=image_size,
                              batch_size=min(batch_size, num_images), shuffle=False,
                              repeat=False, drop_remainder=False, dequantize=dequantize,
                              seed=seed)
    totals, count = [0.0, 0.0], 0
    for batch in images:
        batch = batch[:num_images - count]
        filtered = penalties.sobolev_filter(batch, s, c)
        for index, exponent in enumerate((float(p), q)):
            totals[index] += float(tf.reduce_sum(penalties.lp_norms(filtered, exponent)))
        count += int(batch.shape[0])
        if count >= num_images:
            break
    return totals[0] / count, totals[1] / count, count


def gin_lines(lam, gamma):
    """The gin bindings that fix the measured constants in a config."""
    return [f"bwgan_penalty.weight = {lam:.2f}", f"bwgan_penalty.gamma = {gamma:.2f}",
            f"banach_wasserstein_loss.gamma = {gamma:.2f}"]
