"""`rgan-benchmark` (tools/benchmark.py): times the baseline and robust train steps of a
gin-configured GAN on random data, no download (`rgan_tf.benchmark`).

    rgan-benchmark --gin_file=gin_configs/cifar10/dcgan_rgan.gin
    rgan-benchmark --gin_file=gin_configs/cifar10/wgan_gp_rgan.gin --steps=10

Prints a table, then one JSON line (`baseline_step_ms`, `robust_step_ms`, `ratio`, images per
second, peak memory, device, XLA, ...).
"""
import json

from absl import flags

from rgan_tf import benchmark
from rgan_tf.cli import common

FLAGS = flags.FLAGS
DEFAULT_CONFIG = "gin_configs/cifar10/dcgan_rgan.gin"


def define_flags():
    flags.DEFINE_multi_string("gin_file", None, "Gin config file(s) or shipped config names; "
                              f"default {DEFAULT_CONFIG}.")
    flags.DEFINE_multi_string("gin_bindings", [], "Gin bindings, e.g. "
                              "'build_model.jit_compile=False'.")
    flags.DEFINE_integer("steps", 20, "Timed train steps per variant and round.")
    flags.DEFINE_integer("warmup", 3, "Untimed train steps per variant first (XLA compilation).")
    flags.DEFINE_integer("repeats", 3, "Timed rounds, alternating the variants; the median is "
                         "kept.")
    flags.DEFINE_enum("strategy", "default", common.STRATEGIES, "tf.distribute strategy.")
    flags.DEFINE_integer("batch_size", None, "Global real images per critic update; default: "
                         "the config's train.batch_size, else 64.")


def main(argv):
    del argv
    try:
        result = benchmark.run(FLAGS.gin_file or [DEFAULT_CONFIG], FLAGS.gin_bindings,
                               steps=FLAGS.steps, warmup=FLAGS.warmup, repeats=FLAGS.repeats,
                               strategy=FLAGS.strategy, batch_size=FLAGS.batch_size)
    except (ValueError, FileNotFoundError) as error:
        common.fail(error)
    print(benchmark.table(result))
    print(json.dumps(result), flush=True)


def run():
    """The `rgan-benchmark` command."""
    common.run(define_flags, main)
