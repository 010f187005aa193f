"""`rgan-benchmark` (tools/benchmark.py): times a gin-configured GAN's train steps on random data,
no download (`rgan_tf.benchmark`), or the evaluation classifiers' pass
(`rgan_tf.evaluation.throughput`).

    rgan-benchmark --gin_file=gin_configs/cifar10/dcgan_rgan.gin
    rgan-benchmark --gin_file=gin_configs/cifar10/dcgan.gin \
        --variants=plain,baseline,robust --compile_modes=auto,on,off --steps=5
    rgan-benchmark --gin_file=gin_configs/cifar10/dcgan.gin \
        --precisions=float32,mixed_bfloat16 --compile_modes=off
    rgan-benchmark --classifiers=digits,cifar10,inception --steps=3

Prints a table (one line per step variant, compile mode and precision: wall and CPU time,
images/s, GFLOP per step, GFLOP/s and share of the measured matmul peak), then one JSON line.
"""
import json

from absl import flags

from rgan_tf import benchmark
from rgan_tf.cli import common
from rgan_tf.evaluation import throughput

FLAGS = flags.FLAGS
DEFAULT_CONFIG = "gin_configs/cifar10/dcgan_rgan.gin"


def define_flags():
    flags.DEFINE_multi_string("gin_file", None, "Gin config file(s) or shipped config names; "
                              f"default {DEFAULT_CONFIG}.")
    flags.DEFINE_multi_string("gin_bindings", [], "Gin bindings, e.g. "
                              "'build_model.jit_compile=False'.")
    flags.DEFINE_list("variants", ["baseline", "robust"], "Steps to time: plain (keras-io-style "
                      "reference on the same networks), baseline (robust='off'), robust.")
    flags.DEFINE_list("compile_modes", ["auto"], "XLA settings to time: auto (the default "
                      "rule), on, off.")
    flags.DEFINE_list("precisions", [], "Keras dtype policies to time (float32, mixed_bfloat16, "
                      "mixed_float16); default: the config's.")
    flags.DEFINE_list("classifiers", [], "Instead of train steps, time the evaluation "
                      "classifier pass of these networks (digits, cifar10, inception) under "
                      "--compile_modes (default here: off,on), --batch_size (default 100) and "
                      "--steps batches.")
    flags.DEFINE_bool("flops", True, "Count each step's FLOPs and measure the matmul peak.")
    flags.DEFINE_integer("steps", 20, "Timed train steps per variant and round.")
    flags.DEFINE_integer("warmup", 3, "Untimed train steps per variant, twice: after all are built "
                         "(tracing, XLA compilation), then in one round of all variants.")
    flags.DEFINE_integer("repeats", 3, "Timed rounds, alternating the variants; the median is "
                         "kept.")
    flags.DEFINE_enum("strategy", "default", common.STRATEGIES, "tf.distribute strategy.")
    flags.DEFINE_integer("batch_size", None, "Global real images per critic update; default: "
                         "the config's train.batch_size, else 64.")
    flags.DEFINE_list("data", ["random"], "random: one constant batch of random images; real: "
                      "the config's data set as training reads it; random,real: a line of each, "
                      "timed alternately (the input pipeline's cost shows as the difference).")


def _classifiers():
    try:
        lines = throughput.classifier_throughput(
            FLAGS.classifiers,
            tuple(FLAGS.compile_modes) if FLAGS["compile_modes"].present else ("off", "on"),
            batch_size=FLAGS.batch_size or 100, batches=FLAGS.steps, warmup=FLAGS.warmup)
    except ValueError as error:
        common.fail(error)
    print(throughput.classifier_table(lines))
    print(json.dumps(lines), flush=True)


def main(argv):
    del argv
    if FLAGS.classifiers:
        _classifiers()
        return
    try:
        result = benchmark.run(FLAGS.gin_file or [DEFAULT_CONFIG], FLAGS.gin_bindings,
                               steps=FLAGS.steps, warmup=FLAGS.warmup, repeats=FLAGS.repeats,
                               strategy=FLAGS.strategy, batch_size=FLAGS.batch_size,
                               compile_modes=tuple(FLAGS.compile_modes),
                               precisions=tuple(FLAGS.precisions) or (None,),
                               variants=tuple(FLAGS.variants), count_flops=FLAGS.flops,
                               data=tuple(FLAGS.data))
    except (ValueError, FileNotFoundError) as error:
        common.fail(error)
    print(benchmark.table(result))
    print(json.dumps(result), flush=True)


def run():
    """The `rgan-benchmark` command."""
    common.run(define_flags, main)
