"""Times the baseline and robust train steps of a gin-configured GAN (random data, no download).

    python tools/benchmark.py --gin_file=gin_configs/cifar10/dcgan_rgan.gin
    python tools/benchmark.py --gin_file=gin_configs/cifar10/wgan_gp_rgan.gin --steps=10

Prints a table, then one JSON line (`baseline_step_ms`, `robust_step_ms`, `ratio`, images per
second, peak memory, device, XLA, ...); see `rgan_tf.benchmark`.
"""
import json
import os
import sys

from absl import app
from absl import flags

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
from rgan_tf import launch  # noqa: E402

DEFAULT_CONFIG = "gin_configs/cifar10/dcgan_rgan.gin"

flags.DEFINE_multi_string("gin_file", None, f"Gin config file(s); default {DEFAULT_CONFIG}.")
flags.DEFINE_multi_string("gin_bindings", [], "Gin bindings, e.g. 'build_model.jit_compile=False'.")
flags.DEFINE_integer("steps", 20, "Timed train steps per variant and round.")
flags.DEFINE_integer("warmup", 3, "Untimed train steps per variant first (XLA compilation).")
flags.DEFINE_integer("repeats", 3, "Timed rounds, alternating the variants; the median is kept.")
flags.DEFINE_enum("strategy", "default", ["default", "mirrored", "multi_worker", "tpu"],
                  "tf.distribute strategy.")
flags.DEFINE_integer("batch_size", None, "Global real images per critic update; default: the "
                     "config's train.batch_size, else 64.")
FLAGS = flags.FLAGS


def main(argv):
    del argv
    from rgan_tf import benchmark
    gin_files = FLAGS.gin_file or [launch.repo_path(DEFAULT_CONFIG)]
    try:
        result = benchmark.run(gin_files, FLAGS.gin_bindings, steps=FLAGS.steps,
                               warmup=FLAGS.warmup, repeats=FLAGS.repeats,
                               strategy=FLAGS.strategy, batch_size=FLAGS.batch_size)
    except (ValueError, FileNotFoundError) as error:
        launch.fail(error)
    print(benchmark.table(result))
    print(json.dumps(result), flush=True)


if __name__ == "__main__":
    app.run(main)
