"""`rgan-export` (tools/export.py): exports a run's generator as a SavedModel that loads with
TensorFlow alone (`rgan_tf.export.export_run`).

    rgan-export --model_dir=runs/digits_dcgan16_rgan --export_dir=exports/digits
    rgan-export --model_dir=runs/digits_dcgan16_rgan --checkpoint=1000 \
        --export_dir=exports/digits_1000 --with_discriminator --overwrite

Loading (no rgan_tf needed):
    loaded = tf.saved_model.load("exports/digits")
    images = loaded.signatures["serving_default"](z=tf.random.normal([16, 100]))["images"]
"""
from absl import flags

from rgan_tf import export
from rgan_tf.cli import common

FLAGS = flags.FLAGS


def define_flags():
    flags.DEFINE_string("model_dir", None, "Run folder written by tools/train.py.", required=True)
    flags.DEFINE_string("export_dir", None, "Folder for the SavedModel.", required=True)
    flags.DEFINE_string("checkpoint", None, "Checkpoint: a step, ckpt-<step> or a path; "
                        "default the latest.")
    flags.DEFINE_bool("with_discriminator", False, "Also export the discriminator "
                      "(signature `discriminate`).")
    flags.DEFINE_bool("overwrite", False, "Replace a non-empty --export_dir.")


def main(argv):
    del argv
    try:
        export.export_run(FLAGS.model_dir, FLAGS.export_dir, checkpoint=FLAGS.checkpoint,
                          with_discriminator=FLAGS.with_discriminator, overwrite=FLAGS.overwrite)
    except (ValueError, OSError) as error:  # OSError: a failed write (WriteFailedError)
        common.fail(error)


def run():
    """The `rgan-export` command."""
    common.run(define_flags, main)
