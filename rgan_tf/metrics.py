"""IS, FID and KID: TF-GAN's maths on activations collected in bounded memory, with the protocol.

Three layers:

* Pure maths on numpy activations, through TF-GAN's eval functions (`tfgan_compat`):
  `inception_score`, `frechet_distance`, `kernel_distance`.
* Streaming collection: `collect_activations` runs a `classifiers.Classifier` over an iterable of
  image batches and keeps only `(logits, features)`; `generated_activations` does it for a
  generator `generate_fn(n) -> images`.
* `evaluate`: generated samples against real statistics, which `real_features` computes once per
  (data set, split, sample count, classifier) and caches as `.npz`. The returned record's metric
  names carry the sample count (`is50k`, `fid50k`, `kid50k`, as in stylegan2's metric names) and
  its fields the rest of the protocol (real split and count, classifier, resize path), because FID
  depends on all of them. `append_jsonl` appends records to a run's JSON-lines file.
"""
import hashlib
import json
import os
import re

import gin
import keras
import numpy as np
import tensorflow as tf

from rgan_tf import classifiers as classifiers_lib
from rgan_tf import tfgan_compat

CACHE_VERSION = 2  # 2: source files enter the key by content (SHA-256), not size and mtime
DEFAULT_CACHE_DIR = os.path.join("~", ".cache", "rgan_tf", "real_stats")
ALL_METRICS = ("is", "fid", "kid")


# ---------------------------------------------------------------------------------------------
# Pure maths.


def format_count(num_samples):
    """A sample count as in stylegan2's metric names: 50000 -> "50k", 1000 -> "1k", 500 -> "500"."""
    num_samples = int(num_samples)
    if num_samples >= 1000 and num_samples % 1000 == 0:
        return f"{num_samples // 1000}k"
    return str(num_samples)


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
# Streaming collection.


def collect_activations(batches, classifier, num_samples=None, verbose=True):
    """Runs `classifier` over image batches, keeping only its outputs.

    Memory holds one batch of images and the activations; the activations are written into
    arrays allocated once when `num_samples` is known.

    Args:
      batches: an iterable of image batches `[B, H, W, C]` in [-1, 1] (numpy or tensors), or of
        tuples whose first element is the images (e.g. `(images, labels)`).
      classifier: a `classifiers.Classifier` (or a spec for `classifiers.load_classifier`).
      num_samples: stop after this many images (the last batch is cut); None: exhaust `batches`.
      verbose: show a progress bar.

    Returns:
      `(logits [N, K], features [N, F])` float32 numpy arrays; N is `num_samples`, or fewer if
      `batches` ran out first.
    """
    classifier = classifiers_lib.load_classifier(classifier)
    if num_samples is not None and num_samples < 1:
        raise ValueError(f"num_samples must be >= 1, got {num_samples}.")
    progress = keras.utils.Progbar(num_samples, unit_name="image", verbose=1 if verbose else 0)
    logits_parts, features_parts = [], []
    logits_out = features_out = None
    count = 0
    for batch in batches:
        if isinstance(batch, (tuple, list)):
            batch = batch[0]
        if num_samples is not None:
            batch = batch[:num_samples - count]
        logits, features = classifier(batch)
        logits, features = logits.numpy(), features.numpy()
        size = logits.shape[0]
        if num_samples is None:
            logits_parts.append(logits)
            features_parts.append(features)
        else:
            if logits_out is None:
                logits_out = np.empty((num_samples, logits.shape[1]), np.float32)
                features_out = np.empty((num_samples, features.shape[1]), np.float32)
            logits_out[count:count + size] = logits
            features_out[count:count + size] = features
        count += size
        progress.update(count)
        if num_samples is not None and count >= num_samples:
            break
    if count == 0:
        raise ValueError("No images: the batches were empty.")
    if num_samples is None:
        return np.concatenate(logits_parts), np.concatenate(features_parts)
    return logits_out[:count], features_out[:count]


