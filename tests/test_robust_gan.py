"""RobustGAN's train step: the baseline when robust training is off, each ablation changes only
what it names, the robust terms rise above the clean ones, and bad settings are refused."""
import keras
import numpy as np
import pytest
import tensorflow as tf

from conftest import IMAGE_SHAPE, LATENT_DIM, copy_model, tiny_discriminator, tiny_generator
from rgan_tf import losses, penalties, rng
from rgan_tf.robust_gan import RobustGAN

BATCH = 8


def real_batches(count, batch=BATCH, seed=0):
    images = np.random.default_rng(seed).uniform(-1, 1, (count * batch,) + IMAGE_SHAPE)
    return tf.data.Dataset.from_tensor_slices(images.astype(np.float32)).batch(
        batch, drop_remainder=True)


def make_gan(generator, discriminator, lr=1e-3, d_lr=None, jit_compile=False, **kwargs):
    model = RobustGAN(copy_model(generator), copy_model(discriminator), **kwargs)
    model.compile(keras.optimizers.Adam(lr, beta_1=0.5),
                  keras.optimizers.Adam(lr if d_lr is None else d_lr, beta_1=0.5),
                  jit_compile=jit_compile)
    return model


def assert_same_weights(a, b, rtol=1e-5, atol=1e-6, trainable_only=False):
    pairs = (zip(a.trainable_weights, b.trainable_weights) if trainable_only
             else zip(a.get_weights(), b.get_weights()))
    for x, y in pairs:
        np.testing.assert_allclose(np.asarray(x), np.asarray(y), rtol=rtol, atol=atol)


def differs(a, b):
    return any(not np.allclose(x, y, atol=1e-7) for x, y in zip(a.get_weights(), b.get_weights()))


def labelled_batches(count, num_classes, batch=BATCH, seed=0):
    images = np.random.default_rng(seed).uniform(-1, 1, (count * batch,) + IMAGE_SHAPE)
    labels = np.arange(count * batch, dtype=np.int32) % num_classes
    return tf.data.Dataset.from_tensor_slices((images.astype(np.float32), labels)).batch(
        batch, drop_remainder=True)


def plain_gan_steps(generator, discriminator, batches, family, penalty=None, d_steps=1,
                    multiplier=1, num_classes=None, seed=0):
    """A textbook alternating GAN, written independently of RobustGAN, drawing its noise (and fake
    labels) from the same counter-based streams (critic step k: noise stream 8k, labels 8k + 1,
    penalty weights 8k + 2; generator: 8 d_steps and 8 d_steps + 1). The generator's batch is
    `multiplier` times a critic step's."""
    g_opt = keras.optimizers.Adam(1e-3, beta_1=0.5)
    d_opt = keras.optimizers.Adam(1e-3, beta_1=0.5)

    def gen(z, labels):
        return generator(z if labels is None else [z, labels], training=True)

    def disc(images, labels):
        return discriminator(images if labels is None else [images, labels], training=True)

    def fake_labels(n, counter, stream):
        return None if num_classes is None else rng.categorical(n, num_classes, seed, counter,
                                                                stream + 1)

    for counter, batch in enumerate(batches):
        real, labels = batch if num_classes is not None else (batch, None)
        chunks = tf.reshape(real, [-1, d_steps] + list(IMAGE_SHAPE))
        label_chunks = None if labels is None else tf.reshape(labels, [-1, d_steps])
        for k in range(d_steps):
            chunk = chunks[:, k]
            chunk_labels = None if labels is None else label_chunks[:, k]
            n = chunk.shape[0]
            chunk_fake_labels = fake_labels(n, counter, 8 * k)
            fake = gen(rng.normal([n, LATENT_DIM], seed, counter, 8 * k), chunk_fake_labels)
            with tf.GradientTape() as tape:
                loss = (tf.reduce_mean(family.real(disc(chunk, chunk_labels)))
                        + tf.reduce_mean(family.fake(disc(fake, chunk_fake_labels))))
                if penalty is not None:
                    alpha = rng.uniform([n], seed, counter, 8 * k + 2)
                    loss += penalty(lambda x: disc(x, chunk_labels), chunk, fake, alpha)
            variables = discriminator.trainable_variables
            d_opt.apply(tape.gradient(loss, variables), variables)
        n = chunks.shape[0] * multiplier
        g_labels = fake_labels(n, counter, 8 * d_steps)
        z = rng.normal([n, LATENT_DIM], seed, counter, 8 * d_steps)
        with tf.GradientTape() as tape:
            loss = tf.reduce_mean(family.generator(disc(gen(z, g_labels), g_labels)))
        variables = generator.trainable_variables
        g_opt.apply(tape.gradient(loss, variables), variables)


