"""Real-data statistics for FID and KID: the classifier's features of a real split, computed once
per (data set, split, sample count, classifier, data arguments) and cached as `.npz`.

`real_features` reads the cache or fills it; the key (`real_stats_key`) holds everything the
features depend on, so a changed classifier, split, count or data argument never reuses a stale
entry. Data arguments are passed explicitly (no global gin binding is read).
"""
import hashlib
import json
import os
import re

import numpy as np

from rgan_tf import files
from rgan_tf.data import pipeline
from rgan_tf.evaluation import classifiers as classifiers_lib
from rgan_tf.evaluation import activations

CACHE_VERSION = 2  # 2: source files enter the key by content (SHA-256), not size and mtime
DEFAULT_CACHE_DIR = os.path.join("~", ".cache", "rgan_tf", "real_stats")


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
      data_kwargs: further arguments of `rgan_tf.data.pipeline.dataset` that change what a split
        holds (`holdout`, `data_dir`, `shuffle_buffer`; a run's are
        `rgan_tf.run.operative_config.run_data_settings`); they enter the key.

    Returns:
      A JSON-serialisable dict.
    """
    key = {"version": CACHE_VERSION, "source": str(source), "split": str(split),
           "num_samples": None if num_samples is None else int(num_samples),
           "image_size": None if image_size is None else int(image_size), "seed": int(seed),
           "classifier": classifier.identity,
           "data": {name: value for name, value in sorted((data_kwargs or {}).items())}}
    # A source that names a file or folder ("npz:/data/x.npz") also depends on its content.
    _, _, maybe_path = str(source).partition(":")
    if maybe_path and os.path.exists(os.path.expanduser(maybe_path)):
        key["source_files"] = _files_digest(os.path.expanduser(maybe_path))
    return key


def _files_digest(path):
    """Count and SHA-256 of the content of a file, or of every file under a folder (with their
    relative names), so that any change to the data, even one that keeps sizes and modification
    times, gives another key."""
    if os.path.isfile(path):
        files_ = [(os.path.basename(path), path)]
    else:
        files_ = sorted((os.path.relpath(os.path.join(folder, name), path),
                         os.path.join(folder, name))
                        for folder, _, names in os.walk(path) for name in names)
    digest = hashlib.sha256()
    for relative, full in files_:
        digest.update(f"{relative}\0{os.path.getsize(full)}\0".encode())
        with open(full, "rb") as handle:
            for chunk in iter(lambda: handle.read(1 << 20), b""):
                digest.update(chunk)
    return {"files": len(files_), "sha256": digest.hexdigest()}


def real_stats_path(key, cache_dir=None):
    """The cache file of `key`: readable parts plus a hash of the whole key."""
    cache_dir = os.path.expanduser(cache_dir or DEFAULT_CACHE_DIR)
    digest = hashlib.sha256(json.dumps(key, sort_keys=True).encode()).hexdigest()[:12]
    count = "full" if key["num_samples"] is None else activations.format_count(key["num_samples"])
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
    with files.atomic_path(path) as temporary:
        with open(temporary, "wb") as handle:
            np.savez(handle, features=features, key=np.array(json.dumps(key, sort_keys=True)))


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
        kwargs = {"dequantize": False, **(data_kwargs or {})}  # statistics of the data as it is
        batches = pipeline.dataset(source=source, batch_size=batch_size, split=split,
                                   image_size=image_size, shuffle=True, repeat=False, seed=seed,
                                   drop_remainder=False, **kwargs)
    elif callable(batches):
        batches = batches()
    _, features = activations.collect_activations(batches, classifier, num_samples, verbose)
    save_real_stats(path, key, features)
    return features
