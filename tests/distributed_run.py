"""Runs a few RobustGAN steps under a `tf.distribute` strategy and saves the weights (a helper
script of `tests/test_distribute.py`, run in a fresh process).

Two logical CPU devices must be configured before TensorFlow initializes, and a multi-worker
strategy must be the first thing a process creates, so these runs cannot share the pytest process.
The script is self-contained (no conftest): it builds tiny DCGAN-like, WGAN-GP-like or SNGAN-like
(spectrally normalized critic, hinge loss) players from a fixed seed, trains `--steps` generator
iterations on fixed random images with a global batch of `--batch` images per critic update with
plain SGD (its step is proportional to the gradient, so a wrong replica scaling shows in the
weights), and writes every weight of both players (batch-norm moving statistics and spectral
norm's `u` included), the generator's moving average, the step counter and the last metric values
to `--out` (an `.npz` file). TensorFlow's op determinism is on, so that runs compare exactly.

`--split_bn=R` (one device only) replaces batch norm by `SplitBatchNormalization`, which normalizes
each of R contiguous slices of the batch with its own statistics: what R replicas compute without
synchronized batch norm.

    python tests/distributed_run.py --setup=dcgan --strategy=mirrored --out=/tmp/w.npz
    TF_CONFIG=... python tests/distributed_run.py --strategy=multi_worker --out=/tmp/w0.npz
"""
import argparse
import json
import os
import sys

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))

import numpy as np  # noqa: E402
import tensorflow as tf  # noqa: E402

LATENT_DIM = 8
IMAGE_SHAPE = (8, 8, 1)


