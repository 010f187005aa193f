"""`RobustGAN`: a Keras model whose `train_step` is Algorithm 1 of the Robust GAN paper.

Both players train on their baseline loss plus the same loss at a worst-case perturbation of their
inputs (see `../shared/docs/method.md` in the project, and `rgan_tf.perturbations`):

  generator:      L_G(z)            + lam * L_G(z + eps_z r_z)
  discriminator:  L_D(x, G(z)) + P  + lam * [L_real(x + eps_x r_1) + L_fake(G(z) + eps_x r_2)]

where each direction `r` is the per-sample unit ascent direction of the player's own clean loss
with respect to that input, and `P` is the baseline's penalty on clean samples. The directions come
from the same backward pass that gives the clean weight gradients, so robust training costs one
extra forward/backward pass over the perturbed samples and nothing more.
"""
import math

import gin
import keras
import tensorflow as tf

from rgan_tf import compile_mode as compile_mode_lib
from rgan_tf import critic_calls
from rgan_tf import distribute
from rgan_tf import losses as losses_lib
from rgan_tf import perturbations
from rgan_tf import rng

ROBUST_MODES = ("off", "generator", "discriminator", "both", "random")
WEIGHTINGS = ("algorithm1", "mixture")

# Stream numbers of the step's random draws (see rgan_tf.rng); critic step k uses 8k + offset.
_NOISE, _LABELS, _ALPHA, _RANDOM_REAL, _RANDOM_FAKE, _RANDOM_Z = range(6)


def _check_nonnegative(name, value):
    if not isinstance(value, (int, float)) or not math.isfinite(value) or value < 0:
        raise ValueError(f"{name} must be a finite number >= 0, got {value!r}.")


def _add(a, b):
    """Sum of two gradients, either of which may be None or (embeddings) `tf.IndexedSlices`."""
    if a is None or b is None:
        return b if a is None else a
    if isinstance(a, tf.IndexedSlices) or isinstance(b, tf.IndexedSlices):
        a, b = (tf.convert_to_tensor(g) if isinstance(g, tf.IndexedSlices) else g for g in (a, b))
    return a + b


def _sum_grads(clean, robust):
    return [_add(c, r) for c, r in zip(clean, robust)]


