"""IS, FID and KID: TF-GAN's maths on activations collected in bounded memory, with the protocol.

Three layers:

* Pure maths on numpy activations, through TF-GAN's eval functions (`tfgan_compat`):
  `inception_score`, `frechet_distance`, `kernel_distance`.
* Streaming collection (`rgan_tf.evaluation.activations`): a `classifiers.Classifier` run over
  image batches, keeping only `(logits, features)`.
* `evaluate`: generated samples against real statistics, which
  `rgan_tf.evaluation.real_stats.real_features` computes once per (data set, split, sample count,
  classifier) and caches as `.npz`. The returned record's metric names carry the sample count
  (`is50k`, `fid50k`, `kid50k`, as in stylegan2's metric names) and its fields the rest of the
  protocol (real split and count, classifier, resize path), because FID depends on all of them.
"""
import numpy as np
import tensorflow as tf

from rgan_tf.evaluation import activations
from rgan_tf.evaluation import classifiers as classifiers_lib
from rgan_tf.evaluation import real_stats
from rgan_tf.evaluation import tfgan_compat

ALL_METRICS = ("is", "fid", "kid")


# ---------------------------------------------------------------------------------------------
# Pure maths.


def _as_matrix(array, name):
    array = np.asarray(array)
    if array.ndim != 2:
        raise ValueError(f"{name} must be a matrix [N, D]; got shape {array.shape}.")
    if not np.all(np.isfinite(array)):
        raise ValueError(f"{name} holds NaN or infinite values.")
    return array


