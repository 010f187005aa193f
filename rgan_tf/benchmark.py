"""Times the train step of a gin-configured GAN, baseline against robust, in one process.

`tools/benchmark.py` is the launcher. For the configured model it builds two variants with
`rgan_tf.training.build_model` - the baseline (`RobustGAN.robust = 'off'`) and the robust one (the
config's robust mode, or "both" for a baseline config) - feeds them random images of the model's
image shape (nothing is downloaded), warms each up (XLA compilation), then times `steps` train
steps per round, alternating the variants for `repeats` rounds, and reports the median. A "step"
is one generator iteration with its `d_steps` critic updates, on `batch_size * d_steps` real
images. A round is timed from the start of its first step to the end of its last, without
`fit`'s setup and teardown. The cost floor of RGAN (`docs/method.md`) is one extra forward and
backward pass over each perturbed input.
Wall time and the process's CPU time are both reported: on a machine shared with other work the
CPU-time ratio is the steadier estimate.
"""
import os
import platform
import resource
import statistics
import time

import keras
import numpy as np
import tensorflow as tf

from rgan_tf import config
from rgan_tf import distribute
from rgan_tf import training

TARGET_RATIO = 2.0


def _robust_mode():
    mode = config.query("RobustGAN.robust", "both")
    return "both" if mode == "off" else mode


def device_description():
    """The accelerator the step runs on, in words ("CPU, 2 cores", or the GPU's name)."""
    gpus = tf.config.list_physical_devices("GPU")
    if gpus:
        details = tf.config.experimental.get_device_details(gpus[0])
        return f"{len(gpus)} x {details.get('device_name', 'GPU')}"
    cores = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count()
    return f"CPU ({platform.processor() or platform.machine()}), {cores} cores"


def peak_rss_mb():
    """Peak resident memory of this process so far, in MiB (Linux reports KiB)."""
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024.0


def _gpu_peak_mb(reset=False):
    if not tf.config.list_physical_devices("GPU"):
        return None
    if reset:
        tf.config.experimental.reset_memory_stats("GPU:0")
        return None
    return tf.config.experimental.get_memory_info("GPU:0")["peak"] / 2 ** 20


def _random_images(model, global_batch, seed=0):
    images = np.random.default_rng(seed).uniform(
        -1, 1, (global_batch,) + model.image_shape).astype(np.float32)
    data = tf.data.Dataset.from_tensors(images)
    if model.num_classes is not None:
        labels = np.arange(global_batch, dtype=np.int32) % model.num_classes
        data = tf.data.Dataset.from_tensors((images, labels))
    # One constant batch: nothing to tune. tf.data's autotuning thread would only add seconds of
    # waiting when `fit` drops the iterator at the end of each timed round.
    options = tf.data.Options()
    options.autotune.enabled = False
    return data.repeat().with_options(options)


class _StepClock(keras.callbacks.Callback):
    """Wall and CPU clocks from the start of the first timed batch to the end of the last, so
    that `fit`'s own setup and teardown (iterator creation and deletion) are not counted. A
    custom callback makes `fit` hand it concrete logs, i.e. after the step has finished."""

    def on_train_batch_begin(self, batch, logs=None):
        if batch == 0:
            self.start = (time.perf_counter(), time.process_time())

    def on_train_batch_end(self, batch, logs=None):
        self.end = (time.perf_counter(), time.process_time())


def _time_steps(model, data, steps):
    """`(wall, cpu)` seconds per train step over `steps` steps of `fit`. CPU time counts every
    thread of this process; on a machine shared with other work it is steadier than wall time."""
    clock = _StepClock()
    model.fit(data, epochs=1, steps_per_epoch=steps, verbose=0, callbacks=[clock])
    return ((clock.end[0] - clock.start[0]) / steps, (clock.end[1] - clock.start[1]) / steps)


