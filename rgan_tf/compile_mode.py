"""Which compile mode a train step gets: `jit_compile="auto"` resolved per device kind and model.

XLA is not uniformly faster. Measured on this project's 2-core CPU (README, "Compile mode"):
the DCGAN step of `cifar10/dcgan.gin` runs about 10x slower with XLA. With oneDNN's kernels the
SN-DCGAN step of `cifar10/sngan.gin` is also faster without XLA (1.4x), which this rule does not
see yet. The cause of the large slowdown is narrow and measurable layer by layer: XLA's CPU
backend is 4-7x slower than TensorFlow's own kernels on a convolution whose (dilated) kernel is
larger than the feature map it slides over - e.g. DCGAN's 5x5 transposed convolution out of the
4x4 base, whose forward pass slides over the 4x4 input, or its last 5x5 stride-2 convolution
down to 4x4, whose input gradient slides the kernel over the 4x4 output gradient. With kernels
no larger than the maps (ResNet's 3x3 on 8x8 and up, 5x5 on 5x5 and up), XLA's fusion wins.

So `resolve("auto", ...)` is a rule, not a table of configs nor a start-up probe:
  - several replicas on CPUs/GPUs: XLA off (`rgan_tf.distribute.xla_supported`);
  - GPU or TPU: XLA on (XLA's GPU/TPU convolutions have no such gap; not measured here);
  - CPU: XLA on unless a convolution of either player is XLA-slow as above.
A rule covers user configs and new image sizes (a table would not), reads only layer shapes (a
probe would compile the step twice - a minute for the ResNet step on two cores - and time it
on a machine whose load it cannot control). `True` or `False` force either mode.
"""
import collections

import keras
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


def _convolution(layer):
    """The convolution a layer computes (the layer itself or the one a wrapper such as
    `SpectralNormalization` holds), or None."""
    inner = getattr(layer, "layer", None)
    for candidate in (layer, inner):
        if candidate is not None and hasattr(candidate, "kernel_size") \
                and hasattr(candidate, "strides"):
            return candidate
    return None


def _spatial(shape, data_format):
    dims = tuple(shape[1:-1]) if data_format != "channels_first" else tuple(shape[2:])
    return dims


def _functional_layers(model):
    """Every layer of a functional model's graph, nested models included."""
    for layer in getattr(model, "layers", []):
        if isinstance(layer, keras.Model):
            yield from _functional_layers(layer)
        else:
            yield layer


def slow_xla_convolutions(model):
    """The convolutions of `model` that XLA's CPU backend runs far slower than TensorFlow.

    A convolution is flagged when, along some spatial axis, its dilated kernel
    (`(k - 1) * dilation + 1`) is larger than the smaller of its input's and output's sizes:
    the forward pass (input) or the input gradient (output) then slides the kernel over a map
    smaller than itself. Shapes come from the model's functional graph (every call of a layer);
    a convolution inside a subclassed layer is not seen.

    Args:
      model: a built functional `keras.Model`.

    Returns:
      A list of strings, one per flagged convolution call, e.g.
      "conv2d_transpose: 5x5 kernel over a 4x4 map".
    """
    found = []
    for layer in _functional_layers(model):
        conv = _convolution(layer)
        if conv is None:
            continue
        data_format = getattr(conv, "data_format", "channels_last")
        dilation = getattr(conv, "dilation_rate", (1,) * len(conv.kernel_size))
        kernel = tuple((k - 1) * d + 1 for k, d in zip(conv.kernel_size, dilation))
        for node in getattr(layer, "_inbound_nodes", []):
            if not node.input_tensors or not node.output_tensors:
                continue
            sizes = zip(_spatial(node.input_tensors[0].shape, data_format),
                        _spatial(node.output_tensors[0].shape, data_format))
            smallest = tuple(min(i, o) if i is not None and o is not None else None
                             for i, o in sizes)
            if any(m is not None and k > m for k, m in zip(kernel, smallest)):
                text = (f"{layer.name}: {'x'.join(map(str, kernel))} kernel over a "
                        f"{'x'.join(map(str, smallest))} map")
                if text not in found:
                    found.append(text)
    return found


def resolve(jit_compile, models, strategy=None):
    """Resolves a requested compile mode to XLA on or off for `models` under `strategy`.

    Args:
      jit_compile: "auto", True or False. True is still turned off where the strategy cannot
        compile the step (`rgan_tf.distribute.xla_supported`).
      models: the players (built functional `keras.Model`s) the step runs.
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
    slow = [entry for model in models for entry in slow_xla_convolutions(model)]
    if slow:
        shown = "; ".join(slow[:3]) + ("; ..." if len(slow) > 3 else "")
        return CompileMode(False, jit_compile, device,
                           "XLA off: auto on CPU, where XLA is slow on kernels larger than "
                           f"their maps ({shown}).")
    return CompileMode(True, jit_compile, device,
                       "XLA on: auto on CPU (no convolution has a kernel larger than its map).")


def log(mode):
    """Logs the resolved mode in one line (a warning when XLA was asked for but is off)."""
    report = logging.warning if mode.requested is True and not mode.jit_compile else logging.info
    report("Compile mode on %s (requested %r): %s", mode.device, mode.requested, mode.reason)


def as_dict(mode):
    """The mode as a JSON-ready dict (what `rgan_tf.training.train` writes to the run folder)."""
    return dict(mode._asdict())
