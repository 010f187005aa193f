"""Runs a few RobustGAN steps under a `tf.distribute` strategy and saves the weights (a helper
script of `tests/test_distribute.py`, run in a fresh process).

Two logical CPU devices must be configured before TensorFlow initializes, and a multi-worker
strategy must be the first thing a process creates, so these runs cannot share the pytest process.
The script is self-contained (no conftest): it builds tiny DCGAN-like or WGAN-GP-like players from
a fixed seed, trains `--steps` generator iterations on fixed random images with a global batch of
`--batch` images per critic update, and writes every weight of both players (batch-norm moving
statistics included) and the last metric values to `--out` (an `.npz` file).

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
    parser.add_argument("--setup", choices=["dcgan", "wgan_gp"], default="dcgan")
    parser.add_argument("--strategy", choices=["default", "mirrored", "multi_worker"],
                        default="default")
    parser.add_argument("--jit", type=int, default=0, help="RobustGAN.compile(jit_compile=...)")
    parser.add_argument("--steps", type=int, default=1)
    parser.add_argument("--batch", type=int, default=8, help="global batch per critic update")
    parser.add_argument("--sync_bn", type=int, default=1)
    parser.add_argument("--via_train", type=int, default=0,
                        help="train through the gin entry `rgan_tf.training.train` instead: "
                        "the digits RGAN(DCGAN) config shrunk to 8x8 images")
    parser.add_argument("--out", required=True)
    return parser.parse_args(argv)


def tiny_players(setup, keras):
    """DCGAN-like: batch norm in both players. WGAN-GP-like: batch norm in G only."""
    z = keras.Input((LATENT_DIM,))
    # No bias before batch norm: its gradient is zero up to rounding, which Adam would amplify.
    h = keras.layers.Dense(4 * 4 * 8, use_bias=False)(z)
    h = keras.layers.Reshape((4, 4, 8))(h)
    h = keras.layers.BatchNormalization()(h)
    h = keras.layers.ReLU()(h)
    h = keras.layers.Conv2DTranspose(1, 3, 2, padding="same")(h)
    generator = keras.Model(z, keras.layers.Activation("tanh", dtype="float32")(h))

    image = keras.Input(IMAGE_SHAPE)
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
    import keras

    from rgan_tf import distribute, losses, penalties
    from rgan_tf.robust_gan import RobustGAN

    strategy = distribute.make_strategy(
        args.strategy, devices=["/cpu:0", "/cpu:1"] if args.strategy == "mirrored" else None)
    if args.via_train:
        return train_entry(args, strategy)
    d_steps = 1 if args.setup == "dcgan" else 2
    keras.utils.set_random_seed(0)
    template_g, template_d = tiny_players(args.setup, keras)
    with strategy.scope():
        generator, discriminator = (keras.models.clone_model(m) for m in (template_g, template_d))
        generator.set_weights(template_g.get_weights())
        discriminator.set_weights(template_d.get_weights())
        if args.sync_bn:
            generator = distribute.sync_batch_norm(generator)
            discriminator = distribute.sync_batch_norm(discriminator)
        if args.setup == "dcgan":
            model = RobustGAN(generator, discriminator, robust="both", eps_x=1.0, eps_z=0.5)
            # SGD, whose step is proportional to the gradient: a wrong replica scaling shows.
            optimizers = [keras.optimizers.SGD(0.1) for _ in range(2)]
        else:
            model = RobustGAN(generator, discriminator, loss=losses.wasserstein_loss(),
                              penalty=penalties.gradient_penalty, d_steps=d_steps,
                              robust="both", eps_x=1.0, eps_z=0.5)
            optimizers = [keras.optimizers.Adam(1e-3, beta_1=0.5, beta_2=0.9) for _ in range(2)]
        model.compile(*optimizers, jit_compile=bool(args.jit))

    per_step = args.batch * d_steps
    images = np.random.default_rng(0).uniform(
        -1, 1, (args.steps * per_step,) + IMAGE_SHAPE).astype(np.float32)
    data = tf.data.Dataset.from_tensor_slices(images).batch(per_step, drop_remainder=True)
    history = model.fit(data, epochs=1, verbose=0).history
    weights = model.generator.get_weights() + model.discriminator.get_weights()
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
        f"build_model.sync_batch_norm = {bool(args.sync_bn)}"]
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
