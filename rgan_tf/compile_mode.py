"""Which compile mode a train step gets: `jit_compile="auto"` resolved per device kind.

XLA is not uniformly faster. Measured on this project's 2-core CPU with TensorFlow's oneDNN
kernels (README, "Compile mode"; `tools/benchmark.py --compile_modes=on,off`), the baseline step
of every CIFAR-10, CelebA and digits config timed both ways is faster without XLA: the DCGANs
and WGAN-GP CNNs 4-10x, SN-DCGAN 1.4x, the ResNets 1.1-1.5x. On STL-10's 48-pixel WGAN-GP,
ResNets and BWGAN the two modes were within 4% of each other in alternating rounds, off the
faster on the WGAN-GP. An earlier rule kept XLA on for CPU models without 5x5 kernels over 4x4
maps (DCGAN's); the ResNet and SN-DCGAN timings refuted it, so on CPU "auto" is simply off.

`resolve("auto")`:
  - several replicas on CPUs/GPUs: XLA off (`rgan_tf.distribute.xla_supported`);
  - GPU or TPU: XLA on (not measured here: no GPU);
  - CPU: XLA off.
A rule by device kind covers user configs and new image sizes (a per-config table would not) and
needs no start-up probe (which would compile the step twice, a minute for a ResNet on two cores,
and time it on a machine whose load it cannot control). `True` or `False` force either mode.
"""
import collections

import tensorflow as tf
from absl import logging

from rgan_tf import distribute

AUTO = "auto"
JIT_COMPILE_MODES = (AUTO, True, False)
#: The tools' names of the three modes (`--compile_modes=auto,on,off`).
NAMES = {"auto": AUTO, "on": True, "off": False}

CompileMode = collections.namedtuple("CompileMode", ["jit_compile", "requested", "device",
                                                     "reason"])
CompileMode.__doc__ = """The resolved compile mode of a train step.

Attributes:
  jit_compile: bool, whether the step is compiled with XLA.
  requested: what was asked for ("auto", True or False).
  device: the device kind the step runs on ("CPU", "GPU" or "TPU").
  reason: one sentence saying why (for logs and the run folder).
"""


def check_jit_compile(jit_compile):
    """Raises `ValueError` unless `jit_compile` is "auto", True or False."""
    if not (jit_compile == AUTO or isinstance(jit_compile, bool)):
        raise ValueError(f"jit_compile must be 'auto', True or False, got {jit_compile!r}.")


def device_kind(strategy=None):
    """"TPU", "GPU" or "CPU": the kind of device the strategy's replicas run on.

    Args:
      strategy: a `tf.distribute.Strategy`; None: the current one.
    """
    strategy = strategy or tf.distribute.get_strategy()
    if isinstance(strategy, (tf.distribute.TPUStrategy, tf.distribute.experimental.TPUStrategy)):
        return "TPU"
    try:
        workers = strategy.extended.worker_devices
    except RuntimeError:  # the default strategy names no devices
        # Outside any strategy TensorFlow places the step on a GPU when there is one.
        return "GPU" if tf.config.list_logical_devices("GPU") else "CPU"
    kinds = {(tf.DeviceSpec.from_string(name).device_type or "").upper() for name in workers}
    if "GPU" in kinds:
        return "GPU"
    return "CPU"


def resolve(jit_compile, strategy=None):
    """Resolves a requested compile mode to XLA on or off under `strategy`.

    Args:
      jit_compile: "auto", True or False. True is still turned off where the strategy cannot
        compile the step (`rgan_tf.distribute.xla_supported`).
      strategy: a `tf.distribute.Strategy`; None: the current one.

    Returns:
      A `CompileMode`.

    Raises:
      ValueError: `jit_compile` is not "auto", True or False.
    """
    check_jit_compile(jit_compile)
    strategy = strategy or tf.distribute.get_strategy()
    device = device_kind(strategy)
    if jit_compile is False:
        return CompileMode(False, jit_compile, device, "XLA off: requested.")
    if not distribute.xla_supported(strategy):
        return CompileMode(False, jit_compile, device,
                           f"XLA off: {type(strategy).__name__} with "
                           f"{strategy.num_replicas_in_sync} replicas cannot compile the step "
                           "(see rgan_tf.distribute).")
    if jit_compile is True:
        return CompileMode(True, jit_compile, device, "XLA on: requested.")
    if device != "CPU":
        return CompileMode(True, jit_compile, device, f"XLA on: auto on {device}.")
    return CompileMode(False, jit_compile, device,
                       "XLA off: auto on CPU, where TensorFlow's oneDNN kernels were faster "
                       "than XLA on every config timed (README, 'Compile mode').")


def log(mode):
    """Logs the resolved mode in one line (a warning when XLA was asked for but is off)."""
    report = logging.warning if mode.requested is True and not mode.jit_compile else logging.info
    report("Compile mode on %s (requested %r): %s", mode.device, mode.requested, mode.reason)


def as_dict(mode):
    """The mode as a JSON-ready dict (what `rgan_tf.training.train` writes to the run folder)."""
    return dict(mode._asdict())
