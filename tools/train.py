"""Trains a GAN from gin configs: flags, gin, one call into `rgan_tf.training.train`.

    python tools/train.py                                    # RGAN(DCGAN) on digits, offline
    python tools/train.py --gin_file=gin_configs/cifar10/wgan_gp_rgan.gin \
        --gin_bindings='train.steps=200' --model_dir=runs/wgan_gp_rgan

Exit status: 0 trained (or nothing left to train); 1 an error (one `error:` line); 75 stopped by
SIGTERM or SIGINT after writing a checkpoint of the last step (run the same command to resume;
docs/workflow.md, "Interruptions").
"""
import os
import sys

from absl import app
from absl import flags

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
from rgan_tf import launch  # noqa: E402

DEFAULT_CONFIG = "gin_configs/digits/dcgan_rgan.gin"

flags.DEFINE_multi_string("gin_file", None, f"Gin config file(s); default {DEFAULT_CONFIG}.")
flags.DEFINE_multi_string("gin_bindings", [], "Gin bindings, e.g. 'train.steps=200'.")
flags.DEFINE_string("model_dir", None, "Run folder; default runs/<config name>.")
flags.DEFINE_enum("strategy", None, ["default", "mirrored", "multi_worker", "tpu"],
                  "tf.distribute strategy; overrides the gin binding train.strategy.")
flags.DEFINE_enum("mixed_precision", None, ["float32", "mixed_bfloat16", "mixed_float16"],
                  "Keras dtype policy of the players; overrides build_model.mixed_precision.")
FLAGS = flags.FLAGS


def main(argv):
    del argv
    gin_files = FLAGS.gin_file or [launch.repo_path(DEFAULT_CONFIG)]
    model_dir = FLAGS.model_dir or launch.default_model_dir(gin_files)
    bindings = list(FLAGS.gin_bindings)
    if FLAGS.strategy:
        bindings.append(f"train.strategy = '{FLAGS.strategy}'")
    if FLAGS.mixed_precision:
        bindings.append(f"build_model.mixed_precision = '{FLAGS.mixed_precision}'")
    try:
        launch.run_training(gin_files, bindings, model_dir)
    except (ValueError, OSError, FloatingPointError) as error:
        launch.fail(error)


if __name__ == "__main__":
    app.run(main)