@pytest.mark.parametrize("family,penalty,d_steps,multiplier,num_classes", [
    (losses.non_saturating_loss, None, 1, 1, None),
    (losses.wasserstein_loss, penalties.gradient_penalty, 2, 1, None),
    (losses.hinge_loss, None, 2, 1, None),
    # WGAN-GP ResNet's layout: the generator's batch twice the critic's.
    (losses.wasserstein_loss, penalties.gradient_penalty, 2, 2, None),
    # Conditional SNGAN's layout: labels in both players, hinge loss, G batch x2.
    (losses.hinge_loss, None, 2, 2, 3),
])
def test_robust_off_equals_a_plain_gan(family, penalty, d_steps, multiplier, num_classes):
    keras.utils.set_random_seed(0)
    generator = tiny_generator(num_classes=num_classes)
    discriminator = tiny_discriminator(num_classes=num_classes)
    model = make_gan(generator, discriminator, robust="off", loss=family(), penalty=penalty,
                     d_steps=d_steps, generator_batch_multiplier=multiplier,
                     num_classes=num_classes)

    def batches():
        if num_classes is None:
            return real_batches(3, BATCH * d_steps)
        return labelled_batches(3, num_classes, BATCH * d_steps)

    model.fit(batches(), epochs=1, verbose=0)
    plain_g, plain_d = copy_model(generator), copy_model(discriminator)
    plain_gan_steps(plain_g, plain_d, batches(), family(), penalty, d_steps, multiplier,
                    num_classes)
    assert_same_weights(model.generator, plain_g)
    assert_same_weights(model.discriminator, plain_d)


def test_xla_step_compiles_and_is_deterministic(tiny_models):
    # XLA draws other random numbers than the TF kernels (see rgan_tf.rng), so the check is that
    # the compiled robust step runs and two identical runs agree exactly.
    runs = []
    for _ in range(2):
        model = make_gan(*tiny_models, robust="both", eps_x=1.0, penalty=penalties.gradient_penalty,
                         d_steps=2, jit_compile=True)
        history = model.fit(real_batches(2, 2 * BATCH), verbose=0).history
        runs.append(model)
    assert model.jit_compile and np.isfinite(history["d_robust"][-1])
    assert_same_weights(runs[0].generator, runs[1].generator, rtol=0, atol=0)
    assert_same_weights(runs[0].discriminator, runs[1].discriminator, rtol=0, atol=0)


def test_generator_only_leaves_the_discriminator_update_alone(tiny_models):
    # The critic update precedes the generator's, so with robust training on G only the
    # discriminator after one step is the baseline's, and the generator is not.
    off = make_gan(*tiny_models, robust="off")
    g_only = make_gan(*tiny_models, robust="generator", eps_z=0.5)
    off.fit(real_batches(1), verbose=0)
    g_only.fit(real_batches(1), verbose=0)
    assert_same_weights(off.discriminator, g_only.discriminator)
    assert differs(off.generator, g_only.generator)
    assert set(g_only.trackers) - set(off.trackers) == {"g_robust"}


