"""Times the train step of a gin-configured GAN and shows its distance to the machine's limit
and to a plain Keras step on the same networks, all in one process.

`tools/benchmark.py` is the launcher. For the configured model it builds, for every compile mode
("auto", "on", "off") and precision asked for, up to three steps on the same networks:
  plain     a minimal keras-io-style GAN step (`rgan_tf.plain_gan`), the peer reference;
  baseline  `RobustGAN(robust='off')`;
  robust    the config's robust mode ("both" for a baseline config).
It feeds them random images of the model's shape (nothing is downloaded; or, with `data="real"`,
the config's data set as training reads it; `data=("random", "real")` builds a line of each, so
that the input pipeline's cost is read within one process), warms each up once all are built
(tracing, compilation) and runs one untimed round of all, then times `steps` train steps per
line and round, alternating the lines for `repeats` rounds, and reports the median. A "step" is one
generator iteration with its `d_steps` critic updates, on `batch_size * d_steps` real images. A
round is timed from the start of its first step to the end of its last, without `fit`'s setup
and teardown. The cost floor of RGAN (`docs/method.md`) is one extra forward and backward pass
over each perturbed input.

Each line also gets the FLOPs of its step, counted from the traced step's graph
(`rgan_tf.flops`: matmuls and convolutions, forward and backward), its achieved GFLOP/s, and
that rate as a share of the machine's float32 (or bfloat16) matmul peak measured in the same
process. Wall time and the process's CPU time are both reported, with the load average: on a
machine shared with other work neither is the machine's speed (CPU time is the steadier of the
two, but TensorFlow's thread pools also burn CPU time waiting when the cores are oversubscribed).
"""
import itertools
import os
import statistics
import time

import keras
import numpy as np
import tensorflow as tf

from rgan_tf import compile_mode as compile_mode_lib
from rgan_tf import data as data_lib
from rgan_tf import config
from rgan_tf import distribute
from rgan_tf import flops
from rgan_tf import machine
from rgan_tf import plain_gan
from rgan_tf import training

TARGET_RATIO = 2.0
# Other processes busier than this share of the cores make the printed times not the machine's.
BUSY_SHARE = 0.1
VARIANTS = ("plain", "baseline", "robust")
DATA_KINDS = ("random", "real")
COMPILE_MODES = compile_mode_lib.NAMES


def _robust_mode():
    mode = config.query("RobustGAN.robust", "both")
    return "both" if mode == "off" else mode


def _real_images(model, global_batch):
    """The config's training data (`rgan_tf.data.dataset` as gin binds it), as training reads it."""
    return data_lib.dataset(batch_size=global_batch, seed=0,
                            with_labels=model.num_classes is not None)


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


def matmul_peak(dtype="float32", size=2048, seconds=2.0):
    """The machine's measured matmul rate: `[size, size] @ [size, size]` repeated for about
    `seconds`.

    Returns:
      `(gflops_wall, gflops_per_cpu_second)`: FLOPs per wall second and per second of this
      process's CPU time (the second divided by the core count is the rate per busy core).
    """
    a = tf.random.stateless_normal([size, size], [0, 0], dtype=tf.float32)
    a = tf.cast(a, dtype)
    product = tf.function(lambda x: tf.reduce_sum(tf.cast(tf.matmul(x, x), tf.float32)))
    product(a).numpy()
    count, wall, cpu = 0, time.perf_counter(), time.process_time()
    while time.perf_counter() - wall < seconds or count < 2:
        product(a).numpy()
        count += 1
    wall, cpu = time.perf_counter() - wall, time.process_time() - cpu
    work = 2.0 * size ** 3 * count / 1e9
    return work / wall, work / max(cpu, 1e-9)


def step_flops(model, batch):
    """FLOPs of one train step of `model` on `batch` (images, or (images, labels))."""
    if isinstance(batch, tuple):
        return flops.function_flops(lambda x, y: model.train_step((x, y)), *batch)
    return flops.function_flops(model.train_step, batch)


def _parse_gin(gin_files, gin_bindings, variant, robust_mode, mode, precision):
    # The line's settings first, so that a binding the caller gives wins (and is reported).
    bindings = [f"build_model.jit_compile = {COMPILE_MODES[mode]!r}"]
    if precision is not None:
        bindings.append(f"build_model.mixed_precision = '{precision}'")
    bindings += list(gin_bindings)
    bindings.append(f"RobustGAN.robust = '{'off' if variant != 'robust' else robust_mode}'")
    config.parse_gin(gin_files, bindings)