def parse_args(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--setup", choices=["dcgan", "wgan_gp", "sngan"], default="dcgan")
    parser.add_argument("--strategy", choices=["default", "mirrored", "multi_worker"],
                        default="default")
    parser.add_argument("--jit", type=int, default=0, help="RobustGAN.compile(jit_compile=...)")
    parser.add_argument("--steps", type=int, default=1)
    parser.add_argument("--batch", type=int, default=8, help="global batch per critic update")
    parser.add_argument("--sync_bn", type=int, default=1)
    parser.add_argument("--op_determinism", type=int, default=1,
                        help="tf.config.experimental.enable_op_determinism() (docs/workflow.md)")
    parser.add_argument("--split_bn", type=int, default=1,
                        help="one device: batch norm over this many slices of the batch")
    parser.add_argument("--via_train", type=int, default=0,
                        help="train through the gin entry `rgan_tf.training.train` instead: "
                        "the digits RGAN(DCGAN) config shrunk to 8x8 images")
    parser.add_argument("--out", required=True)
    return parser.parse_args(argv)


def split_batch_norm_class(keras):
    """`SplitBatchNormalization` (defined once Keras is imported, after the device setup)."""

    class SplitBatchNormalization(keras.layers.BatchNormalization):
        """Batch norm whose training-mode statistics are those of each of `groups` equal,
        contiguous slices of the batch; the moving statistics follow the first slice's (each
        replica updates its own copy of them, and the first replica's copy is the one read back
        and saved)."""

        def __init__(self, groups=2, **kwargs):
            super().__init__(**kwargs)
            self.groups = groups

        def call(self, inputs, training=None, mask=None):
            if not training:
                return super().call(inputs, training=training, mask=mask)
            axes = list(range(len(inputs.shape) - 1))
            outputs, means, variances = [], [], []
            for part in tf.split(inputs, self.groups):
                mean, variance = tf.nn.moments(part, axes)
                outputs.append((part - mean) * tf.math.rsqrt(variance + self.epsilon)
                               * self.gamma + self.beta)
                means.append(mean)
                variances.append(variance)
            momentum = self.momentum
            self.moving_mean.assign(self.moving_mean * momentum + means[0] * (1.0 - momentum))
            self.moving_variance.assign(self.moving_variance * momentum
                                        + variances[0] * (1.0 - momentum))
            return tf.concat(outputs, 0)

    return SplitBatchNormalization


def split_batch_norm(model, groups, keras):
    """A copy of `model` whose batch norm is `SplitBatchNormalization(groups)`, same weights."""
    layer_class = split_batch_norm_class(keras)

    def clone(layer):
        if isinstance(layer, keras.layers.BatchNormalization):
            return layer_class(groups=groups, **layer.get_config())
        return layer.__class__.from_config(layer.get_config())

    copy = keras.models.clone_model(model, clone_function=clone)
    copy.set_weights(model.get_weights())
    return copy


def tiny_players(setup, keras, spectral_norm):
    """DCGAN-like: batch norm in both players. WGAN-GP-like: batch norm in G only. SNGAN-like:
    the WGAN-GP-like generator and a critic of spectrally normalized layers (`spectral_norm`,
    the module, passed in like `keras` because it may only be imported once the devices are
    set)."""
    z = keras.Input((LATENT_DIM,))
    # No bias before batch norm: its gradient is zero up to rounding, which Adam would amplify.
    h = keras.layers.Dense(4 * 4 * 8, use_bias=False)(z)
    h = keras.layers.Reshape((4, 4, 8))(h)
    h = keras.layers.BatchNormalization()(h)
    h = keras.layers.ReLU()(h)
    h = keras.layers.Conv2DTranspose(1, 3, 2, padding="same")(h)
    generator = keras.Model(z, keras.layers.Activation("tanh", dtype="float32")(h))

    image = keras.Input(IMAGE_SHAPE)
    if setup == "sngan":
        h = spectral_norm.SNConv2D(8, 3, 2)(image)
        h = keras.layers.LeakyReLU(0.1)(h)
        h = spectral_norm.SNConv2D(8, 3, 2)(h)
        h = keras.layers.Flatten()(keras.layers.LeakyReLU(0.1)(h))
        return generator, keras.Model(image, spectral_norm.SNDense(1, dtype="float32")(h))
    h = keras.layers.Conv2D(8, 3, 2, padding="same")(image)
    h = keras.layers.LeakyReLU(0.2)(h)
    h = keras.layers.Conv2D(8, 3, 2, padding="same", use_bias=setup != "dcgan")(h)
    if setup == "dcgan":
        h = keras.layers.BatchNormalization()(h)
    h = keras.layers.LeakyReLU(0.2)(h)
    h = keras.layers.Flatten()(h)
    # WGAN's critic loss does not depend on the last bias (its gradient is rounding noise).
    logits = keras.layers.Dense(1, use_bias=setup == "dcgan", dtype="float32")(h)
    discriminator = keras.Model(image, logits)
    return generator, discriminator


def main(args):
    if args.strategy == "mirrored":
        cpu = tf.config.list_physical_devices("CPU")[0]
        tf.config.set_logical_device_configuration(
            cpu, [tf.config.LogicalDeviceConfiguration()] * 2)
    # Without op determinism, runs of the WGAN-GP setup (gradient penalty) on one device differ
    # from run to run on CPU, and these tiny players amplify the difference (docs/workflow.md,
    # Determinism); the replica checks need runs that compare exactly.
    if args.op_determinism:
        tf.config.experimental.enable_op_determinism()
    import keras

    from rgan_tf import distribute, losses, penalties
    from rgan_tf.architectures import spectral_norm
    from rgan_tf.robust_gan import RobustGAN

    strategy = distribute.make_strategy(
        args.strategy, devices=["/cpu:0", "/cpu:1"] if args.strategy == "mirrored" else None)
    if args.via_train:
        return train_entry(args, strategy)
    d_steps = 1 if args.setup == "dcgan" else 2
    keras.utils.set_random_seed(0)
    template_g, template_d = tiny_players(args.setup, keras, spectral_norm)
    with strategy.scope():
        generator, discriminator = (keras.models.clone_model(m) for m in (template_g, template_d))
        generator.set_weights(template_g.get_weights())
        discriminator.set_weights(template_d.get_weights())
        if args.sync_bn:
            generator = distribute.sync_batch_norm(generator)
            discriminator = distribute.sync_batch_norm(discriminator)
        if args.split_bn > 1:
            generator = split_batch_norm(generator, args.split_bn, keras)
            discriminator = split_batch_norm(discriminator, args.split_bn, keras)
        if args.setup == "dcgan":
            model = RobustGAN(generator, discriminator, robust="both", eps_x=1.0, eps_z=0.5,
                              ema_decay=0.5)
        elif args.setup == "sngan":
            model = RobustGAN(generator, discriminator, loss=losses.hinge_loss(),
                              d_steps=d_steps, robust="both", eps_x=1.0, eps_z=0.5)
        else:
            model = RobustGAN(generator, discriminator, loss=losses.wasserstein_loss(),
                              penalty=penalties.gradient_penalty, d_steps=d_steps,
                              robust="both", eps_x=1.0, eps_z=0.5, ema_decay=0.5)
        # SGD, whose step is proportional to the gradient: a wrong replica scaling shows (Adam's
        # first steps do not depend on the gradient's scale).
        model.compile(keras.optimizers.SGD(0.1), keras.optimizers.SGD(0.1),
                      jit_compile=bool(args.jit))

    per_step = args.batch * d_steps
    images = np.random.default_rng(0).uniform(
        -1, 1, (args.steps * per_step,) + IMAGE_SHAPE).astype(np.float32)
    data = tf.data.Dataset.from_tensor_slices(images).batch(per_step, drop_remainder=True)
    history = model.fit(data, epochs=1, verbose=0).history
    weights = (model.generator.get_weights() + model.discriminator.get_weights()
               + [np.asarray(v) for v in model.ema_weights] + [np.asarray(model.step_counter)])
    np.savez(args.out, *[np.asarray(w) for w in weights])
    with open(args.out + ".json", "w") as info:
        json.dump({"replicas": strategy.num_replicas_in_sync, "jit_compile": model.jit_compile,
                   "history": {k: [float(x) for x in v] for k, v in history.items()}}, info)


def train_entry(args, strategy):
    """The launcher's path: gin config, `train` builds in the strategy's scope and batches the
    data set with the global batch."""
    import tempfile

    from rgan_tf import config, training

    bindings = [
        "dataset.image_size = 8", "dcgan_generator.image_size = 8",
        "dcgan_discriminator.image_size = 8", "dcgan_generator.width = 8",
        "dcgan_discriminator.width = 8", "dcgan_generator.latent_dim = 8",
        f"train.steps = {args.steps}", f"train.batch_size = {args.batch}",
        f"train.checkpoint_every = {args.steps}", "train.sample_every = 0", "train.verbose = 0",
        f"build_model.jit_compile = {bool(args.jit)}",
        f"build_model.sync_batch_norm = {bool(args.sync_bn)}",
        # Plain SGD instead of the config's Adam: its step shows a wrong replica scaling.
        "build_model.g_optimizer = @generator/keras.optimizers.SGD",
        "build_model.d_optimizer = @discriminator/keras.optimizers.SGD",
        "generator/keras.optimizers.SGD.learning_rate = 0.1",
        "discriminator/keras.optimizers.SGD.learning_rate = 0.1"]
    config.parse_gin(["gin_configs/digits/dcgan_rgan.gin"], bindings)
    with tempfile.TemporaryDirectory() as model_dir:
        model = training.train(model_dir, strategy=strategy)
    weights = model.generator.get_weights() + model.discriminator.get_weights()
    np.savez(args.out, *[np.asarray(w) for w in weights])
    with open(args.out + ".json", "w") as info:
        json.dump({"replicas": strategy.num_replicas_in_sync, "jit_compile": model.jit_compile,
                   "steps": int(model.g_optimizer.iterations.numpy())}, info)


if __name__ == "__main__":
    main(parse_args())
