"""How a trained generator makes images outside training: which normalization statistics it uses,
which weights (live or their exponential moving average), and in which batches.

Sampling modes (`RobustGAN.sampling`):
  - "moving_average": batch norm normalizes with its moving averages (Keras' inference mode).
  - "batch_stats": batch norm normalizes with the statistics of the batch being generated, as
    Gulrajani et al.'s `tflib` batch norm always does (`tflib/ops/batchnorm.py` lines 51-52: with
    `is_training=None`, the WGAN-GP scripts' call, it runs the training-mode fused batch norm);
    their Inception Scores were computed on batches of 100 (`gan_cifar.py` lines 160-164,
    `gan_cifar_resnet.py` lines 323-328). Outputs then depend on the batch they are generated in,
    so `sample` generates in batches of `SAMPLING_BATCH`.

Batch-statistics generation is a training-mode call whose state updates are discarded
(`keras.Layer.stateless_call`): no variable is written, so sampling never moves the moving
averages, and an exported SavedModel holds no assignment in its serving functions. Any other
training-mode behaviour of a layer (dropout; none in the shipped generators) would be on as well.

Weights: with an exponential moving average of the generator's trainable weights
(`RobustGAN.ema_decay`), images come from the averaged weights and the live generator's
non-trainable variables (batch norm's moving statistics). adler-j/bwgan does the same: its
`EMAHelper` (adler-j/adler `adler/tensorflow/training.py` lines 32-47) averages the trainable
variables only, and its Inception Score feeds those averages with `is_training=False`
(`cifar10_sobolev.py` lines 338-343); so does compare_gan (`gans/modular_gan.py` lines 266-281,
trainable generator variables only). Others differ: BigGAN-PyTorch averages the batch-norm buffers
too (`utils.py` lines 614-640), and compare_gan can re-estimate "standing" statistics with the
averaged weights before evaluating (`eval_gan_lib.py` lines 65-91). In "batch_stats" mode no moving
statistic is used at all.
"""
import tensorflow as tf

from rgan_tf import rng

SAMPLING_MODES = ("moving_average", "batch_stats")
#: Images per generator call in "batch_stats" mode (the reference's Inception Score batches).
SAMPLING_BATCH = 100


def check_sampling(mode):
    if mode not in SAMPLING_MODES:
        raise ValueError(f"Unknown sampling mode {mode!r}; choose one of {SAMPLING_MODES}.")


def generate(generator, inputs, mode="moving_average", weights=None):
    """Images of `generator` outside training.

    Args:
      generator: a built `keras.Model`.
      inputs: its inputs (`z` or `[z, label]`).
      mode: "moving_average" or "batch_stats" (see the module docstring).
      weights: values for `generator.trainable_variables` (e.g. their moving average), or None
        for the generator's own.

    Returns:
      The generator's output for `inputs`; no variable is changed.
    """
    check_sampling(mode)
    if mode == "moving_average" and weights is None:
        return generator(inputs, training=False)
    trainable = [v.value for v in (generator.trainable_variables if weights is None
                                   else weights)]
    non_trainable = [v.value for v in generator.non_trainable_variables]
    outputs, _ = generator.stateless_call(trainable, non_trainable, inputs,
                                          training=mode == "batch_stats")
    return outputs


def in_batches(generate_fn, z, labels=None, batch_size=None):
    """`generate_fn(z, labels)` over consecutive batches of `batch_size` rows, concatenated.

    Args:
      generate_fn: `(z [b, latent_dim], labels [b] or None) -> images [b, H, W, C]`.
      z: float32 `[n, latent_dim]`.
      labels: int32 `[n]` or None.
      batch_size: rows per call (the last call takes the rest); None: one call for all rows.

    Returns:
      float32 images `[n, H, W, C]`. Works eagerly and inside a `tf.function` (dynamic `n`).
    """
    if batch_size is None:
        return generate_fn(z, labels)
    n = tf.shape(z)[0]
    num_batches = (n + batch_size - 1) // batch_size
    images = tf.TensorArray(tf.float32, size=num_batches, infer_shape=False)

    def body(index, images):
        start = index * batch_size
        stop = tf.minimum(start + batch_size, n)
        part = None if labels is None else labels[start:stop]
        return index + 1, images.write(index, tf.cast(generate_fn(z[start:stop], part),
                                                       tf.float32))

    _, images = tf.while_loop(lambda index, _: index < num_batches, body,
                              [tf.constant(0), images])
    return images.concat()


def sample_noise(n, seed, latent_dim):
    """The noise `RobustGAN.sample(n, seed)` draws: z ~ N(0, I), `[n, latent_dim]` float32."""
    seed = tf.stack([tf.cast(seed, tf.int64), tf.constant(0, tf.int64)])
    return tf.random.stateless_normal(tf.stack([tf.cast(n, tf.int32), latent_dim]), seed,
                                      alg=rng.ALGORITHM)


def batch_size_for(mode):
    """Rows per generator call that `in_batches` should use in sampling `mode`."""
    check_sampling(mode)
    return SAMPLING_BATCH if mode == "batch_stats" else None


def exported_sampling(loaded):
    """The sampling mode of a SavedModel loaded from `rgan_tf.export` ("moving_average" for an
    export that predates the mode)."""
    if not hasattr(loaded, "sampling"):
        return "moving_average"
    return loaded.sampling.numpy().decode()
