"""Facts about the machine a measurement runs on: the device, the CPU's bfloat16 instructions, how
busy other processes keep the cores, and peak memory (`tools/benchmark.py` prints them)."""
import os
import platform
import resource
import time

import tensorflow as tf


def device_description():
    """The accelerator the step runs on, in words ("CPU, 2 cores", or the GPU's name)."""
    gpus = tf.config.list_physical_devices("GPU")
    if gpus:
        details = tf.config.experimental.get_device_details(gpus[0])
        return f"{len(gpus)} x {details.get('device_name', 'GPU')}"
    cores = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count()
    return f"CPU ({platform.processor() or platform.machine()}), {cores} cores"


def cpu_bf16_features():
    """The CPU's bfloat16 instruction sets (from /proc/cpuinfo: avx512_bf16, amx_bf16), or []
    where the file is missing. Without them TensorFlow emulates bfloat16 arithmetic in float32
    and `mixed_bfloat16` only adds casts."""
    try:
        with open("/proc/cpuinfo") as handle:
            for line in handle:
                if line.startswith("flags"):
                    return sorted({flag for flag in line.split(":", 1)[1].split()
                                   if flag in ("avx512_bf16", "amx_bf16")})
    except OSError:
        pass
    return []


def cpu_seconds_snapshot():
    """(wall, CPU seconds of the whole machine, CPU seconds of this process): the busy time of
    the machine comes from /proc/stat (Linux; None elsewhere)."""
    machine = None
    try:
        with open("/proc/stat") as handle:
            fields = [int(x) for x in handle.readline().split()[1:]]
        idle = fields[3] + (fields[4] if len(fields) > 4 else 0)  # idle + iowait
        machine = (sum(fields[:8]) - idle) / os.sysconf("SC_CLK_TCK")
    except (OSError, ValueError, IndexError):
        pass
    own = os.times()
    return time.monotonic(), machine, own.user + own.system


def other_processes_share(before, after, cores):
    """The share of the machine's cores that other processes kept busy between two
    `cpu_seconds_snapshot`s: what tells a quiet machine from a shared one (the load average
    counts this benchmark too, and decays over minutes)."""
    if before[1] is None or after[1] is None:
        return None
    wall = max(after[0] - before[0], 1e-9)
    others = (after[1] - before[1]) - (after[2] - before[2])
    return max(0.0, others) / (wall * cores)


def peak_rss_mb():
    """Peak resident memory of this process so far, in MiB (Linux reports KiB)."""
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024.0


def gpu_peak_mb(reset=False):
    """Peak GPU memory in MiB since the last reset (None without a GPU); `reset=True` resets."""
    if not tf.config.list_physical_devices("GPU"):
        return None
    if reset:
        tf.config.experimental.reset_memory_stats("GPU:0")
        return None
    return tf.config.experimental.get_memory_info("GPU:0")["peak"] / 2 ** 20
