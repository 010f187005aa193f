"""Classifier activations collected in bounded memory: `collect_activations` runs a
`classifiers.Classifier` over image batches and keeps only `(logits, features)`;
`generated_activations` does it for a generator `generate_fn(n) -> images`. `format_count` writes
a sample count the way metric names and cache files carry it."""
import keras
import numpy as np

from rgan_tf.evaluation import classifiers as classifiers_lib


def format_count(num_samples):
    """A sample count as in stylegan2's metric names: 50000 -> "50k", 1000 -> "1k", 500 -> "500"."""
    num_samples = int(num_samples)
    if num_samples >= 1000 and num_samples % 1000 == 0:
        return f"{num_samples // 1000}k"
    return str(num_samples)


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