def generated_activations(generate_fn, num_samples, batch_size, classifier, verbose=True):
    """`collect_activations` over `num_samples` images from `generate_fn`.

    Args:
      generate_fn: `generate_fn(n) -> images [n, H, W, C]` in [-1, 1] (e.g. a generator applied
        to fresh noise).
      num_samples: images to generate.
      batch_size: images per call of `generate_fn`.
      classifier: a `classifiers.Classifier` or spec.
      verbose: show a progress bar.

    Returns:
      `(logits [num_samples, K], features [num_samples, F])` float32 numpy arrays.
    """
    if num_samples < 1 or batch_size < 1:
        raise ValueError(f"num_samples and batch_size must be >= 1; got {num_samples}, "
                         f"{batch_size}.")

    def batches():
        remaining = num_samples
        while remaining > 0:
            size = min(batch_size, remaining)
            images = generate_fn(size)
            if images.shape[0] != size:
                raise ValueError(f"generate_fn({size}) returned {images.shape[0]} images.")
            yield images
            remaining -= size

    return collect_activations(batches(), classifier, num_samples, verbose)


# ---------------------------------------------------------------------------------------------
# Real statistics, computed once and cached.


def real_stats_key(source, split, num_samples, classifier, image_size=None, seed=0,
                   data_kwargs=None):
    """What the cached real features depend on; a change of any field invalidates the cache.

    Args:
      source: the data source's name (as passed to `rgan_tf.data.dataset`).
      split: e.g. "train" or "test".
      num_samples: real images asked for (None: the whole split).
      classifier: a `classifiers.Classifier`; its `identity` (weights fingerprint, input size,
        resize path) enters the key.
      image_size: the size the data is read at (None: its own).
      seed: the data order's seed (the first `num_samples` of a shuffled split).
      data_kwargs: further arguments of `rgan_tf.data.dataset` (e.g. `holdout`); with the gin
        bindings of `dataset.holdout`, `dataset.data_dir` and `dataset.shuffle_buffer`, which
        change what a split holds, they enter the key.

    Returns:
      A JSON-serialisable dict.
    """
    key = {"version": CACHE_VERSION, "source": str(source), "split": str(split),
           "num_samples": None if num_samples is None else int(num_samples),
           "image_size": None if image_size is None else int(image_size), "seed": int(seed),
           "classifier": classifier.identity, "data": _effective_data_kwargs(data_kwargs)}
    # A source that names a file or folder ("npz:/data/x.npz") also depends on its content.
    _, _, maybe_path = str(source).partition(":")
    if maybe_path and os.path.exists(os.path.expanduser(maybe_path)):
        key["source_files"] = _files_digest(os.path.expanduser(maybe_path))
    return key


def _effective_data_kwargs(data_kwargs):
    """`data_kwargs` plus the gin-bound `dataset` arguments that change a split's content."""
    effective = dict(data_kwargs or {})
    for name in ("holdout", "data_dir", "shuffle_buffer"):
        if name not in effective:
            try:
                effective[name] = gin.query_parameter(f"dataset.{name}")
            except ValueError:  # not bound (or no configurable named dataset): the default
                pass
    return {name: effective[name] for name in sorted(effective)}


def _files_digest(path):
    """Count and SHA-256 of the content of a file, or of every file under a folder (with their
    relative names), so that any change to the data, even one that keeps sizes and modification
    times, gives another key."""
    if os.path.isfile(path):
        files = [(os.path.basename(path), path)]
    else:
        files = sorted((os.path.relpath(os.path.join(folder, name), path),
                        os.path.join(folder, name))
                       for folder, _, names in os.walk(path) for name in names)
    digest = hashlib.sha256()
    for relative, full in files:
        digest.update(f"{relative}\0{os.path.getsize(full)}\0".encode())
        with open(full, "rb") as handle:
            for chunk in iter(lambda: handle.read(1 << 20), b""):
                digest.update(chunk)
    return {"files": len(files), "sha256": digest.hexdigest()}


def real_stats_path(key, cache_dir=None):
    """The cache file of `key`: readable parts plus a hash of the whole key."""
    cache_dir = os.path.expanduser(cache_dir or DEFAULT_CACHE_DIR)
    digest = hashlib.sha256(json.dumps(key, sort_keys=True).encode()).hexdigest()[:12]
    count = "full" if key["num_samples"] is None else format_count(key["num_samples"])
    name = "_".join(re.sub(r"[^A-Za-z0-9.-]+", "-", part).strip("-") for part in
                    (key["source"], key["split"], count, key["classifier"].split("[")[0]))
    return os.path.join(cache_dir, f"{name}_{digest}.npz")


