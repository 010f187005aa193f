"""`jit_compile='auto'`: XLA off on CPU exactly where a convolution's kernel is larger than the
map it slides over, on elsewhere, and either mode when forced; the choice is kept and recorded."""
import keras
import pytest
import tensorflow as tf

from conftest import tiny_discriminator, tiny_generator
from rgan_tf import compile_mode
from rgan_tf.architectures import dcgan, sngan, wgan_gp
from rgan_tf.robust_gan import RobustGAN


def _conv_model(layer, size):
    image = keras.Input((size, size, 4))
    return keras.Model(image, layer(image))


@pytest.mark.parametrize("layer,size,slow", [
    (lambda: keras.layers.Conv2DTranspose(4, 5, 2, padding="same"), 4, True),   # 5x5 over 4x4
    (lambda: keras.layers.Conv2DTranspose(4, 5, 2, padding="same"), 5, False),  # 5x5 over 5x5
    (lambda: keras.layers.Conv2D(4, 5, 2, padding="same"), 8, True),   # gradient: 5x5 over 4x4
    (lambda: keras.layers.Conv2D(4, 4, 2, padding="same"), 8, False),  # 4x4 over 4x4
    (lambda: keras.layers.Conv2D(4, 3, 1, padding="same"), 2, True),
    (lambda: keras.layers.Conv2D(4, 3, 1, padding="same"), 3, False),
    (lambda: keras.layers.Conv2D(4, 3, 1, padding="same", dilation_rate=2), 4, True),  # 5 > 4
    (lambda: keras.layers.SpectralNormalization(
        keras.layers.Conv2D(4, 5, 1, padding="same")), 4, True),  # a wrapped convolution
])
def test_a_convolution_is_flagged_when_its_kernel_exceeds_its_map(layer, size, slow):
    found = compile_mode.slow_xla_convolutions(_conv_model(layer(), size))
    assert bool(found) is slow, found


def test_shipped_architectures_are_classified_as_measured():
    # DCGAN (5x5 out of / down to 4x4): slow under XLA on CPU; the WGAN-GP ResNet (3x3 on 8x8
    # and up) and SN-DCGAN (4x4 kernels on 4x4 maps): not.
    dcgan_models = [dcgan.dcgan_generator(width=4, channels=1),
                    dcgan.dcgan_discriminator(width=4, channels=1)]
    resnet_models = [wgan_gp.wgan_gp_resnet_generator(dim=4),
                     wgan_gp.wgan_gp_resnet_discriminator(dim=4)]
    sndcgan_models = [sngan.sndcgan_generator(), sngan.sndcgan_discriminator()]
    assert all(compile_mode.slow_xla_convolutions(model) for model in dcgan_models)
    assert not any(compile_mode.slow_xla_convolutions(model) for model in resnet_models)
    assert not any(compile_mode.slow_xla_convolutions(model) for model in sndcgan_models)


def test_auto_resolves_by_device_kind_and_model(monkeypatch):
    slow = [_conv_model(keras.layers.Conv2D(4, 5, 1, padding="same"), 4)]
    fast = [_conv_model(keras.layers.Conv2D(4, 3, 1, padding="same"), 8)]
    monkeypatch.setattr(compile_mode, "device_kind", lambda strategy=None: "CPU")
    assert compile_mode.resolve("auto", slow).jit_compile is False
    assert "5x5 kernel over a 4x4 map" in compile_mode.resolve("auto", slow).reason
    assert compile_mode.resolve("auto", fast).jit_compile is True
    for forced in (True, False):
        mode = compile_mode.resolve(forced, slow)
        assert mode.jit_compile is forced and mode.requested is forced and mode.device == "CPU"
    monkeypatch.setattr(compile_mode, "device_kind", lambda strategy=None: "GPU")
    assert compile_mode.resolve("auto", slow) == compile_mode.CompileMode(
        True, "auto", "GPU", "XLA on: auto on GPU.")


def test_device_kind_names_this_machine():
    expected = "GPU" if tf.config.list_logical_devices("GPU") else "CPU"
    assert compile_mode.device_kind() == expected
    with tf.distribute.OneDeviceStrategy("/cpu:0").scope():
        assert compile_mode.device_kind() == "CPU"


@pytest.mark.parametrize("value", ["yes", 1, None, "Auto"])
def test_other_values_are_refused(value):
    with pytest.raises(ValueError, match="jit_compile must be 'auto', True or False"):
        compile_mode.resolve(value, [])


def test_robust_gan_keeps_the_resolved_mode_and_saves_the_request(monkeypatch):
    monkeypatch.setattr(compile_mode, "device_kind", lambda strategy=None: "CPU")
    keras.utils.set_random_seed(0)
    # The tiny players slide a 3x3 kernel over 4x4 maps at least: XLA on under auto.
    model = RobustGAN(tiny_generator(), tiny_discriminator())
    model.compile(keras.optimizers.SGD(0.1), keras.optimizers.SGD(0.1))
    assert model.jit_compile is True and model.compile_mode.requested == "auto"
    assert model.get_compile_config()["jit_compile"] == "auto"
    model.compile(keras.optimizers.SGD(0.1), keras.optimizers.SGD(0.1), jit_compile=False)
    assert model.jit_compile is False and model.get_compile_config()["jit_compile"] is False