def float64_copy(model):
    """`model` rebuilt with float64 layers and the same weights (for finite differences)."""
    config = model.get_config()
    for layer in config["layers"]:
        layer["config"]["dtype"] = "float64"
    copy = keras.Model.from_config(config)
    copy.set_weights(model.get_weights())
    return copy


def finite_difference_direction(per_sample_loss, images, h=1e-7):
    """The per-sample unit L2 direction of `d per_sample_loss(images)[i] / d images[i]` by central
    differences in float64 (a step small enough not to cross a LeakyReLU kink). Sample i's loss
    depends on image i only, so one pixel of every image moves at a time (2 H W C calls)."""
    flat = np.asarray(images, np.float64).reshape(len(images), -1)
    gradient = np.zeros_like(flat)
    for pixel in range(flat.shape[1]):
        step = np.zeros_like(flat)
        step[:, pixel] = h
        up, down = (per_sample_loss((flat + sign * step).reshape(np.shape(images)))
                    for sign in (1.0, -1.0))
        gradient[:, pixel] = (up - down) / (2 * h)
    gradient /= np.linalg.norm(gradient, axis=1, keepdims=True)
    return tf.constant(gradient.reshape(np.shape(images)), tf.float32)


def test_discriminator_only_critic_step_is_the_hand_built_robust_update(tiny_models):
    # One critic step with SGD (the update is -lr times the gradient, so every term shows):
    # clean loss + lam * [L_real(x + eps_x r_1) + L_fake(G(z) + eps_x r_2)], the directions r_1,
    # r_2 from finite differences of the critic's per-sample losses softplus(-D(x)), softplus(D).
    generator, discriminator = tiny_models
    lam, eps_x, lr = 0.5, 1.0, 0.1
    model = RobustGAN(copy_model(generator), copy_model(discriminator), robust="discriminator",
                      lam=lam, eps_x=eps_x)
    model.compile(keras.optimizers.SGD(lr), keras.optimizers.SGD(lr), jit_compile=False)
    model.fit(real_batches(1), verbose=0)

    real = next(iter(real_batches(1)))
    critic, critic64 = copy_model(discriminator), float64_copy(discriminator)
    # The step's noise: seed 0, counter 0, stream 0 (rgan_tf.rng); G in training mode.
    fake = copy_model(generator)(rng.normal([BATCH, LATENT_DIM], 0, 0, 0), training=True)
    r_1 = finite_difference_direction(
        lambda x: np.logaddexp(0.0, -critic64(x).numpy().ravel()), real)
    r_2 = finite_difference_direction(
        lambda x: np.logaddexp(0.0, critic64(x).numpy().ravel()), fake)
    with tf.GradientTape(persistent=True) as tape:
        clean = (tf.reduce_mean(tf.nn.softplus(-critic(real)))
                 + tf.reduce_mean(tf.nn.softplus(critic(fake))))
        robust = (tf.reduce_mean(tf.nn.softplus(-critic(real + eps_x * r_1)))
                  + tf.reduce_mean(tf.nn.softplus(critic(fake + eps_x * r_2))))
        total = clean + lam * robust
    variables = critic.trainable_variables
    expected = [v - lr * g for v, g in zip(variables, tape.gradient(total, variables))]
    clean_only = [v - lr * g for v, g in zip(variables, tape.gradient(clean, variables))]
    for got, want in zip(model.discriminator.trainable_weights, expected, strict=True):
        np.testing.assert_allclose(np.asarray(got), np.asarray(want), rtol=1e-5, atol=1e-6)
    # The robust term moved the critic by far more than the tolerance.
    assert max(np.max(np.abs(np.asarray(a) - np.asarray(b)))
               for a, b in zip(expected, clean_only)) > 1e-3


