"""The inputs the evaluation feeds a generator: normal noise, worst-case noise and random-direction
noise of the same radius, and worst-case real or generated images.

* `generator_losses` (per-sample `L_gen(D(G(z)))`); `worst_case_noise` (`z + eps r_z`, `r_z` the
  per-sample unit ascent direction of the generator's loss in the model's norm, the input of the
  paper's Fig. 3); `random_noise` (same radius, random direction); `worst_case_images`
  (`x + eps r_1` on real or `G(z) + eps r_2` on fake images, as in the discriminator's robust
  step; not clipped).
* `NoiseImages` turns one of these into the `generate_fn(n)` that `rgan_tf.evaluation.metrics`
  draws from. Call k draws its base noise from `rgan_tf.rng` with `(seed, k)` and stream
  `Z_STREAM`; random directions come from `DIRECTION_STREAM`. All modes share the base noise, so
  normal and worst-case scores are paired.
"""
import math
import weakref

import tensorflow as tf

from rgan_tf import perturbations
from rgan_tf import rng

NOISE_MODES = ("normal", "worst", "random")
# Streams of the evaluation's random draws (rgan_tf.rng): base noise, random directions.
Z_STREAM, DIRECTION_STREAM = 0, 1

# Compiled functions of each model, made once per process (`compiled`).
_COMPILED = weakref.WeakKeyDictionary()


def check_radius(eps):
    """`eps` as a float; ValueError unless it is a finite number >= 0."""
    if isinstance(eps, bool) or not isinstance(eps, (int, float)) or not math.isfinite(eps) or (
            eps < 0):
        raise ValueError(f"A perturbation radius must be a finite number >= 0, got {eps!r}.")
    return float(eps)


def check_radii(radii):
    """Each radius of `radii` (None: none) checked by `check_radius`."""
    return [check_radius(eps) for eps in (radii or ())]


def generator_losses(model, z, labels=None):
    """Per-sample generator loss `L_gen(D(G(z)))`, both players in inference mode.

    Args:
      model: a `RobustGAN`.
      z: float32 noise `[B, latent_dim]`.
      labels: int32 `[B]` for a conditional model, else None.

    Returns:
      float32 `[B]`.
    """
    logits = model.discriminate(model.generate(z, labels), labels)
    return tf.cast(model.loss_family.generator(logits), tf.float32)


def worst_case_noise(model, z, eps, labels=None, norm=None):
    """`z + eps * r_z`: noise moved by `eps` along the per-sample direction that raises the
    generator's loss most to first order (`r_z = worst_case_direction(d L_gen / dz)`).

    Args:
      model: a `RobustGAN` (its discriminator and loss family define the generator's loss).
      z: float32 `[B, latent_dim]`.
      eps: the radius.
      labels: int32 `[B]` for a conditional model.
      norm: "l2", "l1" or "linf"; default the model's.

    Returns:
      float32 `[B, latent_dim]`, with gradients stopped.
    """
    z = tf.convert_to_tensor(z, tf.float32)
    with tf.GradientTape() as tape:
        tape.watch(z)
        loss = tf.reduce_sum(generator_losses(model, z, labels))
    direction = perturbations.worst_case_direction(tape.gradient(loss, z), norm or model.norm)
    return tf.stop_gradient(z + eps * direction)


def random_noise(z, eps, noise, norm="l2"):
    """`z + eps * r`, `r` a random unit direction per sample made from standard normal `noise`
    (`rgan_tf.perturbations.random_direction`): the control for `worst_case_noise`."""
    z = tf.convert_to_tensor(z, tf.float32)
    return z + eps * perturbations.random_direction(noise, norm)


def real_losses(model, images, labels=None):
    """Per-sample discriminator loss on real images, `L_real(D(x))`, float32 `[B]`."""
    return tf.cast(model.loss_family.real(model.discriminate(images, labels)), tf.float32)


def fake_losses(model, images, labels=None):
    """Per-sample discriminator loss on generated images, `L_fake(D(x))`, float32 `[B]`."""
    return tf.cast(model.loss_family.fake(model.discriminate(images, labels)), tf.float32)