def _with_loss_scaling(optimizer, player):
    """`optimizer`, wrapped in a `LossScaleOptimizer` if any layer of `player` computes in float16
    (bfloat16 has float32's range and needs no loss scaling)."""
    float16 = any(layer.compute_dtype == "float16" for layer in player._flatten_layers())
    if float16 and not isinstance(optimizer, keras.optimizers.LossScaleOptimizer):
        return keras.optimizers.LossScaleOptimizer(optimizer)
    return optimizer


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
      num_classes: number of classes of a conditional GAN; None for an unconditional one.
      seed: seed of every random draw of the train step.
    """

    def __init__(self, generator, discriminator, loss=None, penalty=None, robust="both",
                 lam=0.1, eps_z=0.01, eps_x=4.0, norm="l2", weighting="algorithm1",
                 d_steps=1, generator_batch_multiplier=1, num_classes=None, seed=0, **kwargs):
        super().__init__(**kwargs)
        if robust not in ROBUST_MODES:
            raise ValueError(f"Unknown robust mode {robust!r}; choose one of {ROBUST_MODES}.")
        if weighting not in WEIGHTINGS:
            raise ValueError(f"Unknown weighting {weighting!r}; choose one of {WEIGHTINGS}.")
        perturbations.check_norm(norm)
        for name, value in (("lam", lam), ("eps_z", eps_z), ("eps_x", eps_x)):
            _check_nonnegative(name, value)
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
        # Real and fake images in one critic call where that changes nothing (no batch norm, no
        # per-call state): `rgan_tf.critic_calls`.
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
        distributed step. `jit_compile` is "auto" (XLA where it is faster for these players on
        this device: `rgan_tf.compile_mode`), True or False; the resolved mode, with its reason,
        is logged and kept in `self.compile_mode`. XLA stays off under a multi-replica strategy
        that cannot compile the step. A player built under the `mixed_float16` policy gets its
        optimizer wrapped in `keras.optimizers.LossScaleOptimizer` (dynamic loss scaling;
        `train_step` passes every loss through `scale_loss`).
        """
        self.compile_mode = compile_mode_lib.resolve(
            jit_compile, [self.generator, self.discriminator], self.distribute_strategy)
        compile_mode_lib.log(self.compile_mode)
        super().compile(jit_compile=self.compile_mode.jit_compile, **kwargs)
        self.g_optimizer = _with_loss_scaling(g_optimizer, self.generator)
        self.d_optimizer = _with_loss_scaling(d_optimizer, self.discriminator)
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
        """Generates images from `z` (or `[z, labels]` for a conditional model)."""
        return self.generator(inputs, training=training)

    # ----------------------------------------------------------------------------------------
    # Sampling.

    def generate(self, z, labels=None, training=False):
        """Images `[B, H, W, C]` from noise `z [B, latent_dim]` (and int labels `[B]`)."""
        if self.num_classes is None:
            return self.generator(z, training=training)
        if labels is None:
            raise ValueError("This GAN is conditional: pass the class labels to generate.")
        return self.generator([tf.convert_to_tensor(z, tf.float32),
                               tf.convert_to_tensor(labels, tf.int32)], training=training)

    def discriminate(self, images, labels=None, training=False):
        """Logits `[B]` (float32) of the discriminator on `images` (and labels)."""
        inputs = images if self.num_classes is None else [images, labels]
        return tf.cast(tf.reshape(self.discriminator(inputs, training=training), [-1]),
                       tf.float32)

    def sample(self, num_samples, seed=0, labels=None):
        """`num_samples` images from z ~ N(0, I) drawn with `seed` (labels: cycle 0..K-1)."""
        z = tf.random.stateless_normal([num_samples, self.latent_dim], [seed, 0], alg=rng.ALGORITHM)
        if self.num_classes is not None and labels is None:
            labels = tf.range(num_samples, dtype=tf.int32) % self.num_classes
        return self.generate(z, labels)

    # ----------------------------------------------------------------------------------------
    # Algorithm 1.

    def train_step(self, data):
        real, real_labels = self._unpack(data)
        counter = self.g_optimizer.iterations
        # The batch is split into d_steps strided chunks, so the split is the same on one device
        # and on R replicas that each hold a contiguous part of the global batch.
        chunks = self._split(real, real_labels)
        for step, (real_chunk, labels_chunk) in enumerate(chunks):
            self._discriminator_step(real_chunk, labels_chunk, counter, stream=8 * step)
        batch = tf.shape(chunks[0][0])[0] * self.generator_batch_multiplier
        self._generator_step(batch, counter, stream=8 * self.d_steps)
        return distribute.reducible_logs(
            {name: tracker.result() for name, tracker in self.trackers.items()})

    def _discriminator_step(self, real, labels, counter, stream):
        batch = tf.shape(real)[0]
        fake_labels = self._fake_labels(batch, counter, stream)
        z = rng.normal([batch, self.latent_dim], self.seed, counter, stream + _NOISE)
        fake = tf.cast(self.generate(z, fake_labels, training=True), tf.float32)
        variables = self.discriminator.trainable_variables
        find_directions = self.robust_discriminator and self.robust != "random"

        # Clean loss L_D(x, G(z)) (+ penalty); its backward pass also gives d L_real/dx and
        # d L_fake/dG(z), the raw worst-case directions r_1 and r_2.
        with tf.GradientTape() as tape:
            tape.watch([real, fake])
            real_logits, fake_logits = self._discriminate_pair(real, labels, fake, fake_labels)
            clean = (tf.reduce_mean(self.loss_family.real(real_logits))
                     + tf.reduce_mean(self.loss_family.fake(fake_logits)))
            objective = self._clean_weight() * clean
            if self.penalty is not None:
                alpha = rng.uniform([batch], self.seed, counter, stream + _ALPHA)
                penalty = self.penalty(lambda x: self.discriminate(x, labels, training=True),
                                       real, fake, alpha)
                objective += penalty
            scaled = self._scale(self.d_optimizer, objective)
        sources = variables + ([real, fake] if find_directions else [])
        grads = tape.gradient(scaled, sources)
        grads, input_grads = grads[:len(variables)], grads[len(variables):]

        if self.robust_discriminator:
            # r_1, r_2: per-sample unit directions that raise D's loss on real and on fake.
            if find_directions:
                r_real = perturbations.worst_case_direction(input_grads[0], self.norm)
                r_fake = perturbations.worst_case_direction(input_grads[1], self.norm)
            else:
                r_real = perturbations.random_direction(
                    rng.normal([batch] + list(self.image_shape), self.seed, counter, stream + _RANDOM_REAL),
                    self.norm)
                r_fake = perturbations.random_direction(
                    rng.normal([batch] + list(self.image_shape), self.seed, counter, stream + _RANDOM_FAKE),
                    self.norm)
            # Robust loss: L_real(x + eps_x r_1) + L_fake(G(z) + eps_x r_2).
            with tf.GradientTape() as tape:
                real_logits_robust, fake_logits_robust = self._discriminate_pair(
                    real + self.eps_x * r_real, labels, fake + self.eps_x * r_fake, fake_labels)
                robust = (tf.reduce_mean(self.loss_family.real(real_logits_robust))
                          + tf.reduce_mean(self.loss_family.fake(fake_logits_robust)))
                scaled = self._scale(self.d_optimizer, self.lam * robust)
            grads = _sum_grads(grads, tape.gradient(scaled, variables))
            self.trackers["d_robust"].update_state(robust)

        self.d_optimizer.apply(grads, variables)
        self.trackers["d_loss"].update_state(clean)
        self.trackers["d_real"].update_state(tf.reduce_mean(real_logits))
        self.trackers["d_fake"].update_state(tf.reduce_mean(fake_logits))
        if self.penalty is not None:
            self.trackers["penalty"].update_state(penalty)

    def _generator_step(self, batch, counter, stream):
        labels = self._fake_labels(batch, counter, stream)
        z = rng.normal([batch, self.latent_dim], self.seed, counter, stream + _NOISE)
        variables = self.generator.trainable_variables
        find_direction = self.robust_generator and self.robust != "random"

        # Clean loss L_G(z); its backward pass also gives d L_G/dz, the raw direction r_z.
        with tf.GradientTape() as tape:
            tape.watch(z)
            clean = tf.reduce_mean(self.loss_family.generator(
                self.discriminate(self.generate(z, labels, training=True), labels,
                                  training=True)))
            scaled = self._scale(self.g_optimizer, self._clean_weight() * clean)
        grads = tape.gradient(scaled, variables + ([z] if find_direction else []))
        grads, z_grad = grads[:len(variables)], grads[len(variables):]

        if self.robust_generator:
            # r_z: per-sample unit direction that raises G's loss.
            if find_direction:
                r_z = perturbations.worst_case_direction(z_grad[0], self.norm)
            else:
                r_z = perturbations.random_direction(
                    rng.normal([batch, self.latent_dim], self.seed, counter, stream + _RANDOM_Z), self.norm)
            # Robust loss: L_G(z + eps_z r_z).
            with tf.GradientTape() as tape:
                robust = tf.reduce_mean(self.loss_family.generator(self.discriminate(
                    self.generate(z + self.eps_z * r_z, labels, training=True), labels,
                    training=True)))
                scaled = self._scale(self.g_optimizer, self.lam * robust)
            grads = _sum_grads(grads, tape.gradient(scaled, variables))
            self.trackers["g_robust"].update_state(robust)

        self.g_optimizer.apply(grads, variables)
        self.trackers["g_loss"].update_state(clean)

    # ----------------------------------------------------------------------------------------
    # Helpers.

    def _discriminate_pair(self, real, labels, fake, fake_labels):
        """Training-mode logits `[B]` on real and on fake images: one critic call of twice the
        batch when `self.fused_critic_calls`, else two calls."""
        return critic_calls.score_pair(
            lambda images, classes: self.discriminate(images, classes, training=True),
            real, fake, labels, fake_labels, fused=self.fused_critic_calls)

    def _clean_weight(self):
        if self.weighting == "mixture" and self.robust != "off":
            return 1.0 - self.lam
        return 1.0

    def _scale(self, optimizer, loss):
        """Loss as the optimizer should differentiate it: divided by the replica count (Keras
        optimizers sum gradients over replicas) and passed through mixed-precision loss scaling.
        """
        _, num_replicas = rng.replica_position()
        return optimizer.scale_loss(loss / num_replicas)

    def _fake_labels(self, batch, counter, stream):
        if self.num_classes is None:
            return None
        return rng.categorical(batch, self.num_classes, self.seed, counter, stream + _LABELS)

    def _unpack(self, data):
        if isinstance(data, (tuple, list)):
            real = data[0]
            labels = data[1] if len(data) > 1 else None
        else:
            real, labels = data, None
        if self.num_classes is not None and labels is None:
            raise ValueError("This GAN is conditional: feed (images, labels) batches.")
        if tuple(real.shape[1:]) != self.image_shape:
            raise ValueError(f"Real images have shape {tuple(real.shape[1:])} but the generator "
                             f"makes {self.image_shape}.")
        real = tf.cast(real, tf.float32)
        labels = None if self.num_classes is None else tf.cast(labels, tf.int32)
        return real, labels

    def _split(self, real, labels):
        if self.d_steps == 1:
            return [(real, labels)]
        if real.shape[0] is not None and real.shape[0] % self.d_steps:
            raise ValueError(f"A batch of {real.shape[0]} images cannot be split among "
                             f"d_steps={self.d_steps} discriminator updates; feed batches of "
                             f"d_steps x batch_size.")
        strided = tf.reshape(real, [-1, self.d_steps] + list(self.image_shape))
        label_chunks = (None if labels is None else tf.reshape(labels, [-1, self.d_steps]))
        return [(strided[:, k], None if labels is None else label_chunks[:, k])
                for k in range(self.d_steps)]