def test_discriminator_only_leaves_the_generator_update_alone(tiny_models):
    # With D frozen (learning rate 0) the generator sees the same critic in both runs, so its
    # update is the baseline's.
    off = make_gan(*tiny_models, robust="off", d_lr=0.0)
    d_only_frozen = make_gan(*tiny_models, robust="discriminator", eps_x=1.0, d_lr=0.0)
    for model in (off, d_only_frozen):
        model.fit(real_batches(1), verbose=0)
    assert_same_weights(off.generator, d_only_frozen.generator)
    assert differs(off.generator, copy_model(tiny_models[0]))  # the generator did train
    assert set(d_only_frozen.trackers) - set(off.trackers) == {"d_robust"}


def test_both_perturbs_both_players(tiny_models):
    plain = make_gan(*tiny_models, robust="off")
    both = make_gan(*tiny_models, robust="both", eps_z=0.5, eps_x=1.0)
    plain.fit(real_batches(1), verbose=0)
    history = both.fit(real_batches(1), verbose=0).history
    assert differs(plain.generator, both.generator)
    assert differs(plain.discriminator, both.discriminator)
    assert {"d_loss", "g_loss", "d_robust", "g_robust", "d_real", "d_fake"} <= set(history)


def test_worst_case_raises_each_loss_more_than_random_noise(tiny_models):
    # At the same weights (lr 0) and the same draws, the worst-case terms exceed the clean
    # losses and the random-noise terms of the same radius.
    kwargs = dict(eps_z=1.0, eps_x=2.0, lr=0.0)
    worst = make_gan(*tiny_models, robust="both", **kwargs).fit(real_batches(4), verbose=0)
    random = make_gan(*tiny_models, robust="random", **kwargs).fit(real_batches(4), verbose=0)
    worst, random = worst.history, random.history
    assert worst["d_robust"][0] > worst["d_loss"][0]
    assert worst["g_robust"][0] > worst["g_loss"][0]
    assert worst["d_robust"][0] - worst["d_loss"][0] > random["d_robust"][0] - random["d_loss"][0]
    assert worst["g_robust"][0] - worst["g_loss"][0] > random["g_robust"][0] - random["g_loss"][0]


def test_lambda_zero_equals_the_baseline(tiny_models):
    off = make_gan(*tiny_models, robust="off")
    zero = make_gan(*tiny_models, robust="both", lam=0.0, eps_x=1.0)
    off.fit(real_batches(2), verbose=0)
    zero.fit(real_batches(2), verbose=0)
    # Trainable weights only: the robust forward pass runs in training mode, so batch norm's
    # moving statistics also see the perturbed batches.
    assert_same_weights(off.generator, zero.generator, trainable_only=True)
    assert_same_weights(off.discriminator, zero.discriminator, trainable_only=True)


def test_mixture_weighting_scales_the_clean_term(tiny_models):
    # With SGD, mixture(lam) = (1 - lam) * clean + lam * robust = (1 - lam) * algorithm1 with
    # weight lam / (1 - lam) on the robust term.
    mixture = RobustGAN(copy_model(tiny_models[0]), copy_model(tiny_models[1]), eps_x=1.0,
                        eps_z=0.5, lam=0.2, weighting="mixture")
    mixture.compile(keras.optimizers.SGD(0.1), keras.optimizers.SGD(0.1), jit_compile=False)
    algorithm1 = RobustGAN(copy_model(tiny_models[0]), copy_model(tiny_models[1]), eps_x=1.0,
                           eps_z=0.5, lam=0.25)
    algorithm1.compile(keras.optimizers.SGD(0.08), keras.optimizers.SGD(0.08), jit_compile=False)
    mixture.fit(real_batches(1), verbose=0)
    algorithm1.fit(real_batches(1), verbose=0)
    assert_same_weights(mixture.discriminator, algorithm1.discriminator, rtol=1e-4,
                        trainable_only=True)
    assert_same_weights(mixture.generator, algorithm1.generator, rtol=1e-4, trainable_only=True)