def load_real_stats(path, key):
    """The cached features at `path` if the file exists and was written for `key`, else None."""
    if not os.path.isfile(path):
        return None
    try:
        with np.load(path, allow_pickle=False) as stored:
            if json.loads(str(stored["key"])) != key:
                return None
            return stored["features"]
    except (OSError, ValueError, KeyError):  # unreadable or foreign file: recompute
        return None


def save_real_stats(path, key, features):
    """Writes `features` and `key` to `path` atomically."""
    os.makedirs(os.path.dirname(os.path.abspath(path)), exist_ok=True)
    temporary = f"{path}.tmp-{os.getpid()}"
    with open(temporary, "wb") as handle:
        np.savez(handle, features=features, key=np.array(json.dumps(key, sort_keys=True)))
    os.replace(temporary, path)


def real_features(classifier, source, split="train", num_samples=50000, batch_size=100,
                  image_size=None, seed=0, cache_dir=None, batches=None, data_kwargs=None,
                  verbose=True):
    """The classifier's features of real images, from the cache or computed once and cached.

    Args:
      classifier: a `classifiers.Classifier` or spec.
      source: the data source (`rgan_tf.data.dataset(source=...)`); names the cache entry.
      split: the split the statistics come from.
      num_samples: real images (the first of the split shuffled with `seed`); None or more than
        the split holds: all of it.
      batch_size: images per classifier call.
      image_size: size the data is read at (None: the source's own).
      seed: the data order's seed.
      cache_dir: the cache folder (default ~/.cache/rgan_tf/real_stats).
      batches: the real image batches to use instead of reading `source` (an iterable, or a
        function returning one); they must be the data that `source`/`split`/`seed` name.
      data_kwargs: further arguments of `rgan_tf.data.dataset` (e.g. `{"holdout": 0.1}`).
      verbose: show a progress bar.

    Returns:
      `features [N, F]` float32.
    """
    classifier = classifiers_lib.load_classifier(classifier)
    key = real_stats_key(source, split, num_samples, classifier, image_size, seed, data_kwargs)
    path = real_stats_path(key, cache_dir)
    features = load_real_stats(path, key)
    if features is not None:
        return features
    if batches is None:
        from rgan_tf import data as data_lib
        kwargs = {"dequantize": False, **(data_kwargs or {})}  # statistics of the data as it is
        batches = data_lib.dataset(source=source, batch_size=batch_size, split=split,
                                   image_size=image_size, shuffle=True, repeat=False, seed=seed,
                                   drop_remainder=False, **kwargs)
    elif callable(batches):
        batches = batches()
    _, features = collect_activations(batches, classifier, num_samples, verbose)
    save_real_stats(path, key, features)
    return features


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
    logits, fake = generated_activations(generate_fn, num_fake, batch_size, classifier, verbose)
    count = format_count(num_fake)
    suffix = "_full" if num_real is None else ""
    record, protocol = {}, {"num_fake": int(num_fake)}
    if "is" in metrics:
        record[f"is{count}"], record[f"is{count}_std"] = inception_score(logits, num_splits)
        protocol["is_splits"] = int(num_splits)
    if "fid" in metrics or "kid" in metrics:
        real = real_features(classifier, source, split, num_real, batch_size, image_size, seed,
                             cache_dir, real_batches, data_kwargs, verbose)
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


def append_jsonl(path, record):
    """Appends `record` as one JSON line to `path` (folders created); returns `path`."""

    def plain(value):
        if isinstance(value, np.generic):
            return value.item()
        if isinstance(value, np.ndarray):
            return value.tolist()
        raise TypeError(f"Not JSON serialisable: {type(value).__name__}")

    line = json.dumps(record, default=plain, allow_nan=True)
    folder = os.path.dirname(os.path.abspath(path))
    os.makedirs(folder, exist_ok=True)
    with open(path, "a", encoding="utf-8") as handle:
        handle.write(line + "\n")
    return path
