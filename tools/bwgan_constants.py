"""Measures BWGAN's data constants (lambda, gamma) on real images, for the gin configs.

The reference (adler-j/bwgan) re-estimates `lambda = mean ||F_s x||_p` and `gamma = mean
||F_s x||_q` on every real batch; the shipped BWGAN configs bind fixed values instead (one
`BWGAN_NORM` for the loss's gamma and the penalty's weight and gamma, exact at p = 2, s = 0, where
the two coincide). This prints both means over `--num_images` images of a data source, and the
gin lines to paste.

    python tools/bwgan_constants.py --source=tfds:cifar10
    python tools/bwgan_constants.py --source=folder:../shared/data/cifar10/train --dequantize
    python tools/bwgan_constants.py --source=tfds:stl10 --split=train+unlabelled
"""
import os
import sys

from absl import app
from absl import flags

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
from rgan_tf import launch  # noqa: E402

flags.DEFINE_string("source", "tfds:cifar10", "Data source, as dataset.source.")
flags.DEFINE_string("split", "train", "Split, as dataset.split.")
flags.DEFINE_integer("image_size", None, "Image side, as dataset.image_size (None: standard).")
flags.DEFINE_integer("num_images", 50000, "Images to average over (fewer if the split is smaller).")
flags.DEFINE_integer("batch_size", 500, "Images per batch while measuring.")
flags.DEFINE_float("p", 2.0, "Lp exponent of the image space (bwgan_penalty.p).")
flags.DEFINE_float("s", 0.0, "Sobolev order (bwgan_penalty.s).")
flags.DEFINE_float("c", 5.0, "Sobolev frequency scale (bwgan_penalty.c).")
flags.DEFINE_boolean("dequantize", False, "Read the images as training sees them with "
                     "dataset.dequantize (x / 128 - 1 + U(0, 1/128), seeded by --seed), as the "
                     "reference estimates its constants on its dequantized real batches.")
flags.DEFINE_integer("seed", 0, "Seed of the dequantization noise.")
FLAGS = flags.FLAGS


def measure(source, split, image_size, num_images, batch_size, p, s, c, dequantize=False,
            seed=0):
    """Mean `||F_s x||_p` and `||F_s x||_q` over the first `num_images` images of a split (in
    order; dequantized as `dataset(dequantize=True, seed=seed)` when `dequantize`); returns
    `(lam, gamma, count)`."""
    import tensorflow as tf
    from rgan_tf import data
    from rgan_tf import penalties
    q = penalties.dual_exponent(p)
    images = data.dataset(source=source, split=split, image_size=image_size,
                          batch_size=min(batch_size, num_images), shuffle=False, repeat=False,
                          drop_remainder=False, dequantize=dequantize, seed=seed)
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


def main(argv):
    del argv
    try:
        lam, gamma, count = measure(FLAGS.source, FLAGS.split, FLAGS.image_size,
                                    FLAGS.num_images, FLAGS.batch_size, FLAGS.p, FLAGS.s,
                                    FLAGS.c, FLAGS.dequantize, FLAGS.seed)
    except (ValueError, OSError) as error:
        launch.fail(error)
    noise = ", dequantized" if FLAGS.dequantize else ""
    print(f"# {FLAGS.source} {FLAGS.split}{noise}, {count} images, p={FLAGS.p:g} s={FLAGS.s:g} "
          f"c={FLAGS.c:g}: lambda = {lam:.4f}, gamma = {gamma:.4f}")
    print(f"bwgan_penalty.weight = {lam:.2f}")
    print(f"bwgan_penalty.gamma = {gamma:.2f}")
    print(f"banach_wasserstein_loss.gamma = {gamma:.2f}")


if __name__ == "__main__":
    app.run(main)