def test_conditional_step_uses_labels_and_leaves_them_untouched():
    keras.utils.set_random_seed(1)
    generator, discriminator = tiny_generator(num_classes=3), tiny_discriminator(num_classes=3)
    model = make_gan(generator, discriminator, num_classes=3, eps_x=1.0, eps_z=0.5)
    images = np.random.default_rng(0).uniform(-1, 1, (16,) + IMAGE_SHAPE).astype(np.float32)
    labels = np.arange(16, dtype=np.int32) % 3
    kept = labels.copy()
    history = model.fit(tf.data.Dataset.from_tensor_slices((images, labels)).batch(8),
                        verbose=0).history
    np.testing.assert_array_equal(labels, kept)
    assert np.isfinite(history["d_robust"][0])
    z = tf.zeros([2, LATENT_DIM])
    assert not np.allclose(model.generate(z, tf.constant([0, 0])),
                           model.generate(z, tf.constant([1, 2])))
    with pytest.raises(ValueError, match="conditional"):
        model.generate(z)


@pytest.mark.parametrize("kwargs,message", [
    (dict(robust="sometimes"), "Unknown robust mode"),
    (dict(norm="l3"), "Unknown perturbation norm"),
    (dict(lam=-0.1), "lam must be a finite number >= 0"),
    (dict(eps_x=float("nan")), "eps_x must be a finite number >= 0"),
    (dict(eps_z=float("inf")), "eps_z must be a finite number >= 0"),
    (dict(weighting="mixture", lam=1.0), "mixture weighting needs lam < 1"),
    (dict(weighting="average"), "Unknown weighting"),
    (dict(d_steps=0), "d_steps must be an integer >= 1"),
    (dict(num_classes=10), "needs num_classes"),
])
def test_bad_settings_are_refused(tiny_models, kwargs, message):
    with pytest.raises(ValueError, match=message):
        RobustGAN(*tiny_models, **kwargs)


def test_batch_that_cannot_be_split_among_critic_steps_is_refused(tiny_models):
    model = make_gan(*tiny_models, d_steps=3)
    with pytest.raises(ValueError, match="cannot be split among d_steps=3"):
        model.fit(real_batches(1, batch=8), verbose=0)


def test_images_of_the_wrong_shape_are_refused(tiny_models):
    model = make_gan(*tiny_models)
    data = tf.data.Dataset.from_tensor_slices(np.zeros([8, 4, 4, 1], np.float32)).batch(8)
    with pytest.raises(ValueError, match=r"shape \(4, 4, 1\) but the generator makes"):
        model.fit(data, verbose=0)


@pytest.mark.parametrize("penalty,d_steps", [(None, 1), (penalties.gradient_penalty, 2)])
def test_robust_step_costs_one_extra_forward_pass_per_input(tiny_models, penalty, d_steps):
    # The cost floor (docs/method.md): the directions come from the clean backward pass, so robust
    # training adds exactly one forward (and backward) pass over each perturbed input: per critic
    # step D runs on x + r_1 and G(z) + r_2, per generator step G and D run on z + r_z. Counted
    # in samples, since a critic without batch norm scores two batches in one call
    # (rgan_tf.critic_calls).
    samples = {}
    for robust in ("off", "both"):
        model = make_gan(*tiny_models, robust=robust, penalty=penalty, d_steps=d_steps)
        model.run_eagerly = True  # every call counted once, not per trace
        counts = samples[robust] = {"generate": 0, "discriminate": 0}
        for name in counts:
            def counted(inputs, *args, _name=name, _method=getattr(model, name), **kwargs):
                counts[_name] += int(inputs.shape[0])
                return _method(inputs, *args, **kwargs)
            setattr(model, name, counted)
        model.fit(real_batches(1, BATCH * d_steps), verbose=0)
    clean_d_samples = BATCH * (d_steps * (2 + (penalty is not None)) + 1)
    assert samples["off"] == {"generate": BATCH * (d_steps + 1), "discriminate": clean_d_samples}
    assert samples["both"] == {"generate": BATCH * (d_steps + 2),
                               "discriminate": clean_d_samples + BATCH * (2 * d_steps + 1)}