def worst_case_images(model, images, eps, labels=None, kind="real", norm=None):
    """Images moved by `eps` along the per-sample direction that raises the discriminator's loss:
    `x + eps r_1` (`kind="real"`, ascent on `L_real`) or `G(z) + eps r_2` (`kind="fake"`, ascent on
    `L_fake`), as in the discriminator's robust step. Not clipped to [-1, 1].

    Returns:
      float32 images of the input's shape, with gradients stopped.
    """
    if kind not in ("real", "fake"):
        raise ValueError(f"kind must be 'real' or 'fake', got {kind!r}.")
    loss_fn = real_losses if kind == "real" else fake_losses
    images = tf.convert_to_tensor(images, tf.float32)
    with tf.GradientTape() as tape:
        tape.watch(images)
        loss = tf.reduce_sum(loss_fn(model, images, labels))
    direction = perturbations.worst_case_direction(tape.gradient(loss, images),
                                                   norm or model.norm)
    return tf.stop_gradient(images + eps * direction)


def compiled(model, name, fn):
    """`tf.function` of `fn(model, *args)`, traced once per model and `name` (held weakly: the
    cache does not keep a model alive)."""
    functions = _COMPILED.setdefault(model, {})
    if name not in functions:
        model_ref = weakref.ref(model)
        # No AutoGraph: the functions have no tensor-dependent Python control flow.
        functions[name] = tf.function(lambda *args: fn(model_ref(), *args),
                                      reduce_retracing=True, autograph=False)
    return functions[name]


def cycled_labels(model, n):
    """Labels 0..K-1 in turn, int32 `[n]`, for a conditional model; None otherwise."""
    if not model.num_classes:
        return None
    return tf.range(n, dtype=tf.int32) % model.num_classes


class NoiseImages:
    """`generate_fn(n) -> images` drawing from normal, worst-case or random-direction noise.

    Call k (k = 0, 1, ...) draws `z ~ N(0, I)` from `(seed, k)`, so every mode sees the same base
    noise batches and their scores are paired; "worst" moves each z by `eps` along the worst-case
    direction (`worst_case_noise`), "random" along a random unit direction. A conditional model's
    labels cycle 0..K-1 within each batch.

    Args:
      model: a `RobustGAN` ("normal" also takes any object with `latent_dim`, `num_classes` and
        `generate(z, labels)`, e.g. `rgan_tf.export.ExportedGenerator`).
      mode: "normal", "worst" or "random".
      eps: the radius (ignored for "normal").
      seed: seed of the noise.
      norm: the perturbation norm; default the model's.
    """

    def __init__(self, model, mode="normal", eps=0.0, seed=0, norm=None):
        if mode not in NOISE_MODES:
            raise ValueError(f"Unknown noise mode {mode!r}; choose one of {NOISE_MODES}.")
        self.model = model
        self.mode = mode
        self.eps = check_radius(eps)
        self.seed = int(seed)
        self.norm = norm or getattr(model, "norm", "l2")
        perturbations.check_norm(self.norm)
        self.calls = 0
        if mode == "worst" and not hasattr(model, "discriminator"):
            raise ValueError("Worst-case noise needs the run's discriminator and loss: evaluate "
                             "a run folder (--model_dir), not an export.")

    def noise(self, n, index):
        """The base noise of call `index`: float32 `[n, latent_dim]` and labels (or None)."""
        z = rng.normal([n, self.model.latent_dim], self.seed, index, Z_STREAM)
        return z, cycled_labels(self.model, n)

    def latent(self, n, index):
        """The (perturbed) noise of call `index`: `z [n, latent_dim]` and labels (or None)."""
        z, labels = self.noise(n, index)
        eps = tf.constant(self.eps, tf.float32)
        if self.mode == "worst":
            norm = self.norm
            z = compiled(self.model, ("worst_noise", norm),
                          lambda model, *args: _worst_noise(model, *args, norm=norm))(
                              z, labels, eps)
        elif self.mode == "random":
            direction_noise = rng.normal([n, self.model.latent_dim], self.seed, index,
                                         DIRECTION_STREAM)
            z = random_noise(z, eps, direction_noise, self.norm)
        return z, labels

    def __call__(self, n):
        """Images `[n, H, W, C]` from the next batch of noise."""
        z, labels = self.latent(n, self.calls)
        self.calls += 1
        return self.model.generate(z, labels)


def _worst_noise(model, z, labels, eps, norm):
    return worst_case_noise(model, z, eps, labels, norm)
