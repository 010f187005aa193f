"""`rgan-train` (tools/train.py): trains a GAN from gin configs: flags, gin, one call into
`rgan_tf.training.train`.

    rgan-train                                                # RGAN(DCGAN) on digits, offline
    rgan-train --gin_file=gin_configs/cifar10/wgan_gp_rgan.gin \
        --gin_bindings='train.steps=200' --model_dir=runs/wgan_gp_rgan

Exit status: 0 trained (or nothing left to train); 1 an error (one `error:` line); 75 stopped by
SIGTERM or SIGINT after writing a checkpoint of the last step (run the same command to resume;
docs/workflow.md, "Interruptions").

`--gin_file` takes a path or a shipped config's name (`gin_configs/...`), from any directory.
"""
from absl import flags

from rgan_tf import config
from rgan_tf.cli import common

FLAGS = flags.FLAGS


def define_flags():
    flags.DEFINE_multi_string("gin_file", None, "Gin config file(s) or shipped config names; "
                              f"default {config.DEFAULT_CONFIG}.")
    flags.DEFINE_multi_string("gin_bindings", [], "Gin bindings, e.g. 'train.steps=200'.")
    flags.DEFINE_string("model_dir", None, "Run folder; default runs/<config name>.")
    flags.DEFINE_enum("strategy", None, common.STRATEGIES,
                      "tf.distribute strategy; overrides the gin binding train.strategy.")
    flags.DEFINE_enum("mixed_precision", None, ["float32", "mixed_bfloat16", "mixed_float16"],
                      "Keras dtype policy of the players; overrides build_model.mixed_precision.")


def main(argv):
    del argv
    gin_files = FLAGS.gin_file or [config.DEFAULT_CONFIG]
    model_dir = FLAGS.model_dir or config.default_model_dir(gin_files)
    bindings = list(FLAGS.gin_bindings)
    if FLAGS.strategy:
        bindings.append(f"train.strategy = '{FLAGS.strategy}'")
    if FLAGS.mixed_precision:
        bindings.append(f"build_model.mixed_precision = '{FLAGS.mixed_precision}'")
    try:
        config.run_training(gin_files, bindings, model_dir)
    except (ValueError, OSError, FloatingPointError) as error:
        common.fail(error)


def run():
    """The `rgan-train` command."""
    common.run(define_flags, main)