# ------------------------------------------------------------------------------------------------
# Worst-case directions (RobustGAN.direction).

def loud(discriminator, factor=40.0):
    """`discriminator` with its logits scaled by `factor`: most hinge samples pass the margin."""
    last = discriminator.layers[-1]
    last.kernel.assign(last.kernel * factor)
    last.bias.assign(last.bias * factor)
    return discriminator


def centre(model, images, level):
    """Shifts the discriminator's last bias so that its median logit on `images` is `level`:
    with `loud` logits, half of the samples then lie beyond a hinge margin at `level`."""
    last = model.discriminator.layers[-1]
    last.bias.assign(last.bias + (level - np.median(np.asarray(model.discriminate(images)))))


def unit_rows(array):
    flat = np.asarray(array, np.float64).reshape(len(array), -1)
    return flat / np.linalg.norm(flat, axis=1, keepdims=True)


def assert_same_direction(direction, expected, min_cosine=0.999):
    cosines = np.sum(unit_rows(direction) * unit_rows(expected), axis=1)
    assert cosines.min() > min_cosine, cosines
    np.testing.assert_allclose(np.linalg.norm(np.reshape(direction, (len(direction), -1)),
                                              axis=1), 1.0, rtol=1e-5)


def image_gradient_fd(per_sample_value, images, h=1e-3):
    """Central differences of `per_sample_value(images) -> [B]` (samples scored independently)
    with respect to each pixel of each sample, in one batched call."""
    images = np.asarray(images, np.float32)
    batch, size = len(images), int(np.prod(images.shape[1:]))
    steps = np.eye(size, dtype=np.float32).reshape((size,) + images.shape[1:]) * h
    shifted = np.concatenate([images[:, None] + steps[None], images[:, None] - steps[None]])
    values = np.asarray(per_sample_value(shifted.reshape((-1,) + images.shape[1:])), np.float64)
    values = values.reshape(2, batch, size)
    return ((values[0] - values[1]) / (2 * h)).reshape(images.shape)


def noise_gradient_fd(batch_value, z, h=1e-3):
    """Central differences of `batch_value(z) -> scalar` (samples coupled through batch norm)
    with respect to each coordinate of each noise vector."""
    z = np.asarray(z, np.float32)
    grad = np.zeros(z.shape, np.float64)
    for i in range(z.shape[0]):
        for k in range(z.shape[1]):
            up, down = z.copy(), z.copy()
            up[i, k] += h
            down[i, k] -= h
            grad[i, k] = (float(batch_value(up)) - float(batch_value(down))) / (2 * h)
    return grad


# Family, direction mode and penalty; then the quantity each direction must ascend: real, fake
# and generator targets as functions of logits [B].
FD_CASES = {
    "hinge-logit": (losses.hinge_loss, "logit", None,
                    lambda d: -d, lambda d: d, lambda d: -d),
    "non_saturating-loss": (losses.non_saturating_loss, "loss", None,
                            lambda d: tf.nn.softplus(-d),
                            lambda d: tf.nn.softplus(d), lambda d: tf.nn.softplus(-d)),
    "non_saturating-logit": (losses.non_saturating_loss, "logit", None,
                             lambda d: -d, lambda d: d, lambda d: tf.nn.softplus(-d)),
    "wgan_gp-logit": (losses.wasserstein_loss, "logit", penalties.gradient_penalty,
                      lambda d: -d, lambda d: d, lambda d: -d),
}


