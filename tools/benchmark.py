"""Times a gin-configured GAN's train steps against the machine's matmul peak and a plain Keras
step on the same networks (random data, no download).

    python tools/benchmark.py --gin_file=gin_configs/cifar10/dcgan_rgan.gin
    python tools/benchmark.py --gin_file=gin_configs/cifar10/dcgan.gin \
        --variants=plain,baseline,robust --compile_modes=auto,on,off --steps=5
    python tools/benchmark.py --gin_file=gin_configs/cifar10/dcgan.gin \
        --precisions=float32,mixed_bfloat16 --compile_modes=off
    python tools/benchmark.py --classifiers=digits,cifar10,inception --steps=3

Prints a table (one line per step variant, compile mode and precision: wall and CPU time,
images/s, GFLOP per step, GFLOP/s and share of the measured matmul peak), then one JSON line;
see `rgan_tf.benchmark`.
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
flags.DEFINE_multi_string("gin_bindings", [], "Gin bindings, e.g. 'train.batch_size=32'.")
flags.DEFINE_list("variants", ["baseline", "robust"], "Steps to time: plain (keras-io-style "
                  "reference on the same networks), baseline (robust='off'), robust.")
flags.DEFINE_list("compile_modes", ["auto"], "XLA settings to time: auto (the default rule), "
                  "on, off.")
flags.DEFINE_list("precisions", [], "Keras dtype policies to time (float32, mixed_bfloat16, "
                  "mixed_float16); default: the config's.")
flags.DEFINE_list("classifiers", [], "Instead of train steps, time the evaluation classifier "
                  "pass of these networks (digits, cifar10, inception) under --compile_modes "
                  "(default here: off,on), --batch_size (default 100) and --steps batches.")
flags.DEFINE_bool("flops", True, "Count each step's FLOPs and measure the matmul peak.")
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
    if FLAGS.classifiers:
        try:
            lines = benchmark.classifier_throughput(
                FLAGS.classifiers,
                tuple(FLAGS.compile_modes) if FLAGS["compile_modes"].present else ("off", "on"),
                batch_size=FLAGS.batch_size or 100, batches=FLAGS.steps, warmup=FLAGS.warmup)
        except ValueError as error:
            launch.fail(error)
        print(benchmark.classifier_table(lines))
        print(json.dumps(lines), flush=True)
        return
    gin_files = FLAGS.gin_file or [launch.repo_path(DEFAULT_CONFIG)]
    try:
        result = benchmark.run(gin_files, FLAGS.gin_bindings, steps=FLAGS.steps,
                               warmup=FLAGS.warmup, repeats=FLAGS.repeats,
                               strategy=FLAGS.strategy, batch_size=FLAGS.batch_size,
                               compile_modes=tuple(FLAGS.compile_modes),
                               precisions=tuple(FLAGS.precisions) or (None,),
                               variants=tuple(FLAGS.variants), count_flops=FLAGS.flops)
    except (ValueError, FileNotFoundError) as error:
        launch.fail(error)
    print(benchmark.table(result))
    print(json.dumps(result), flush=True)


if __name__ == "__main__":
    app.run(main)
