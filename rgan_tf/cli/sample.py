"""`rgan-sample` (tools/sample.py): writes N samples of a trained generator as a PNG grid, PNG
files or an .npz (`rgan_tf.samples.sample_to_file`).

    rgan-sample --model_dir=runs/digits_dcgan16_rgan --output=grid.png
    rgan-sample --export_dir=exports/digits --num_samples=1000 --output=samples.npz
    rgan-sample --model_dir=runs/cifar10_cgan --classes=3,5 --output=samples/

The format follows --output (`.png`: one grid, `.npz`: `images` float32 in [-1, 1] and `labels`,
anything else: a folder of PNG files) unless --format says otherwise. The images are those of
`RobustGAN.sample`: z ~ N(0, I) drawn from --seed; a conditional model's labels cycle through
--classes (default: every class).
"""
from absl import flags

from rgan_tf import samples
from rgan_tf.cli import common

FLAGS = flags.FLAGS


def define_flags():
    flags.DEFINE_string("model_dir", None, "Run folder written by tools/train.py.")
    flags.DEFINE_string("checkpoint", None, "With --model_dir: a step, ckpt-<step> or a path; "
                        "default the latest.")
    flags.DEFINE_string("export_dir", None, "A SavedModel written by tools/export.py.")
    flags.DEFINE_integer("num_samples", 64, "How many samples.")
    flags.DEFINE_integer("seed", 0, "Seed of the noise.")
    flags.DEFINE_list("classes", None, "Classes for a conditional model, e.g. 3 or 0,1,2 "
                      "(cycled); default every class.")
    flags.DEFINE_string("output", None, "Output: a .png grid, an .npz, or a folder.",
                        required=True)
    flags.DEFINE_enum("format", None, list(samples.SAMPLE_FORMATS), "Overrides the format "
                      "--output implies.")
    flags.DEFINE_bool("overwrite", False, "Replace an existing output.")


def main(argv):
    del argv
    try:
        samples.sample_to_file(
            FLAGS.output, model_dir=FLAGS.model_dir, export_dir=FLAGS.export_dir,
            checkpoint=FLAGS.checkpoint, num_samples=FLAGS.num_samples, seed=FLAGS.seed,
            classes=FLAGS.classes, fmt=FLAGS.format, overwrite=FLAGS.overwrite)
    except (ValueError, OSError) as error:  # OSError: a failed write (WriteFailedError)
        common.fail(error)


def run():
    """The `rgan-sample` command."""
    common.run(define_flags, main)