def run(gin_files, gin_bindings, steps=20, warmup=3, repeats=3, strategy="default",
        batch_size=None):
    """Builds the baseline and robust variants of the configured GAN and times their steps.

    Args:
      gin_files: gin config files (parsed strictly, as the launchers do).
      gin_bindings: extra gin bindings.
      steps: timed train steps per variant and round.
      warmup: untimed steps per variant first (compilation).
      repeats: timed rounds; each variant's step time is the median over rounds.
      strategy: `tf.distribute` strategy name (`rgan_tf.distribute.STRATEGIES`).
      batch_size: real images per critic update (global); None: `train.batch_size` or 64.

    Returns:
      A dict with `baseline_step_ms`, `robust_step_ms`, `ratio`, `baseline_images_per_sec`,
      `robust_images_per_sec`, `peak_memory_mb` (process RSS peak), `gpu_peak_memory_mb`
      (per variant, on GPU), the device, the XLA setting of each variant, and the settings.
    """
    for name, value in (("steps", steps), ("warmup", warmup), ("repeats", repeats)):
        if not isinstance(value, int) or value < (0 if name == "warmup" else 1):
            raise ValueError(f"{name} must be an integer >= {0 if name == 'warmup' else 1}, "
                             f"got {value!r}.")
    config.parse_gin(gin_files, gin_bindings)
    robust_mode = _robust_mode()
    if batch_size is None:
        batch_size = config.query("train.batch_size", 64)
    if not isinstance(batch_size, int) or batch_size < 1:
        raise ValueError(f"batch_size must be an integer >= 1, got {batch_size!r}.")
    strategy = distribute.make_strategy(strategy)

    variants = {}
    for name, mode in (("baseline", "off"), ("robust", robust_mode)):
        config.parse_gin(gin_files, list(gin_bindings) + [f"RobustGAN.robust = '{mode}'"])
        keras.utils.set_random_seed(0)
        with strategy.scope():
            model = training.build_model()
        data = _random_images(model, batch_size * model.d_steps)
        _gpu_peak_mb(reset=True)
        if warmup:
            model.fit(data, epochs=1, steps_per_epoch=warmup, verbose=0)
        variants[name] = dict(model=model, data=data, times=[], cpu_times=[],
                              gpu_peak=_gpu_peak_mb())
    mixed_precision = config.query("build_model.mixed_precision", None)

    for _ in range(repeats):
        for variant in variants.values():
            _gpu_peak_mb(reset=True)
            wall, cpu = _time_steps(variant["model"], variant["data"], steps)
            variant["times"].append(wall)
            variant["cpu_times"].append(cpu)
            peak = _gpu_peak_mb()
            if peak is not None:
                variant["gpu_peak"] = max(variant["gpu_peak"] or 0.0, peak)

    result = {}
    for name, variant in variants.items():
        seconds = statistics.median(variant["times"])
        model = variant["model"]
        result[f"{name}_step_ms"] = round(1000 * seconds, 2)
        result[f"{name}_images_per_sec"] = round(batch_size * model.d_steps / seconds, 1)
        result[f"{name}_jit_compile"] = bool(model.jit_compile)
        result[f"{name}_gpu_peak_memory_mb"] = (None if variant["gpu_peak"] is None
                                                else round(variant["gpu_peak"], 1))
        result[f"{name}_step_ms_rounds"] = [round(1000 * t, 2) for t in variant["times"]]
        result[f"{name}_cpu_ms"] = round(1000 * statistics.median(variant["cpu_times"]), 2)
    result["ratio"] = round(result["robust_step_ms"] / result["baseline_step_ms"], 3)
    result["ratio_cpu"] = round(result["robust_cpu_ms"] / result["baseline_cpu_ms"], 3)
    result.update(
        target_ratio=TARGET_RATIO,
        robust_mode=robust_mode,
        peak_memory_mb=round(peak_rss_mb(), 1),
        device=device_description(),
        xla=bool(variants["baseline"]["model"].jit_compile
                 and variants["robust"]["model"].jit_compile),
        strategy=type(strategy).__name__,
        replicas=strategy.num_replicas_in_sync,
        mixed_precision=mixed_precision or "float32",
        batch_size=batch_size,
        d_steps=variants["baseline"]["model"].d_steps,
        steps=steps, warmup=warmup, repeats=repeats,
        gin_files=[os.path.relpath(path) for path in gin_files],
        gin_bindings=list(gin_bindings),
        tensorflow=tf.__version__, keras=keras.__version__,
    )
    return result


def table(result):
    """A human-readable summary of `run`'s result, one row per variant."""
    header = (f"{'variant':<10}{'step ms':>10}{'CPU ms':>10}{'images/s':>11}{'XLA':>6}"
              f"{'GPU peak MB':>13}")
    rows = [header, "-" * len(header)]
    for name in ("baseline", "robust"):
        gpu = result[f"{name}_gpu_peak_memory_mb"]
        rows.append(f"{name:<10}{result[f'{name}_step_ms']:>10.1f}"
                    f"{result[f'{name}_cpu_ms']:>10.1f}"
                    f"{result[f'{name}_images_per_sec']:>11.1f}"
                    f"{'on' if result[f'{name}_jit_compile'] else 'off':>6}"
                    f"{'-' if gpu is None else f'{gpu:.0f}':>13}")
    verdict = "within" if result["ratio"] <= result["target_ratio"] else "ABOVE"
    rows += ["-" * len(header),
             f"ratio robust/baseline: {result['ratio']:.3f} wall, {result['ratio_cpu']:.3f} CPU "
             f"time ({verdict} the {result['target_ratio']:.1f}x cost floor target; robust "
             f"mode '{result['robust_mode']}')",
             f"device: {result['device']}; strategy {result['strategy']} x{result['replicas']}; "
             f"{result['mixed_precision']}; batch {result['batch_size']} x d_steps "
             f"{result['d_steps']}; peak RSS {result['peak_memory_mb']:.0f} MB"]
    return "\n".join(rows)
