"""`RobustGAN`: a Keras model whose `train_step` is Algorithm 1 of the Robust GAN paper.

Both players train on their baseline loss plus the same loss at a worst-case perturbation of their
inputs (see `docs/method.md`, and `rgan_tf.perturbations`):

  generator:      L_G(z)            + lam * L_G(z + eps_z r_z)
  discriminator:  L_D(x, G(z)) + P  + lam * [L_real(x + eps_x r_1) + L_fake(G(z) + eps_x r_2)]

where each direction `r` is a per-sample unit direction that moves the discriminator's logit
against the player being trained (`direction="logit"`: `-grad_x D(x)` for `r_1`, `+grad D(G(z))`
for `r_2`, `-grad_z D(G(z))` for `r_z`), or the ascent direction of the player's own clean loss
(`direction="loss"`); the two agree for losses monotone in D, and only the first exists where the
hinge loss is flat. `P` is the baseline's penalty on clean samples. The directions come from the
same backward pass that gives the clean weight gradients (`rgan_tf.perturbations.logit_direction`),
so robust training costs one extra forward/backward pass over the perturbed samples; the logit's
own gradient is taken, in one more backward pass to the inputs, only in a step where some sample's
loss is flat (in every step under a multi-replica strategy).

Outside training the generator makes images in its sampling mode (`rgan_tf.sampling`), from its
exponential moving average when `ema_decay` is set. Every random draw of a step is keyed on
`step_counter`, the model's own count of train steps (also the data position and the checkpoint's
step), which advances on every step, also one that a mixed-precision loss scale skips.
"""
import math

import gin
import keras
import tensorflow as tf

from rgan_tf import batches
from rgan_tf import compile_mode as compile_mode_lib
from rgan_tf import critic_calls
from rgan_tf import distribute
from rgan_tf import losses as losses_lib
from rgan_tf import passes
from rgan_tf import perturbations
from rgan_tf import rng
from rgan_tf import sampling as sampling_lib

ROBUST_MODES = ("off", "generator", "discriminator", "both", "random")
WEIGHTINGS = ("algorithm1", "mixture")
DIRECTIONS = ("logit", "loss")

# Stream numbers of the step's random draws (see rgan_tf.rng); critic step k uses 8k + offset.
_NOISE, _LABELS, _ALPHA, _RANDOM_REAL, _RANDOM_FAKE, _RANDOM_Z = range(6)