@pytest.mark.parametrize("case", sorted(FD_CASES))
def test_step_directions_match_finite_differences(tiny_models, case):
    family, direction, penalty, real_target, fake_target, gen_target = FD_CASES[case]
    generator, discriminator = tiny_models
    model = make_gan(generator, loud(copy_model(discriminator)), loss=family(), penalty=penalty,
                     direction=direction)
    rng_np = np.random.default_rng(3)
    real = rng_np.uniform(-1, 1, (BATCH,) + IMAGE_SHAPE).astype(np.float32)
    fake = np.asarray(model.generate(rng_np.normal(size=(BATCH, LATENT_DIM)).astype(np.float32),
                                     training=True))
    score = lambda target: lambda x: target(model.discriminate(x, training=True))  # noqa: E731
    for images, index, target, margin in ((real, 0, real_target, 1.0),
                                          (fake, 1, fake_target, -1.0)):
        if case == "hinge-logit":  # half the samples beyond the margin: both branches run
            centre(model, images, margin)
        direction = model.discriminator_directions(real, fake)[index]
        assert_same_direction(direction, image_gradient_fd(score(target), images))

    # r_z: the generator in training mode couples the samples through batch norm, so each
    # coordinate of each z is moved alone and the whole batch's target is differentiated.
    z = rng_np.normal(size=(BATCH, LATENT_DIM)).astype(np.float32)
    batch_value = tf.function(lambda z: tf.reduce_sum(gen_target(model.discriminate(
        model.generate(z, training=True), training=True))))
    expected = noise_gradient_fd(batch_value, z)
    assert_same_direction(model.generator_direction(z), expected, min_cosine=0.99)


def test_hinge_sample_beyond_the_margin_gets_a_unit_direction(tiny_models):
    generator, discriminator = tiny_models
    real = np.random.default_rng(0).uniform(-1, 1, (BATCH,) + IMAGE_SHAPE).astype(np.float32)
    fake = np.asarray(copy_model(generator)(np.random.default_rng(1).normal(
        size=(BATCH, LATENT_DIM)).astype(np.float32), training=True))
    for images, index, margin, beyond in ((real, 0, 1.0, np.greater),
                                          (fake, 1, -1.0, np.less)):
        norms = {}
        for direction in ("logit", "loss"):
            model = make_gan(generator, loud(copy_model(discriminator)),
                             loss=losses.hinge_loss(), direction=direction)
            centre(model, images, margin)
            flat = beyond(np.asarray(model.discriminate(images)), margin)
            assert flat.any() and not flat.all()
            r = model.discriminator_directions(real, fake)[index]
            norms[direction] = np.linalg.norm(np.reshape(r, (BATCH, -1)), axis=1)
        np.testing.assert_allclose(norms["logit"], 1.0, rtol=1e-5)
        # The loss gradient vanishes there: the "loss" option leaves those samples unperturbed.
        np.testing.assert_array_equal(norms["loss"][flat], 0.0)
        np.testing.assert_allclose(norms["loss"][~flat], 1.0, rtol=1e-5)


@pytest.mark.parametrize("family", [
    losses.non_saturating_loss, losses.wasserstein_loss,
    lambda: losses.banach_wasserstein_loss(gamma=3.0, drift=1e-2)])
def test_logit_and_loss_directions_agree_for_losses_monotone_in_the_logit(tiny_models, family):
    generator, discriminator = tiny_models
    rng_np = np.random.default_rng(2)
    real = rng_np.uniform(-1, 1, (BATCH,) + IMAGE_SHAPE).astype(np.float32)
    fake = rng_np.uniform(-1, 1, (BATCH,) + IMAGE_SHAPE).astype(np.float32)
    z = rng_np.normal(size=(BATCH, LATENT_DIM)).astype(np.float32)
    directions = {}
    for direction in ("logit", "loss"):
        model = make_gan(generator, discriminator, loss=family(), direction=direction)
        directions[direction] = list(model.discriminator_directions(real, fake)) + [
            model.generator_direction(z)]
    for logit, loss in zip(directions["logit"], directions["loss"]):
        assert_same_direction(logit, loss, min_cosine=1 - 1e-5)


