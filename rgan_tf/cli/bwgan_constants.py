"""`rgan-bwgan-constants` (tools/bwgan_constants.py): measures BWGAN's data constants (lambda,
gamma) on real images and prints them with the gin lines to paste
(`rgan_tf.data.bwgan_constants`).

    rgan-bwgan-constants --source=tfds:cifar10
    rgan-bwgan-constants --source=folder:../shared/data/cifar10/train --dequantize
    rgan-bwgan-constants --source=tfds:stl10 --split=train+unlabelled
"""
from absl import flags

from rgan_tf.cli import common
from rgan_tf.data import bwgan_constants

FLAGS = flags.FLAGS


def define_flags():
    flags.DEFINE_string("source", "tfds:cifar10", "Data source, as dataset.source.")
    flags.DEFINE_string("split", "train", "Split, as dataset.split.")
    flags.DEFINE_integer("image_size", None, "Image side, as dataset.image_size (None: "
                         "standard).")
    flags.DEFINE_integer("num_images", 50000, "Images to average over (fewer if the split is "
                         "smaller).")
    flags.DEFINE_integer("batch_size", 500, "Images per batch while measuring.")
    flags.DEFINE_float("p", 2.0, "Lp exponent of the image space (bwgan_penalty.p).")
    flags.DEFINE_float("s", 0.0, "Sobolev order (bwgan_penalty.s).")
    flags.DEFINE_float("c", 5.0, "Sobolev frequency scale (bwgan_penalty.c).")
    flags.DEFINE_boolean("dequantize", False, "Read the images as training sees them with "
                         "dataset.dequantize (x / 128 - 1 + U(0, 1/128), seeded by --seed), as "
                         "the reference estimates its constants on its dequantized real batches.")
    flags.DEFINE_integer("seed", 0, "Seed of the dequantization noise.")


def main(argv):
    del argv
    try:
        lam, gamma, count = bwgan_constants.measure(
            FLAGS.source, FLAGS.split, FLAGS.image_size, FLAGS.num_images, FLAGS.batch_size,
            FLAGS.p, FLAGS.s, FLAGS.c, FLAGS.dequantize, FLAGS.seed)
    except (ValueError, OSError) as error:
        common.fail(error)
    noise = ", dequantized" if FLAGS.dequantize else ""
    print(f"# {FLAGS.source} {FLAGS.split}{noise}, {count} images, p={FLAGS.p:g} s={FLAGS.s:g} "
          f"c={FLAGS.c:g}: lambda = {lam:.4f}, gamma = {gamma:.4f}")
    for line in bwgan_constants.gin_lines(lam, gamma):
        print(line)


def run():
    """The `rgan-bwgan-constants` command."""
    common.run(define_flags, main)
