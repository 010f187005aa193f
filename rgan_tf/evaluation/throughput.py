"""How fast the evaluation classifiers score images, per compile mode (`rgan-benchmark
--classifiers=...`): the classifier pass is what IS/FID evaluation spends its time on.

The networks have random weights (only their speed counts, nothing is downloaded): the digits and
CIFAR-10 domain classifiers (`rgan_tf.evaluation.domain_classifiers.domain_classifier`, 32x32)
and an InceptionV3-shaped network at 299x299 (`keras.applications.InceptionV3(weights=None)`).
Each is run in inference mode, one batch a call, after `warmup` untimed calls; the FLOPs of a
call are counted from its traced graph (`rgan_tf.flops`).
"""
import time

import keras
import tensorflow as tf

from rgan_tf import compile_mode as compile_mode_lib
from rgan_tf import flops
from rgan_tf.evaluation import domain_classifiers

CLASSIFIERS = ("digits", "cifar10", "inception")


def _classifier_model(name):
    """A classifier of the shape evaluation uses, with random weights."""
    if name == "digits":
        return domain_classifiers.domain_classifier(32, 1, 10)
    if name == "cifar10":
        return domain_classifiers.domain_classifier(32, 3, 10)
    if name == "inception":
        return keras.applications.InceptionV3(weights=None, classes=1008,
                                              classifier_activation=None)
    raise ValueError(f"Unknown classifier {name!r}; choose from {CLASSIFIERS}.")


def classifier_throughput(names=CLASSIFIERS, compile_modes=("off", "on"), batch_size=100,
                          batches=3, warmup=1):
    """Images per second of the classifier pass of evaluation (inference, one batch a call).

    Args:
      names: any of `CLASSIFIERS`.
      compile_modes: any of "auto" (`rgan_tf.compile_mode`'s rule), "on", "off".
      batch_size: images per call.
      batches: timed calls per classifier and mode.
      warmup: untimed calls first (compilation).

    Returns:
      A list of dicts `classifier, compile_mode, jit_compile, images_per_sec,
      cpu_ms_per_image, gflop_per_image, gflops, image_shape, batch_size`.
    """
    for mode in compile_modes:
        if mode not in compile_mode_lib.NAMES:
            raise ValueError(f"Unknown compile mode {mode!r}; choose from "
                             f"{tuple(compile_mode_lib.NAMES)}.")
    lines = []
    for name in names:
        model = _classifier_model(name)
        shape = tuple(model.inputs[0].shape[1:])
        images = tf.random.stateless_uniform((batch_size,) + shape, [0, 0], -1.0, 1.0)
        count = flops.function_flops(lambda x: model(x, training=False), images)
        for mode in compile_modes:
            jit = compile_mode_lib.resolve(compile_mode_lib.NAMES[mode]).jit_compile
            run = tf.function(lambda x: model(x, training=False), jit_compile=jit)
            for _ in range(warmup):
                tf.nest.map_structure(lambda t: t.numpy(), run(images))
            wall, cpu = time.perf_counter(), time.process_time()
            for _ in range(batches):
                tf.nest.map_structure(lambda t: t.numpy(), run(images))
            wall, cpu = time.perf_counter() - wall, time.process_time() - cpu
            lines.append(dict(classifier=name, compile_mode=mode, jit_compile=jit,
                              image_shape=list(shape), batch_size=batch_size,
                              images_per_sec=batch_size * batches / wall,
                              cpu_ms_per_image=1000 * cpu / (batch_size * batches),
                              gflop_per_image=count / 1e9 / batch_size,
                              gflops=count / 1e9 * batches / wall))
    return lines


def classifier_table(lines):
    """A human-readable table of `classifier_throughput`'s lines."""
    header = (f"{'classifier':<12}{'input':<14}{'XLA':<10}{'images/s':>10}{'CPU ms/img':>12}"
              f"{'GFLOP/img':>11}{'GFLOP/s':>9}")
    rows = [header, "-" * len(header)]
    for line in lines:
        xla = f"{line['compile_mode']}:{'on' if line['jit_compile'] else 'off'}"
        rows.append(f"{line['classifier']:<12}{'x'.join(map(str, line['image_shape'])):<14}"
                    f"{xla:<10}{line['images_per_sec']:>10.1f}{line['cpu_ms_per_image']:>12.2f}"
                    f"{line['gflop_per_image']:>11.3f}{line['gflops']:>9.1f}")
    return "\n".join(rows)
