"""What an evaluation costs: wall time, CPU time and peak memory of a block (`ResourceMeter`)."""
import os
import resource
import threading
import time

import tensorflow as tf


class ResourceMeter:
    """Wall time and peak resident memory of a block (RSS sampled every `interval` seconds), and
    the GPU's peak memory when there is one.

    Use as a context manager; `fields(prefix)` gives `{prefix}_seconds` (wall),
    `{prefix}_cpu_seconds` (CPU time of all the process's threads: on a shared machine, the part
    of the wall time that does not depend on the other jobs), `{prefix}_peak_rss_mib` (the
    process's largest resident set seen during the block, all of TensorFlow included) and
    `{prefix}_peak_gpu_mib` (TensorFlow's allocator peak on GPU:0, if any).
    """

    def __init__(self, interval=0.02):
        self.interval = interval
        self.seconds = None
        self.cpu_seconds = None
        self.peak_rss = 0
        self.peak_gpu = None
        self._stop = threading.Event()
        self._thread = None
        self._start = None

    def __enter__(self):
        self._gpu = bool(tf.config.list_logical_devices("GPU"))
        if self._gpu:
            try:
                tf.config.experimental.reset_memory_stats("GPU:0")
            except (ValueError, RuntimeError):
                self._gpu = False
        self.peak_rss = _rss_bytes()
        self._stop.clear()
        self._thread = threading.Thread(target=self._sample, daemon=True)
        self._thread.start()
        self._start = time.perf_counter()
        self._cpu_start = time.process_time()
        return self

    def _sample(self):
        while not self._stop.wait(self.interval):
            self.peak_rss = max(self.peak_rss, _rss_bytes())

    def __exit__(self, *exc_info):
        self.seconds = time.perf_counter() - self._start
        self.cpu_seconds = time.process_time() - self._cpu_start
        self._stop.set()
        self._thread.join()
        self.peak_rss = max(self.peak_rss, _rss_bytes())
        if self._gpu:
            self.peak_gpu = tf.config.experimental.get_memory_info("GPU:0")["peak"]
        return False

    def fields(self, prefix="eval"):
        result = {f"{prefix}_seconds": round(self.seconds, 3),
                  f"{prefix}_cpu_seconds": round(self.cpu_seconds, 3),
                  f"{prefix}_peak_rss_mib": round(self.peak_rss / 2**20, 1)}
        if self.peak_gpu is not None:
            result[f"{prefix}_peak_gpu_mib"] = round(self.peak_gpu / 2**20, 1)
        return result


def _rss_bytes():
    """The process's resident set size now (Linux /proc), else its peak so far."""
    try:
        with open("/proc/self/statm") as handle:
            return int(handle.read().split()[1]) * os.sysconf("SC_PAGE_SIZE")
    except (OSError, ValueError, IndexError):
        return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024


