"""Exports a run's generator as a SavedModel that loads with TensorFlow alone.

    python tools/export.py --model_dir=runs/digits_dcgan_rgan --export_dir=exports/digits
    python tools/export.py --model_dir=runs/digits_dcgan_rgan --checkpoint=1000 \
        --export_dir=exports/digits_1000 --with_discriminator --overwrite

Loading (no rgan_tf needed):
    loaded = tf.saved_model.load("exports/digits")
    images = loaded.signatures["serving_default"](z=tf.random.normal([16, 100]))["images"]
"""
import os
import sys

from absl import app
from absl import flags

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
from rgan_tf import launch  # noqa: E402

flags.DEFINE_string("model_dir", None, "Run folder written by tools/train.py.", required=True)
flags.DEFINE_string("export_dir", None, "Folder for the SavedModel.", required=True)
flags.DEFINE_string("checkpoint", None, "Checkpoint: a step, ckpt-<step> or a path; "
                    "default the latest.")
flags.DEFINE_bool("with_discriminator", False, "Also export the discriminator "
                  "(signature `discriminate`).")
flags.DEFINE_bool("overwrite", False, "Replace a non-empty --export_dir.")
FLAGS = flags.FLAGS


def main(argv):
    del argv
    from rgan_tf import export
    try:
        export.export_run(FLAGS.model_dir, FLAGS.export_dir, checkpoint=FLAGS.checkpoint,
                          with_discriminator=FLAGS.with_discriminator, overwrite=FLAGS.overwrite)
    except (ValueError, OSError) as error:  # OSError: a failed write (WriteFailedError)
        launch.fail(error)


if __name__ == "__main__":
    app.run(main)
