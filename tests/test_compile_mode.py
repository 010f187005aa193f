"""`jit_compile='auto'`: XLA off on CPU, on on GPU and TPU, either mode when forced; the choice
is kept and recorded."""
import keras
import pytest
import tensorflow as tf

from conftest import tiny_discriminator, tiny_generator
from rgan_tf import compile_mode
from rgan_tf.robust_gan import RobustGAN


def test_auto_resolves_by_device_kind(monkeypatch):
    monkeypatch.setattr(compile_mode, "device_kind", lambda strategy=None: "CPU")
    mode = compile_mode.resolve("auto")
    assert mode.jit_compile is False and mode.requested == "auto" and mode.device == "CPU"
    assert "oneDNN kernels were faster" in mode.reason
    for forced in (True, False):
        mode = compile_mode.resolve(forced)
        assert mode.jit_compile is forced and mode.requested is forced and mode.device == "CPU"
    for device in ("GPU", "TPU"):
        monkeypatch.setattr(compile_mode, "device_kind", lambda strategy=None, d=device: d)
        assert compile_mode.resolve("auto") == compile_mode.CompileMode(
            True, "auto", device, f"XLA on: auto on {device}.")


def test_device_kind_names_this_machine():
    expected = "GPU" if tf.config.list_logical_devices("GPU") else "CPU"
    assert compile_mode.device_kind() == expected
    with tf.distribute.OneDeviceStrategy("/cpu:0").scope():
        assert compile_mode.device_kind() == "CPU"


@pytest.mark.parametrize("value", ["yes", 1, None, "Auto"])
def test_other_values_are_refused(value):
    with pytest.raises(ValueError, match="jit_compile must be 'auto', True or False"):
        compile_mode.resolve(value)


def test_robust_gan_keeps_the_resolved_mode_and_saves_the_request(monkeypatch):
    monkeypatch.setattr(compile_mode, "device_kind", lambda strategy=None: "CPU")
    keras.utils.set_random_seed(0)
    model = RobustGAN(tiny_generator(), tiny_discriminator())
    model.compile(keras.optimizers.SGD(0.1), keras.optimizers.SGD(0.1))
    assert model.jit_compile is False and model.compile_mode.requested == "auto"
    assert model.get_compile_config()["jit_compile"] == "auto"
    model.compile(keras.optimizers.SGD(0.1), keras.optimizers.SGD(0.1), jit_compile=True)
    assert model.jit_compile is True and model.get_compile_config()["jit_compile"] is True
    monkeypatch.setattr(compile_mode, "device_kind", lambda strategy=None: "GPU")
    model.compile(keras.optimizers.SGD(0.1), keras.optimizers.SGD(0.1))
    assert model.jit_compile is True and model.compile_mode.device == "GPU"