def inception_score(logits, num_splits=10):
    """Inception Score: exp(E_x KL(p(y|x) || p(y))), mean and std over `num_splits` splits.

    As in Salimans et al. (2016) and the paper's tables: the N samples are cut into `num_splits`
    contiguous, near-equal parts, TF-GAN's `classifier_score_from_logits` scores each, and the
    mean and (population) standard deviation of the scores are returned.

    Args:
      logits: `[N, K]` class logits, N >= num_splits.
      num_splits: number of splits.

    Returns:
      `(mean, std)` floats.
    """
    logits = _as_matrix(logits, "logits")
    count = logits.shape[0]
    if num_splits < 1 or count < num_splits:
        raise ValueError(f"Need at least num_splits={num_splits} >= 1 samples; got {count}.")
    score_fn = tfgan_compat.tfgan_eval().classifier_score_from_logits
    scores = []
    for split in range(num_splits):
        part = logits[split * count // num_splits:(split + 1) * count // num_splits]
        scores.append(float(score_fn(tf.constant(part, tf.float64))))
    return float(np.mean(scores)), float(np.std(scores))


def frechet_distance(features_a, features_b):
    """Frechet distance of Gaussians fitted to two feature sets (FID on Inception's pool_3).

    `|m_a - m_b|^2 + Tr(C_a + C_b - 2 (C_a C_b)^(1/2))` with unbiased covariances, computed by
    TF-GAN's `frechet_classifier_distance_from_activations` in float64.

    Args:
      features_a: `[N, F]`, N >= 2.
      features_b: `[M, F]`, M >= 2.

    Returns:
      The distance, a float.
    """
    features_a = _as_matrix(features_a, "features_a")
    features_b = _as_matrix(features_b, "features_b")
    _check_pair(features_a, features_b, minimum=2)
    fid_fn = tfgan_compat.tfgan_eval().frechet_classifier_distance_from_activations
    return float(fid_fn(tf.constant(features_a, tf.float64), tf.constant(features_b, tf.float64)))


def kernel_distance(features_a, features_b, max_block_size=1024):
    """Kernel distance (KID, Binkowski et al. 2018) of two feature sets.

    The unbiased MMD^2 with the cubic polynomial kernel `k(x, y) = (x.y / F + 1)^3`, by TF-GAN's
    `kernel_classifier_distance_and_std_from_activations` (blocks of <= `max_block_size`).

    The estimator assumes both sets are in random order.

    Args:
      features_a: `[N, F]`, N >= 2 per block.
      features_b: `[M, F]`.
      max_block_size: largest block.

    Returns:
      The distance, a float (about 0, possibly slightly negative, for equal distributions).
    """
    features_a = _as_matrix(features_a, "features_a")
    features_b = _as_matrix(features_b, "features_b")
    _check_pair(features_a, features_b, minimum=2)
    kid_fn = tfgan_compat.tfgan_eval().kernel_classifier_distance_and_std_from_activations
    kid, _ = kid_fn(tf.constant(features_a, tf.float64), tf.constant(features_b, tf.float64),
                    max_block_size=max_block_size)
    return float(kid)


def _check_pair(features_a, features_b, minimum):
    if features_a.shape[1] != features_b.shape[1]:
        raise ValueError(f"Feature widths differ: {features_a.shape[1]} vs {features_b.shape[1]}.")
    if min(features_a.shape[0], features_b.shape[0]) < minimum:
        raise ValueError(f"Need at least {minimum} samples in each set; got "
                         f"{features_a.shape[0]} and {features_b.shape[0]}.")


# ---------------------------------------------------------------------------------------------
# The protocol.


def evaluate(generate_fn, classifier="inception", source=None, split="train",
             num_fake=50000, num_real=50000, batch_size=100, metrics=ALL_METRICS, num_splits=10,
             kid_block_size=1024, image_size=None, seed=0, cache_dir=None, real_batches=None,
             data_kwargs=None, verbose=True):
    """IS, FID and KID of a generator, in a record that carries the protocol.

    Args:
      generate_fn: `generate_fn(n) -> images [n, H, W, C]` in [-1, 1].
      classifier: a `classifiers.Classifier` or a spec for `classifiers.load_classifier`.
      source: real data source, as for `rgan_tf.data.dataset`; needed for FID and KID.
      split: the real split.
      num_fake: generated images (the count in the metric names).
      num_real: real images; None: the whole split (names get stylegan2's "_full" suffix).
      batch_size: images per classifier call.
      metrics: any of "is", "fid", "kid".
      num_splits: Inception Score splits.
      kid_block_size: KID's largest block.
      image_size: size the real data is read at (None: the source's own).
      seed: the real data order's seed.
      cache_dir: the real statistics' cache folder.
      real_batches: real image batches to use instead of reading `source` (see `real_features`).
      data_kwargs: further arguments of `rgan_tf.data.dataset` for the real data.
      verbose: show progress bars.

    Returns:
      A dict, e.g. for 50k samples `{"is50k", "is50k_std", "fid50k", "kid50k"}` plus the protocol:
      `num_fake`, `num_real` (images actually used), `real_source`, `real_split`, `classifier`,
      `classifier_id`, `resize`, `is_splits`.
    """
    unknown = set(metrics) - set(ALL_METRICS)
    if unknown or not metrics:
        raise ValueError(f"metrics must be a non-empty subset of {ALL_METRICS}; got {metrics!r}.")
    if ("fid" in metrics or "kid" in metrics) and source is None:
        raise ValueError("FID and KID compare with real data: pass source= (e.g. 'cifar10').")
    if num_real is not None and num_real < 2:
        raise ValueError(f"num_real must be >= 2 or None (whole split); got {num_real}.")
    classifier = classifiers_lib.load_classifier(classifier)
    logits, fake = activations.generated_activations(generate_fn, num_fake, batch_size, classifier,
                                                     verbose)
    count = activations.format_count(num_fake)
    suffix = "_full" if num_real is None else ""
    record, protocol = {}, {"num_fake": int(num_fake)}
    if "is" in metrics:
        record[f"is{count}"], record[f"is{count}_std"] = inception_score(logits, num_splits)
        protocol["is_splits"] = int(num_splits)
    if "fid" in metrics or "kid" in metrics:
        real = real_stats.real_features(classifier, source, split, num_real, batch_size,
                                        image_size, seed, cache_dir, real_batches, data_kwargs,
                                        verbose)
        if "fid" in metrics:
            record[f"fid{count}{suffix}"] = frechet_distance(real, fake)
        if "kid" in metrics:
            record[f"kid{count}{suffix}"] = kernel_distance(real, fake, kid_block_size)
        protocol.update(num_real=int(real.shape[0]), real_source=str(source),
                        real_split=str(split))
    protocol.update(classifier=classifier.name, classifier_id=classifier.identity,
                    resize=classifier.resize)
    record.update(protocol)
    return record