def run(gin_files, gin_bindings, steps=20, warmup=3, repeats=3, strategy="default",
        batch_size=None, compile_modes=("auto",), precisions=(None,),
        variants=("baseline", "robust"), count_flops=True, peak_seconds=2.0, data="random"):
    """Builds the configured GAN's steps (lines) and times them in one process.

    Args:
      gin_files: gin config files (parsed strictly, as the launchers do).
      gin_bindings: extra gin bindings.
      steps: timed train steps per line and round.
      warmup: untimed steps per line, twice: once each after all lines are built (tracing,
        compilation), then once more in a round of all lines.
      repeats: timed rounds; each line's step time is the median over rounds.
      strategy: `tf.distribute` strategy name (`rgan_tf.distribute.STRATEGIES`).
      batch_size: real images per critic update (global); None: `train.batch_size` or 64.
      compile_modes: any of "auto" (the default, `rgan_tf.compile_mode`), "on", "off".
      precisions: Keras dtype policies ("float32", "mixed_bfloat16", ...); None: the config's.
      variants: any of "plain", "baseline", "robust" (see the module docstring).
      count_flops: count each step's FLOPs and measure the matmul peak.
      peak_seconds: how long the matmul peak is measured, per dtype.
      data: "random" (one constant batch of random images), "real" (the config's data set,
        read as training reads it: shows what the input pipeline costs a step), or a sequence
        of both (a line of each per variant, timed alternately).

    Returns:
      A dict: `lines` (one dict per variant, compile mode, precision and data: `step_ms`, `cpu_ms`,
      `images_per_sec`, `jit_compile`, `gflop`, `gflops`, `gflops_cpu`, `peak_share`, ...),
      the matmul peaks, the load average before and after, the device, the settings; and, for
      the first compile mode, precision and data, the summary keys `baseline_step_ms`,
      `robust_step_ms`, `ratio`, `ratio_cpu`, `baseline_images_per_sec`, `xla`, ...
    """
    for name, value in (("steps", steps), ("warmup", warmup), ("repeats", repeats)):
        if not isinstance(value, int) or value < (0 if name == "warmup" else 1):
            raise ValueError(f"{name} must be an integer >= {0 if name == 'warmup' else 1}, "
                             f"got {value!r}.")
    for mode in compile_modes:
        if mode not in COMPILE_MODES:
            raise ValueError(f"Unknown compile mode {mode!r}; choose from {tuple(COMPILE_MODES)}.")
    for variant in variants:
        if variant not in VARIANTS:
            raise ValueError(f"Unknown variant {variant!r}; choose from {VARIANTS}.")
    datas = (data,) if isinstance(data, str) else tuple(data)
    for kind in datas:
        if kind not in DATA_KINDS:
            raise ValueError(f"data must be 'random' or 'real' (or both), got {kind!r}.")
    if not compile_modes or not variants or not precisions or not datas:
        raise ValueError("Name at least one compile mode, variant, precision and data kind.")
    load_before, cpu_before = os.getloadavg(), machine.cpu_seconds_snapshot()
    config.parse_gin(gin_files, gin_bindings)
    robust_mode = _robust_mode()
    config_precision = config.query("build_model.mixed_precision", None) or "float32"
    if batch_size is None:
        batch_size = config.query("train.batch_size", 64)
    if not isinstance(batch_size, int) or batch_size < 1:
        raise ValueError(f"batch_size must be an integer >= 1, got {batch_size!r}.")
    strategy = distribute.make_strategy(strategy)

    lines, flop_counts = [], {}
    for kind, precision, mode in itertools.product(datas, precisions, compile_modes):
        baseline = None
        for variant in ("baseline",) + tuple(v for v in variants if v != "baseline"):
            _parse_gin(gin_files, gin_bindings, variant, robust_mode, mode, precision)
            keras.utils.set_random_seed(0)
            with strategy.scope():
                model = training.build_model()
                if variant == "baseline":
                    baseline = model
                elif variant == "plain":
                    model = plain_gan.from_robust_gan(baseline, baseline.jit_compile)
            if variant not in variants:
                continue
            batches = (_random_images if kind == "random" else _real_images)(
                model, batch_size * model.d_steps)
            if count_flops and variant not in flop_counts:
                flop_counts[variant] = step_flops(model, next(iter(batches)))
            requested = getattr(getattr(model, "compile_mode", None), "requested",
                                baseline.compile_mode.requested)
            lines.append(dict(variant=variant, compile_mode=mode,
                              requested_jit_compile=requested,
                              jit_compile=bool(model.jit_compile),
                              precision=precision or config_precision, data_kind=kind,
                              model=model, data=batches, times=[], cpu_times=[]))

    # Warm-up once every line is built, then one untimed round of all: a line's first round
    # after another line had been built and traced ran up to a third slower than its later
    # rounds (2026-11-30, `step_ms_rounds` of multi-line runs), which made single-round lines
    # depend on their position.
    for line in lines:
        machine.gpu_peak_mb(reset=True)
        if warmup:
            line["model"].fit(line["data"], epochs=1, steps_per_epoch=warmup, verbose=0)
        line["gpu_peak"] = machine.gpu_peak_mb()
    if warmup:
        for line in lines:
            _time_steps(line["model"], line["data"], warmup)

    for _ in range(repeats):
        for line in lines:
            machine.gpu_peak_mb(reset=True)
            wall, cpu = _time_steps(line["model"], line["data"], steps)
            line["times"].append(wall)
            line["cpu_times"].append(cpu)
            peak = machine.gpu_peak_mb()
            if peak is not None:
                line["gpu_peak"] = max(line["gpu_peak"] or 0.0, peak)

    peaks = {}
    if count_flops:
        for precision in sorted({line["precision"] for line in lines}):
            dtype = "bfloat16" if "bfloat16" in precision else (
                "float16" if "float16" in precision else "float32")
            if dtype not in peaks:
                wall, cpu = matmul_peak(dtype, seconds=peak_seconds)
                peaks[dtype] = dict(gflops=wall, gflops_cpu=cpu)
    cores = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count()
    results = [_line_result(line, batch_size, flop_counts, peaks) for line in lines]

    result = dict(lines=results)
    first = {line["variant"]: line for line in results
             if line["compile_mode"] == compile_modes[0]
             and line["precision"] == results[0]["precision"] and line["data"] == datas[0]}
    for name, line in first.items():
        for key in ("step_ms", "cpu_ms", "images_per_sec", "jit_compile", "gpu_peak_memory_mb",
                    "step_ms_rounds", "gflop", "gflops", "peak_share"):
            result[f"{name}_{key}"] = line.get(key)
    if "baseline" in first and "robust" in first:
        result["ratio"] = round(first["robust"]["step_ms"] / first["baseline"]["step_ms"], 3)
        result["ratio_cpu"] = round(first["robust"]["cpu_ms"] / first["baseline"]["cpu_ms"], 3)
    result.update(
        target_ratio=TARGET_RATIO,
        robust_mode=robust_mode,
        peak_memory_mb=round(machine.peak_rss_mb(), 1),
        device=machine.device_description(),
        cores=cores,
        load_average_before=[round(x, 2) for x in load_before],
        load_average_after=[round(x, 2) for x in os.getloadavg()],
        other_processes_cpu_share=machine.other_processes_share(
            cpu_before, machine.cpu_seconds_snapshot(), cores),
        matmul_peak=peaks,
        onednn=os.environ.get("TF_ENABLE_ONEDNN_OPTS", "TensorFlow's default"),
        cpu_bf16=machine.cpu_bf16_features(),
        xla=all(line["jit_compile"] for line in first.values()),
        strategy=type(strategy).__name__,
        replicas=strategy.num_replicas_in_sync,
        mixed_precision=results[0]["precision"],
        data=datas[0] if len(datas) == 1 else list(datas),
        compile_modes=list(compile_modes),
        batch_size=batch_size,
        d_steps=lines[0]["model"].d_steps,
        steps=steps, warmup=warmup, repeats=repeats,
        gin_files=[os.path.relpath(path) for path in gin_files],
        gin_bindings=list(gin_bindings),
        tensorflow=tf.__version__, keras=keras.__version__,
    )
    return result


