"""Discriminator regularizers, as pure functions written with `GradientTape`.

A penalty has the signature `penalty(discriminator_fn, real, fake, alpha) -> scalar`, where
`discriminator_fn` maps images `[B, H, W, C]` to logits, `real` and `fake` are image batches of one
shape and `alpha` `[B]` holds the interpolation weights drawn U[0, 1] by the model. The returned
scalar is already weighted and averaged over the batch. (TF-GAN's penalty uses `tf.gradients`,
which fails eagerly; these run eagerly, under `tf.function` and under XLA.)
"""
import gin
import tensorflow as tf


def interpolate(real, fake, alpha):
    """Points on the segments between paired real and fake images: `real + alpha (fake - real)`.

    Inputs are treated as constants, so a penalty never leaks into the gradient that gives the
    worst-case directions of robust training.
    """
    real = tf.stop_gradient(tf.cast(real, tf.float32))
    fake = tf.stop_gradient(tf.cast(fake, tf.float32))
    alpha = tf.reshape(tf.cast(alpha, tf.float32), [-1] + [1] * (real.shape.rank - 1))
    return real + alpha * (fake - real)


def input_gradients(discriminator_fn, images):
    """Gradient of the summed logits with respect to each input image, shape of `images`."""
    with tf.GradientTape() as tape:
        tape.watch(images)
        total = tf.reduce_sum(tf.cast(discriminator_fn(images), tf.float32))
    return tape.gradient(total, images)


@gin.configurable(denylist=["discriminator_fn", "real", "fake", "alpha"])
def gradient_penalty(discriminator_fn, real, fake, alpha, weight=10.0, target=1.0):
    """WGAN-GP's two-sided penalty `weight * E[(||grad D(x^)||_2 - target)^2]` (Gulrajani et al. 2017).

    Args:
        discriminator_fn: images `[B, H, W, C]` -> logits `[B]` or `[B, 1]`.
        real: real images `[B, H, W, C]`.
        fake: generated images, same shape.
        alpha: interpolation weights `[B]`, drawn U[0, 1].
        weight: the penalty's coefficient (10 in WGAN-GP).
        target: the gradient norm the critic is pushed towards.

    Returns:
        A float32 scalar.
    """
    if weight < 0:
        raise ValueError(f"gradient_penalty weight must be >= 0, got {weight}.")
    grads = input_gradients(discriminator_fn, interpolate(real, fake, alpha))
    norms = tf.sqrt(tf.reduce_sum(tf.square(grads), axis=list(range(1, grads.shape.rank))) + 1e-12)
    return weight * tf.reduce_mean(tf.square(norms - target))