@gin.configurable
class RobustGAN(keras.Model):
    """A GAN whose `fit` trains both players against worst-case perturbations (RGAN).

    Feed `fit` a dataset of real images `[B, H, W, C]` (or `(images, labels)` for a conditional
    model). Each batch drives one generator iteration; with `d_steps > 1` its images are split
    evenly among the `d_steps` discriminator updates that precede it (WGAN-GP feeds 5 x 64).

    Args:
      generator: built `keras.Model`, `z [B, latent_dim]` (and `label [B]`) -> images.
      discriminator: built `keras.Model`, images (and `label`) -> logits `[B, 1]`.
      loss: a `GANLoss` family (`rgan_tf.losses`); default non-saturating (DCGAN).
      penalty: optional `penalty(discriminator_fn, real, fake, alpha) -> scalar`, applied on clean
        samples (e.g. `rgan_tf.penalties.gradient_penalty`).
      robust: "both" (RGAN), "generator" or "discriminator" (one player robust), "random"
        (both players, random unit directions instead of the worst case) or "off" (the baseline).
      lam: weight of the robust terms (the paper's lambda; 0.1).
      eps_z: perturbation radius on the noise z (paper: 0.01 for z of dim 128).
      eps_x: perturbation radius on images (paper: 4 for 32x32x3 images in [-1, 1]).
      norm: norm of the perturbation ball: "l2" (paper), "l1" or "linf".
      weighting: "algorithm1" (clean + lam * robust) or "mixture" ((1 - lam) clean + lam robust,
        the paper's Eq. 11; needs lam < 1).
      d_steps: discriminator updates per generator update (5 for WGAN-GP).
      generator_batch_multiplier: the generator's batch is this times the discriminator's (2 in
        WGAN-GP ResNet: 128 vs 64).
      num_classes: number of classes of a conditional GAN; None for an unconditional one. With
        a penalty, the critic's fakes are generated from the real labels (as Gulrajani et al.'s
        conditional `gan_cifar_resnet.py`), so each interpolate is scored under one label.
      seed: seed of every random draw of the train step.
      direction: "logit" (the worst case for every loss family: `-grad_x D(x)`,
        `+grad D(G(z))`, `-grad_z D(G(z))`, normalized per sample) or "loss" (the ascent
        direction of the player's loss: zero for hinge samples beyond the margin).
      sampling: "moving_average" (batch norm's moving statistics) or "batch_stats" (the
        statistics of each generated batch, as Gulrajani et al.'s code; `sample` generates in
        batches of 100), for every image made outside training (`rgan_tf.sampling`).
      ema_decay: None (off) or the decay in [0, 1) of an exponential moving average of the
        generator's trainable weights, updated after every generator step; images outside
        training then come from it (with the live batch-norm statistics).
    """

    def __init__(self, generator, discriminator, loss=None, penalty=None, robust="both",
                 lam=0.1, eps_z=0.01, eps_x=4.0, norm="l2", weighting="algorithm1",
                 d_steps=1, generator_batch_multiplier=1, num_classes=None, seed=0,
                 direction="logit", sampling="moving_average", ema_decay=None, **kwargs):
        super().__init__(**kwargs)
        if robust not in ROBUST_MODES:
            raise ValueError(f"Unknown robust mode {robust!r}; choose one of {ROBUST_MODES}.")
        if weighting not in WEIGHTINGS:
            raise ValueError(f"Unknown weighting {weighting!r}; choose one of {WEIGHTINGS}.")
        if direction not in DIRECTIONS:
            raise ValueError(f"Unknown direction {direction!r}; choose one of {DIRECTIONS}.")
        sampling_lib.check_sampling(sampling)
        if ema_decay is not None and (isinstance(ema_decay, bool)
                                      or not isinstance(ema_decay, (int, float))
                                      or not 0 <= ema_decay < 1):
            raise ValueError(f"ema_decay must be None (off) or a number in [0, 1), got "
                             f"{ema_decay!r}.")
        perturbations.check_norm(norm)
        for name, value in (("lam", lam), ("eps_z", eps_z), ("eps_x", eps_x)):
            if not isinstance(value, (int, float)) or not math.isfinite(value) or value < 0:
                raise ValueError(f"{name} must be a finite number >= 0, got {value!r}.")
        if weighting == "mixture" and lam >= 1:
            raise ValueError(
                f"The mixture weighting needs lam < 1 (got {lam}): at lam = 1 the clean loss, "
                "whose gradient gives the worst-case directions, has weight 0.")
        for name, value in (("d_steps", d_steps),
                            ("generator_batch_multiplier", generator_batch_multiplier)):
            if not isinstance(value, int) or value < 1:
                raise ValueError(f"{name} must be an integer >= 1, got {value!r}.")
        conditional = len(generator.inputs) == 2
        if conditional != (num_classes is not None):
            raise ValueError(
                "A conditional generator (inputs [z, label]) needs num_classes, and num_classes "
                f"needs one; got {len(generator.inputs)} generator inputs and "
                f"num_classes={num_classes}.")
        if len(discriminator.inputs) != len(generator.inputs):
            raise ValueError("The generator and discriminator disagree on conditioning: "
                             f"{len(generator.inputs)} vs {len(discriminator.inputs)} inputs.")
        image_shape = tuple(generator.outputs[0].shape[1:])
        if tuple(discriminator.inputs[0].shape[1:]) != image_shape:
            raise ValueError(f"The generator makes images of shape {image_shape} but the "
                             f"discriminator takes {tuple(discriminator.inputs[0].shape[1:])}.")

        self.generator = generator
        self.discriminator = discriminator
        self.loss_family = loss if loss is not None else losses_lib.non_saturating_loss()
        self.penalty = penalty
        self.robust = robust
        self.lam = float(lam)
        self.eps_z = float(eps_z)
        self.eps_x = float(eps_x)
        self.norm = norm
        self.weighting = weighting
        self.d_steps = d_steps
        self.generator_batch_multiplier = generator_batch_multiplier
        self.num_classes = num_classes
        self.seed = int(seed)
        self.latent_dim = int(generator.inputs[0].shape[-1])
        self.image_shape = image_shape
        self.direction = direction
        self.sampling = sampling
        self.ema_decay = None if ema_decay is None else float(ema_decay)
        # The step counter: every random draw of a step, the data position and the checkpoint's
        # step. Not the optimizer's `iterations`, which a loss-scale-skipped step leaves alone.
        self.step_counter = keras.Variable(0, dtype="int64", trainable=False, name="step",
                                           aggregation="only_first_replica")
        # The generator's exponential moving average: one variable per trainable weight.
        self.ema_weights = [] if ema_decay is None else [
            keras.Variable(keras.ops.convert_to_numpy(weight), trainable=False,
                           name=f"ema_{index}", aggregation="only_first_replica")
            for index, weight in enumerate(generator.trainable_variables)]
        # Real and fake in one critic call where that changes nothing (`rgan_tf.critic_calls`).
        self.fused_critic_calls = critic_calls.scores_samples_independently(discriminator)
        self.built = True

        self.robust_generator = robust in ("generator", "both", "random")
        self.robust_discriminator = robust in ("discriminator", "both", "random")
        names = ["d_loss", "g_loss", "d_real", "d_fake"]
        if penalty is not None:
            names.append("penalty")
        if self.robust_discriminator:
            names.append("d_robust")
        if self.robust_generator:
            names.append("g_robust")
        self.trackers = {name: keras.metrics.Mean(name=name) for name in names}

    # ----------------------------------------------------------------------------------------
    # Keras plumbing.

    def compile(self, g_optimizer, d_optimizer, jit_compile="auto", **kwargs):
        """Sets the two players' optimizers and builds their slots on the players' variables.

        Building here (inside the caller's strategy scope) avoids lazily created slots inside a
        distributed step. `jit_compile`: "auto" (XLA where it is faster on this kind of device:
        `rgan_tf.compile_mode`), True or False; off under a multi-replica strategy that
        cannot compile the step. The resolved mode is logged and kept in `self.compile_mode`. A
        `mixed_float16` player gets loss scaling (`rgan_tf.passes.with_loss_scaling`).
        """
        self.compile_mode = compile_mode_lib.resolve(jit_compile, self.distribute_strategy)
        compile_mode_lib.log(self.compile_mode)
        super().compile(jit_compile=self.compile_mode.jit_compile, **kwargs)
        self.g_optimizer = passes.with_loss_scaling(g_optimizer, self.generator)
        self.d_optimizer = passes.with_loss_scaling(d_optimizer, self.discriminator)
        self.g_optimizer.build(self.generator.trainable_variables)
        self.d_optimizer.build(self.discriminator.trainable_variables)

    def get_compile_config(self):
        return {"g_optimizer": keras.optimizers.serialize(self.g_optimizer),
                "d_optimizer": keras.optimizers.serialize(self.d_optimizer),
                "jit_compile": self.compile_mode.requested}

    def compile_from_config(self, config):
        self.compile(g_optimizer=keras.optimizers.deserialize(config["g_optimizer"]),
                     d_optimizer=keras.optimizers.deserialize(config["d_optimizer"]),
                     jit_compile=config.get("jit_compile", compile_mode_lib.AUTO))

    @property
    def metrics(self):
        return list(self.trackers.values())

    def call(self, inputs, training=False):
        """Generates images from `z` (or `[z, labels]` for a conditional model), as `generate`."""
        if self.num_classes is None:
            return self.generate(inputs, training=training)
        return self.generate(inputs[0], inputs[1], training=training)

    # ----------------------------------------------------------------------------------------
    # Sampling.

    def generate(self, z, labels=None, training=False):
        """Images `[B, H, W, C]` from noise `z [B, latent_dim]` (and int labels `[B]`).

        `training=True` runs the live generator in training mode (the train step's call).
        Otherwise images come in the model's `sampling` mode, from the moving average of the
        weights when `ema_decay` is set (`rgan_tf.sampling.generate`); in "batch_stats" mode
        they depend on the batch `z` they are generated with.
        """
        if self.num_classes is None:
            inputs = z
        elif labels is None:
            raise ValueError("This GAN is conditional: pass the class labels to generate.")
        else:
            inputs = [tf.convert_to_tensor(z, tf.float32), tf.convert_to_tensor(labels, tf.int32)]
        if training:
            return self.generator(inputs, training=True)
        return sampling_lib.generate(self.generator, inputs, self.sampling,
                                     self.ema_weights or None)

    def discriminate(self, images, labels=None, training=False):
        """Logits `[B]` (float32) of the discriminator on `images` (and labels)."""
        inputs = images if self.num_classes is None else [images, labels]
        return tf.cast(tf.reshape(self.discriminator(inputs, training=training), [-1]),
                       tf.float32)

    def sample(self, num_samples, seed=0, labels=None):
        """`num_samples` images from z ~ N(0, I) drawn with `seed` (labels: cycle 0..K-1); in
        "batch_stats" mode generated in batches of `rgan_tf.sampling.SAMPLING_BATCH`."""
        z = sampling_lib.sample_noise(num_samples, seed, self.latent_dim)
        if self.num_classes is not None and labels is None:
            labels = tf.range(num_samples, dtype=tf.int32) % self.num_classes
        return sampling_lib.in_batches(self.generate, z, labels,
                                       sampling_lib.batch_size_for(self.sampling))

    # ----------------------------------------------------------------------------------------
    # Algorithm 1.

    def train_step(self, data):
        real, real_labels = batches.unpack(data, self.num_classes, self.image_shape)
        # The step's draws are keyed on the model's own step counter (rgan_tf.rng).
        counter = self.step_counter.value
        # d_steps strided chunks: the same split on one device and on R replicas.
        chunks = batches.split(real, real_labels, self.d_steps, self.image_shape)
        for step, (real_chunk, labels_chunk) in enumerate(chunks):
            self._discriminator_step(real_chunk, labels_chunk, counter, stream=8 * step)
        batch = tf.shape(chunks[0][0])[0] * self.generator_batch_multiplier
        self._generator_step(batch, counter, stream=8 * self.d_steps)
        if self.ema_weights:
            self._update_ema()
        self.step_counter.assign_add(1)
        return distribute.reducible_logs(
            {name: tracker.result() for name, tracker in self.trackers.items()})

    def _discriminator_step(self, real, labels, counter, stream):
        batch = tf.shape(real)[0]
        if labels is not None and self.penalty is not None:
            # A conditional critic with a penalty scores interpolates of real and fake images
            # under the real labels, so the fakes are generated from them (improved_wgan_training
            # gan_cifar_resnet.py lines 187-192: fakes from the real labels' splits; 249-262: the
            # penalty under those labels).
            fake_labels = labels
        else:
            fake_labels = self._fake_labels(batch, counter, stream)
        z = rng.normal([batch, self.latent_dim], self.seed, counter, stream + _NOISE)
        fake = tf.cast(self.generate(z, fake_labels, training=True), tf.float32)
        alpha = (None if self.penalty is None
                 else rng.uniform([batch], self.seed, counter, stream + _ALPHA))
        variables = self.discriminator.trainable_variables

        # Clean loss L_D(x, G(z)) (+ penalty); its backward pass also gives r_1 and r_2.
        clean = passes.discriminator_pass(
            self, real, labels, fake, fake_labels, alpha,
            directions=self.robust_discriminator and self.robust != "random")
        grads = clean.grads

        if self.robust_discriminator:
            # r_1, r_2: per-sample unit directions against the discriminator on real and fake.
            r_real, r_fake = clean.r_real, clean.r_fake
            if self.robust == "random":
                shape = [batch] + list(self.image_shape)
                r_real = perturbations.random_direction(
                    rng.normal(shape, self.seed, counter, stream + _RANDOM_REAL), self.norm)
                r_fake = perturbations.random_direction(
                    rng.normal(shape, self.seed, counter, stream + _RANDOM_FAKE), self.norm)
            # Robust loss: L_real(x + eps_x r_1) + L_fake(G(z) + eps_x r_2).
            with tf.GradientTape() as tape:
                robust, _, _ = passes.discriminator_loss(
                    self, real + self.eps_x * r_real, labels, fake + self.eps_x * r_fake,
                    fake_labels)
                scaled = passes.scale_loss(self.d_optimizer, self.lam * robust)
            grads = passes.sum_gradients(grads, tape.gradient(scaled, variables))
            self.trackers["d_robust"].update_state(robust)

        self.d_optimizer.apply(grads, variables)
        self.trackers["d_loss"].update_state(clean.loss)
        self.trackers["d_real"].update_state(tf.reduce_mean(clean.real_logits))
        self.trackers["d_fake"].update_state(tf.reduce_mean(clean.fake_logits))
        if self.penalty is not None:
            self.trackers["penalty"].update_state(clean.penalty)

    def _generator_step(self, batch, counter, stream):
        labels = self._fake_labels(batch, counter, stream)
        z = rng.normal([batch, self.latent_dim], self.seed, counter, stream + _NOISE)
        variables = self.generator.trainable_variables

        # Clean loss L_G(z); its backward pass also gives r_z.
        clean = passes.generator_pass(
            self, z, labels, directions=self.robust_generator and self.robust != "random")
        grads = clean.grads

        if self.robust_generator:
            # r_z: per-sample unit direction against the generator (lowers D(G(z))).
            r_z = clean.r_z
            if self.robust == "random":
                r_z = perturbations.random_direction(
                    rng.normal([batch, self.latent_dim], self.seed, counter, stream + _RANDOM_Z),
                    self.norm)
            # Robust loss: L_G(z + eps_z r_z).
            with tf.GradientTape() as tape:
                robust = tf.reduce_mean(self.loss_family.generator(self.discriminate(
                    self.generate(z + self.eps_z * r_z, labels, training=True), labels,
                    training=True)))
                scaled = passes.scale_loss(self.g_optimizer, self.lam * robust)
            grads = passes.sum_gradients(grads, tape.gradient(scaled, variables))
            self.trackers["g_robust"].update_state(robust)

        self.g_optimizer.apply(grads, variables)
        self.trackers["g_loss"].update_state(clean.loss)

    def _update_ema(self):
        """Moves the moving average of the generator's weights toward the weights just updated."""
        decay = self.ema_decay
        for average, weight in zip(self.ema_weights, self.generator.trainable_variables):
            average.assign(decay * average.value + (1.0 - decay) * weight.value)

    # ----------------------------------------------------------------------------------------
    # The step's worst-case directions, for inspection and tests.

    def discriminator_directions(self, real, fake, labels=None, fake_labels=None):
        """`(r_1, r_2)`: the directions the discriminator step builds at these inputs, by the
        same code (`direction`, `norm`). Runs the discriminator in training mode; no weight
        changes.

        Args:
          real: float32 real images `[B, H, W, C]`.
          fake: float32 generated images `[B, H, W, C]`.
          labels, fake_labels: int32 `[B]` for a conditional model.

        Returns:
          Two float32 `[B, H, W, C]` tensors, each sample of unit norm (or zero).
        """
        real, fake = (tf.convert_to_tensor(x, tf.float32) for x in (real, fake))
        alpha = None if self.penalty is None else tf.zeros([tf.shape(real)[0]])
        result = passes.discriminator_pass(self, real, labels, fake, fake_labels, alpha,
                                           directions=True)
        return result.r_real, result.r_fake

    def generator_direction(self, z, labels=None):
        """`r_z`: the direction the generator step builds at noise `z [B, latent_dim]` (and
        labels), by the same code. Runs both players in training mode (batch norm's moving
        statistics are updated, as in a step); no weight changes.

        Returns:
          float32 `[B, latent_dim]`, each sample of unit norm (or zero).
        """
        return passes.generator_pass(self, tf.convert_to_tensor(z, tf.float32), labels,
                                     directions=True).r_z

    # ----------------------------------------------------------------------------------------
    # Helpers.

    def clean_weight(self):
        """The weight of the clean loss: 1 (Algorithm 1), or 1 - lam (the mixture of Eq. 11)."""
        if self.weighting == "mixture" and self.robust != "off":
            return 1.0 - self.lam
        return 1.0

    def _fake_labels(self, batch, counter, stream):
        if self.num_classes is None:
            return None
        return rng.categorical(batch, self.num_classes, self.seed, counter, stream + _LABELS)