def _line_result(line, batch_size, flop_counts, peaks):
    seconds = statistics.median(line["times"])
    cpu_seconds = statistics.median(line["cpu_times"])
    model = line["model"]
    out = dict(
        variant=line["variant"], compile_mode=line["compile_mode"],
        requested_jit_compile=line["requested_jit_compile"], jit_compile=line["jit_compile"],
        precision=line["precision"], data=line["data_kind"],
        step_ms=round(1000 * seconds, 2), cpu_ms=round(1000 * cpu_seconds, 2),
        step_ms_rounds=[round(1000 * t, 2) for t in line["times"]],
        images_per_sec=round(batch_size * model.d_steps / seconds, 1),
        gpu_peak_memory_mb=(None if line["gpu_peak"] is None else round(line["gpu_peak"], 1)),
    )
    count = flop_counts.get(line["variant"])
    if count is not None:
        dtype = "bfloat16" if "bfloat16" in out["precision"] else (
            "float16" if "float16" in out["precision"] else "float32")
        # Unrounded: a tiny model's rates are small numbers.
        out.update(flop=count, gflop=count / 1e9, gflops=count / 1e9 / seconds,
                   gflops_cpu=count / 1e9 / cpu_seconds)
        peak = peaks.get(dtype)
        if peak:
            out.update(peak_share=out["gflops"] / peak["gflops"],
                       peak_share_cpu=out["gflops_cpu"] / peak["gflops_cpu"])
    return out