def test_the_step_perturbs_along_the_directions_it_exposes(tiny_models):
    # With learning rate 0 the step's weights are fixed; its robust losses (logged) must be the
    # losses at the exposed directions, for the step's own draws (rgan_tf.rng streams: critic
    # noise 0, generator noise 8).
    generator, discriminator = tiny_models
    eps_x, eps_z = 1.0, 0.5
    robust = {}
    for direction in ("logit", "loss"):
        model = make_gan(generator, loud(copy_model(discriminator)), lr=0.0,
                         loss=losses.hinge_loss(), eps_x=eps_x, eps_z=eps_z,
                         direction=direction)
        real = next(iter(real_batches(1)))
        history = model.fit(real_batches(1), verbose=0).history
        family = model.loss_family
        fake = model.generate(rng.normal([BATCH, LATENT_DIM], 0, 0, 0), training=True)
        r_real, r_fake = model.discriminator_directions(real, fake)
        d_robust = (np.mean(family.real(model.discriminate(real + eps_x * r_real, training=True)))
                    + np.mean(family.fake(model.discriminate(fake + eps_x * r_fake,
                                                             training=True))))
        z = rng.normal([BATCH, LATENT_DIM], 0, 0, 8)
        perturbed = model.generate(z + eps_z * model.generator_direction(z), training=True)
        g_robust = np.mean(family.generator(model.discriminate(perturbed, training=True)))
        np.testing.assert_allclose(history["d_robust"][0], d_robust, rtol=1e-5)
        np.testing.assert_allclose(history["g_robust"][0], g_robust, rtol=1e-5)
        robust[direction] = history["d_robust"][0]
    assert robust["logit"] > robust["loss"]  # the flat hinge samples are perturbed too


def test_unknown_direction_is_refused(tiny_models):
    with pytest.raises(ValueError, match="Unknown direction 'gradient'"):
        RobustGAN(*tiny_models, direction="gradient")


# ------------------------------------------------------------------------------------------------
# Conditional models with a penalty.

def test_conditional_penalty_scores_interpolates_under_the_real_labels():
    # One critic step of a conditional WGAN-GP equals a hand-written step whose fakes are
    # generated from the real labels (gan_cifar_resnet.py), not one with drawn labels.
    keras.utils.set_random_seed(1)
    generator, discriminator = tiny_generator(num_classes=3), tiny_discriminator(num_classes=3)
    model = make_gan(generator, discriminator, lr=0.0, d_lr=1e-2, num_classes=3, robust="off",
                     loss=losses.wasserstein_loss(), penalty=penalties.gradient_penalty)
    images = np.random.default_rng(0).uniform(-1, 1, (BATCH,) + IMAGE_SHAPE).astype(np.float32)
    labels = np.array([0, 1, 2, 0, 1, 2, 2, 1], np.int32)
    model.fit(tf.data.Dataset.from_tensor_slices((images, labels)).batch(BATCH), verbose=0)
    images, labels = tf.constant(images), tf.constant(labels)

    def by_hand(fake_labels):
        plain_g, plain_d = copy_model(generator), copy_model(discriminator)
        family = losses.wasserstein_loss()
        fake = plain_g([rng.normal([BATCH, LATENT_DIM], 0, 0, 0), fake_labels], training=True)
        alpha = rng.uniform([BATCH], 0, 0, 2)
        with tf.GradientTape() as tape:
            loss = (tf.reduce_mean(family.real(plain_d([images, labels], training=True)))
                    + tf.reduce_mean(family.fake(plain_d([fake, fake_labels], training=True)))
                    + penalties.gradient_penalty(
                        lambda x: plain_d([x, labels], training=True), images, fake, alpha))
        optimizer = keras.optimizers.Adam(1e-2, beta_1=0.5)
        optimizer.apply(tape.gradient(loss, plain_d.trainable_variables),
                        plain_d.trainable_variables)
        return plain_d

    assert_same_weights(model.discriminator, by_hand(labels))
    drawn = rng.categorical(BATCH, 3, 0, 0, 1)
    assert differs(model.discriminator, by_hand(drawn))