# Banach Wasserstein GAN (Adler & Lunz 2018, https://arxiv.org/abs/1806.06621; adler-j/bwgan).
def sobolev_filter(images, s=0.0, c=5.0):
    """The Fourier multiplier `F_s`: `ifft2( (1 + c |xi|^2)^(s/2) * fft2(x) )`, per channel.

    The frequencies are those of adler-j/bwgan's `sobolev_utils.py`: along an axis of length n,
    index k has `xi = min(k, n - k) / (n // 2)` (so |xi| <= 1 per axis). `||F_s x||_p` is the norm
    of the Sobolev space W^{s,p}; `F_{-s}` inverts `F_s`. At `s = 0` the multiplier is 1 and the
    images are returned unchanged (without an FFT).

    Args:
        images: `[B, H, W, C]`.
        s: order of the Sobolev space (negative: smoothing; positive: sharpening).
        c: scale of the frequency coordinates (5 in BWGAN).

    Returns:
        float32 `[B, H, W, C]`.
    """
    images = tf.cast(images, tf.float32)
    if s == 0:
        return images
    channels_first = tf.transpose(images, [0, 3, 1, 2])  # fft2d transforms the last two axes
    spectrum = tf.signal.fft2d(tf.complex(channels_first, tf.zeros_like(channels_first)))

    def frequencies(n):
        k = tf.range(n)
        return tf.cast(tf.minimum(k, n - k), tf.float32) / tf.cast(n // 2, tf.float32)

    shape = tf.shape(images)
    xi_h, xi_w = frequencies(shape[1]), frequencies(shape[2])
    squared = xi_h[:, None] ** 2 + xi_w[None, :] ** 2  # [H, W]
    scale = tf.pow(1.0 + c * squared, s / 2.0)
    filtered = tf.signal.ifft2d(spectrum * tf.complex(scale, tf.zeros_like(scale))[None, None])
    return tf.transpose(tf.math.real(filtered), [0, 2, 3, 1])


def dual_exponent(p):
    """`q = p / (p - 1)`, the Hölder conjugate of `p >= 1` (1 <-> inf)."""
    p = float(p)
    if not p >= 1:
        raise ValueError(f"The Lp exponent p must be >= 1, got {p}.")
    if p == 1:
        return float("inf")
    if p == float("inf"):
        return 1.0
    return p / (p - 1.0)


def lp_norms(x, p):
    """Per-sample Lp norm over all non-batch axes, `[B, ...] -> [B]`, computed like BWGAN's
    `stable_norm` (rescaled by the largest entry, so large p neither overflows nor underflows)."""
    flat = tf.reshape(tf.cast(x, tf.float32), [tf.shape(x)[0], -1])
    scale = tf.stop_gradient(tf.reduce_max(tf.abs(flat), axis=1) + 1e-5)
    scaled = tf.abs(flat / scale[:, None])
    if p == float("inf"):
        return scale * tf.reduce_max(scaled, axis=1)
    return scale * tf.pow(tf.reduce_sum(tf.pow(scaled, p), axis=1) + 1e-12, 1.0 / p)


def bwgan_constants(images, p=2.0, s=0.0, c=5.0):
    """BWGAN's data-derived constants `(lambda, gamma)` from a batch of real images.

    As adler-j/bwgan's `cifar10_sobolev.py` computes them: `lambda = mean ||F_s x||_p` and
    `gamma = mean ||F_s x||_q` with `q = p / (p - 1)`. (The reference also builds `F_{-s} x`, the
    image in the dual Sobolev space, but takes both norms of `F_s x`; at the default `s = 0` the
    two coincide.) The reference re-estimates them on every real batch.

    Args:
        images: real images `[B, H, W, C]`.
        p, s, c: the Banach space W^{s,p} and the frequency scale, as in `bwgan_penalty`.

    Returns:
        `(lam, gamma)`, two float32 scalars.
    """
    q = dual_exponent(p)
    filtered = sobolev_filter(images, s, c)
    return tf.reduce_mean(lp_norms(filtered, float(p))), tf.reduce_mean(lp_norms(filtered, q))


@gin.configurable(denylist=["discriminator_fn", "real", "fake", "alpha"])
def bwgan_penalty(discriminator_fn, real, fake, alpha, weight=None, gamma=None, p=2.0, s=0.0,
                  c=5.0):
    """BWGAN's penalty `weight * E[(||F_{-s} grad D(x^)||_q / gamma - 1)^2]` (Adler & Lunz 2018).

    The critic is pushed to be 1/gamma-Lipschitz in the Banach space `B = W^{s,p}`, whose dual
    norm is `||F_{-s} g||_q`, `q = p / (p - 1)`; the gradient is taken at the interpolates
    `x^ = real + alpha (fake - real)` as in WGAN-GP. At `p = 2, s = 0` this is WGAN-GP's
    penalty: `gradient_penalty(weight=weight / gamma**2, target=gamma)`.

    Args:
        discriminator_fn: images `[B, H, W, C]` -> logits `[B]` or `[B, 1]`.
        real: real images `[B, H, W, C]`.
        fake: generated images, same shape.
        alpha: interpolation weights `[B]`, drawn U[0, 1].
        weight: the penalty's coefficient, BWGAN's lambda. None: estimated from `real` on every
            call, as the reference does (`bwgan_constants`).
        gamma: the target dual norm. None: estimated from `real` likewise. Fixed values (from
            `bwgan_constants` on a large sample) make a run independent of how the batch is
            split among replicas. Pair with `rgan_tf.losses.banach_wasserstein_loss(gamma)`.
        p: the Lp exponent of the image space (2).
        s: the Sobolev order (0).
        c: the frequency scale of the Sobolev filter (5).

    Returns:
        A float32 scalar.
    """
    q = dual_exponent(p)
    for name, value in (("weight", weight), ("gamma", gamma)):
        if value is not None and not value >= 0:
            raise ValueError(f"bwgan_penalty {name} must be >= 0 or None, got {value}.")
    if gamma == 0:
        raise ValueError("bwgan_penalty gamma must be > 0.")
    if weight is None or gamma is None:
        lam, estimated_gamma = bwgan_constants(tf.stop_gradient(real), p, s, c)
        weight = lam if weight is None else weight
        gamma = estimated_gamma if gamma is None else gamma
    grads = input_gradients(discriminator_fn, interpolate(real, fake, alpha))
    norms = lp_norms(sobolev_filter(grads, -s, c), q)
    return weight * tf.reduce_mean(tf.square(norms / gamma - 1.0))