def table(result):
    """A human-readable summary of `run`'s result, one row per line."""
    data_kinds = result.get("data", "random")
    several_data = not isinstance(data_kinds, str)
    data_kinds = ",".join(data_kinds) if several_data else data_kinds
    labels = [line["variant"] + (f" {line['data']}" if several_data else "")
              for line in result["lines"]]
    width = max([10] + [len(label) + 1 for label in labels])
    header = (f"{'step':<{width}}{'XLA':<10}{'precision':<16}{'wall ms':>10}{'CPU ms':>10}"
              f"{'images/s':>10}{'GFLOP':>8}{'GFLOP/s':>9}{'%peak':>7}{'%peak CPU':>10}"
              f"{'GPU MB':>8}")
    rows = [header, "-" * len(header)]
    for label, line in zip(labels, result["lines"]):
        requested = {"auto": "auto", True: "on", False: "off"}[line["requested_jit_compile"]]
        xla = f"{requested}:{'on' if line['jit_compile'] else 'off'}"
        share = line.get("peak_share")
        share_cpu = line.get("peak_share_cpu")
        gpu = line["gpu_peak_memory_mb"]
        rows.append(
            f"{label:<{width}}{xla:<10}{line['precision']:<16}{line['step_ms']:>10.1f}"
            f"{line['cpu_ms']:>10.1f}{line['images_per_sec']:>10.1f}"
            f"{line.get('gflop', float('nan')):>8.2f}{line.get('gflops', float('nan')):>9.1f}"
            f"{'-' if share is None else f'{100 * share:.0f}%':>7}"
            f"{'-' if share_cpu is None else f'{100 * share_cpu:.0f}%':>10}"
            f"{'-' if gpu is None else f'{gpu:.0f}':>8}")
    rows.append("-" * len(header))
    if "ratio" in result:
        verdict = "within" if result["ratio"] <= result["target_ratio"] else "ABOVE"
        rows.append(f"ratio robust/baseline ({result['compile_modes'][0]}, "
                    f"{result['mixed_precision']}): {result['ratio']:.3f} wall, "
                    f"{result['ratio_cpu']:.3f} CPU time ({verdict} the "
                    f"{result['target_ratio']:.1f}x target; robust mode "
                    f"'{result['robust_mode']}')")
    for dtype, peak in result["matmul_peak"].items():
        rows.append(f"matmul peak ({dtype}, 2048^2): {peak['gflops']:.0f} GFLOP/s wall, "
                    f"{peak['gflops_cpu']:.0f} GFLOP per CPU second")
    load = result["load_average_before"][0], result["load_average_after"][0]
    others = result.get("other_processes_cpu_share")
    busy = max(load) > 0.5 * result["cores"] if others is None else others > BUSY_SHARE
    rows.append(f"device: {result['device']}; strategy {result['strategy']} x"
                f"{result['replicas']}; {data_kinds} data; batch "
                f"{result['batch_size']} x d_steps "
                f"{result['d_steps']}; oneDNN {result['onednn']}; CPU bfloat16 "
                f"{','.join(result['cpu_bf16']) or 'none'}; peak RSS "
                f"{result['peak_memory_mb']:.0f} MB; load "
                f"{load[0]:.1f} -> {load[1]:.1f}"
                + ("" if others is None else f"; other processes {100 * others:.0f}% of the cores")
                + (" (BUSY MACHINE: these times are not the machine's speed)" if busy else ""))
    return "\n".join(rows)
