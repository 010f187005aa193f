"""Mixed precision (`build_model.mixed_precision`): the players compute in 16 bits with float32
variables, images and logits stay float32, float16 gets dynamic loss scaling that reaches the
gradients, a robust XLA step trains with finite losses under bfloat16 and float16 on CPU, and a
step the loss scale skips still advances the step counter that keys the draws."""
import gin
import keras
import numpy as np
import pytest
import tensorflow as tf

from conftest import IMAGE_SHAPE, tiny_discriminator, tiny_generator
from rgan_tf import losses, penalties, rng, training

BATCH = 8


@pytest.fixture(autouse=True)
def clean_state():
    yield
    keras.mixed_precision.set_global_policy("float32")


def build(policy, optimizer=lambda: keras.optimizers.SGD(0.1), jit_compile="auto", **robust_gan):
    for name, value in dict(dict(eps_x=1.0, eps_z=0.5), **robust_gan).items():
        gin.bind_parameter(f"RobustGAN.{name}", value)
    keras.utils.set_random_seed(0)
    return training.build_model(build_generator=tiny_generator,
                                build_discriminator=tiny_discriminator, g_optimizer=optimizer,
                                d_optimizer=optimizer, mixed_precision=policy,
                                jit_compile=jit_compile)


def real_batches(count, batch):
    images = np.random.default_rng(0).uniform(-1, 1, (count * batch,) + IMAGE_SHAPE)
    return tf.data.Dataset.from_tensor_slices(images.astype(np.float32)).batch(batch)


def trainable_weights(model):
    return np.concatenate([np.ravel(w) for w in model.generator.trainable_weights
                           + model.discriminator.trainable_weights])


@pytest.mark.parametrize("policy,compute", [("mixed_bfloat16", "bfloat16"),
                                            ("mixed_float16", "float16")])
def test_robust_wgan_gp_step_trains_under_a_mixed_policy(policy, compute):
    model = build(policy, optimizer=lambda: keras.optimizers.Adam(1e-3, beta_1=0.5),
                  loss=losses.wasserstein_loss(), penalty=penalties.gradient_penalty, d_steps=2,
                  jit_compile=True)
    assert keras.mixed_precision.global_policy().name == "float32"  # restored after building
    assert model.jit_compile  # the 16-bit step under XLA (auto is off on CPU)
    computes = {layer.compute_dtype for layer in model.generator.layers[1:-1]}
    assert computes == {compute}
    assert all(v.dtype == "float32" for v in model.generator.variables
               + model.discriminator.variables)
    loss_scaled = isinstance(model.g_optimizer, keras.optimizers.LossScaleOptimizer)
    assert loss_scaled == (compute == "float16")
    assert loss_scaled == isinstance(model.d_optimizer, keras.optimizers.LossScaleOptimizer)

    history = model.fit(real_batches(3, 2 * BATCH), verbose=0).history
    for name in ("d_loss", "g_loss", "d_robust", "g_robust", "penalty"):
        assert np.isfinite(history[name][-1]), name
    assert int(model.g_optimizer.iterations) == 3  # no step skipped for overflow
    images = model.sample(4)
    assert images.dtype == tf.float32 and images.shape == (4,) + IMAGE_SHAPE
    assert model.discriminate(images, training=True).dtype == tf.float32
    assert model.generator.output.dtype == model.discriminator.output.dtype == "float32"


@pytest.mark.parametrize("policy", ["mixed_bfloat16", "mixed_float16"])
def test_mixed_step_moves_the_weights_as_the_float32_step(policy):
    # With SGD an update is proportional to the gradient, so a loss scale that did not reach the
    # gradients (or was not undone) would make the 16-bit update 2**15 times off.
    updates = {}
    for name in ("float32", policy):
        model = build(name)
        before = trainable_weights(model)
        model.fit(real_batches(1, BATCH), verbose=0)
        updates[name] = trainable_weights(model) - before
    full, mixed = updates["float32"], updates[policy]
    cosine = full @ mixed / (np.linalg.norm(full) * np.linalg.norm(mixed))
    assert cosine > 0.99
    assert 0.95 < np.linalg.norm(mixed) / np.linalg.norm(full) < 1.05


def test_unknown_policy_is_refused():
    with pytest.raises(ValueError, match="Unknown mixed precision policy 'float16'"):
        build("float16")


def test_a_step_skipped_for_overflow_still_draws_new_noise(monkeypatch):
    model = build("mixed_float16", optimizer=lambda: keras.optimizers.Adam(1e-3, beta_1=0.5))
    model.run_eagerly = True  # the draws' counters are read as Python numbers below
    draws = []
    normal = rng.normal

    def recording_normal(shape, seed, counter, stream):
        values = normal(shape, seed, counter, stream)
        draws.append((int(counter), stream, np.asarray(values)))
        return values

    monkeypatch.setattr(rng, "normal", recording_normal)
    iterations = []

    class OverflowSecondStep(keras.callbacks.Callback):
        def on_train_batch_begin(self, batch, logs=None):
            # A loss scale that no float16 gradient survives on step 2, the default after it.
            scale = {1: 2.0 ** 100, 2: 2.0 ** 15}.get(batch)
            if scale is not None:
                for optimizer in (self.model.g_optimizer, self.model.d_optimizer):
                    optimizer.dynamic_scale.assign(scale)

        def on_train_batch_end(self, batch, logs=None):
            iterations.append(int(self.model.g_optimizer.iterations.numpy()))

    model.fit(real_batches(3, BATCH), verbose=0, callbacks=[OverflowSecondStep()])
    assert iterations == [1, 1, 2]  # step 2 was skipped: the optimizer did not count it
    assert int(model.step_counter.numpy()) == 3
    generator_noise = [(counter, values) for counter, stream, values in draws if stream == 8]
    assert [counter for counter, _ in generator_noise] == [0, 1, 2]
    assert not np.allclose(generator_noise[1][1], generator_noise[2][1])
