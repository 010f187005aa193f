"""The evaluation protocol: one function per measurement, used by every caller (the training
callback, `tools/evaluate.py`, the figures and the study).

* `evaluate_model`: IS/FID/KID at z ~ N(0, I), the same on worst-case noise for a list of radii
  (the paper's Fig. 3), the generator's loss under worst-case vs random noise, and the cost.
* `generator_loss_under_noise`, `discriminator_generalization` (`d_loss_train`, `d_loss_heldout`,
  `d_gap`, `d_sensitivity_eps<r>`).

Metric names carry the protocol, as `rgan_tf.evaluation.metrics` names them: `is5k`, `fid5k`,
`kid5k`, and for worst-case noise of radius 0.5 `is5k_worst_eps0.5`, `fid5k_worst_eps0.5`
(`metric_name`); the generator's mean loss is `g_loss`, `g_loss_worst_eps0.5`,
`g_loss_random_eps0.5`. The record's other fields say the rest (sample counts, real source and
split, classifier, resize path, noise norm and seed).

The discriminator quantities use the real-data part of its loss, `L_real(D(x))` (the fake part
has the same distribution on both sides of the gap): `d_gap = d_loss_heldout - d_loss_train`, and
`d_sensitivity_eps<r> = mean L_real(D(x + r r_1)) - mean L_real(D(x))` on the training images,
`r_1` the per-sample worst-case direction (`rgan_tf.perturbations.worst_case_direction`) of
`d L_real / dx` in the run's norm. Perturbed images are not clipped, as in training.
"""
import re

import numpy as np
import tensorflow as tf

from rgan_tf import perturbations
from rgan_tf.evaluation import activations
from rgan_tf.evaluation import classifiers as classifiers_lib
from rgan_tf.evaluation import metrics as metrics_lib
from rgan_tf.evaluation import noise
from rgan_tf.evaluation import resources

# The scores of a `rgan_tf.evaluation.metrics.evaluate` record (the other fields describe the
# protocol).
_METRIC_NAME = re.compile(r"^(is|fid|kid)\d+k?(_full)?(_std)?$")


def radius_name(kind, eps):
    """The suffix of a metric under perturbed inputs: `radius_name("worst", 0.5)` ->
    `"_worst_eps0.5"`."""
    return f"_{kind}_eps{float(eps):g}"


def metric_name(metric, num_samples, kind=None, eps=None):
    """The record field of a score: `metric_name("is", 2000)` -> `"is2k"`,
    `metric_name("fid", 2000, "worst", 1.0)` -> `"fid2k_worst_eps1"`."""
    name = f"{metric}{activations.format_count(num_samples)}"
    return name if kind is None else name + radius_name(kind, eps)


def generator_loss_under_noise(model, num_samples, radii, batch_size=100, seed=0, norm=None):
    """The generator's mean loss at z ~ N(0, I), at worst-case noise and at random-direction noise
    of each radius, on the same base noise.

    Args:
      model: a `RobustGAN`.
      num_samples: noise vectors.
      radii: the radii.
      batch_size: noise vectors per batch.
      seed: seed of the noise (as `NoiseImages`).
      norm: perturbation norm; default the model's.

    Returns:
      `{"g_loss", "g_loss_worst_eps<r>", "g_loss_random_eps<r>" for each radius r}`, floats.
    """
    radii = noise.check_radii(radii)
    if num_samples < 1 or batch_size < 1:
        raise ValueError(f"num_samples and batch_size must be >= 1; got {num_samples}, "
                         f"{batch_size}.")
    sources = {"g_loss": noise.NoiseImages(model, "normal", 0.0, seed, norm)}
    for eps in radii:
        for kind in ("worst", "random"):
            sources["g_loss" + radius_name(kind, eps)] = noise.NoiseImages(model, kind, eps, seed,
                                                                           norm)

    batch_losses = noise.compiled(model, "generator_losses", noise.generator_losses)
    totals = dict.fromkeys(sources, 0.0)
    index, remaining = 0, num_samples
    while remaining > 0:
        n = min(batch_size, remaining)
        for name, source in sources.items():
            z, labels = source.latent(n, index)
            totals[name] += float(tf.reduce_sum(batch_losses(z, labels)))
        index += 1
        remaining -= n
    return {name: total / num_samples for name, total in totals.items()}


def evaluate_model(model, classifier="inception", source=None, split="test", num_samples=50000,
                   num_real=None, batch_size=100, metrics=metrics_lib.ALL_METRICS,
                   robustness_radii=(), robustness_metrics=("is", "fid"), loss_samples=None,
                   image_size=None, seed=0, cache_dir=None, data_kwargs=None, verbose=True):
    """IS/FID/KID of a generator, optionally with the robustness pair, in one record.

    Args:
      model: a `RobustGAN`, or an `rgan_tf.export.ExportedGenerator` (no robustness then).
      classifier: a `classifiers.Classifier` or a spec for `classifiers.load_classifier`.
      source: the real data source (FID, KID).
      split: the real split.
      num_samples: generated images per evaluation (the count in the metric names).
      num_real: real images; default `num_samples` (or all the split holds, if fewer).
      batch_size: images per generator and classifier call.
      metrics: any of "is", "fid", "kid" at z ~ N(0, I).
      robustness_radii: radii of worst-case noise to evaluate as well (Fig. 3); () for none.
      robustness_metrics: the metrics measured on worst-case noise.
      loss_samples: noise vectors for the generator loss under worst-case vs random noise;
        default `min(num_samples, 10000)`.
      image_size: the size real images are read at; default the generator's.
      seed: seed of the generator's noise (the real data's order is `metrics.evaluate`'s default).
      cache_dir: the real statistics' cache (`rgan_tf.evaluation.real_stats.real_features`).
      data_kwargs: further arguments of `rgan_tf.data.pipeline.dataset` for the real data (a
        run's: `rgan_tf.run.operative_config.run_data_settings`).
      verbose: progress bars.

    Returns:
      The `rgan_tf.evaluation.metrics.evaluate` record (`is50k`, `is50k_std`, `fid50k`, `kid50k`
      and the protocol fields), plus `is50k_worst_eps<r>` (and `_std`), `fid50k_worst_eps<r>`,
      `g_loss`, `g_loss_worst_eps<r>`, `g_loss_random_eps<r>` for each radius, `noise_norm`,
      `noise_seed`, `robustness_radii`, `loss_samples`, how the images were made - `sampling`
      (the generator's mode, `rgan_tf.sampling`; "batch_stats" adds `sampling_batch`, the images
      per generator call, whose statistics normalize them) and `ema_decay` (None: the live
      weights) - and the cost: `eval_seconds`, `eval_cpu_seconds`, `eval_peak_rss_mib`
      (`eval_peak_gpu_mib` on a GPU; see `rgan_tf.evaluation.resources.ResourceMeter`).
    """
    radii = noise.check_radii(robustness_radii)
    if image_size is None:
        image_size = square_side(getattr(model, "image_shape", None))
    classifier = classifiers_lib.load_classifier(classifier)
    num_real = num_samples if num_real is None else num_real
    common = dict(classifier=classifier, source=source, split=split, num_fake=num_samples,
                  num_real=num_real, batch_size=batch_size, image_size=image_size,
                  cache_dir=cache_dir, data_kwargs=data_kwargs, verbose=verbose)
    norm = getattr(model, "norm", None)
    with resources.ResourceMeter() as meter:
        record = metrics_lib.evaluate(noise.NoiseImages(model, "normal", 0.0, seed),
                                      metrics=metrics, **common)
        for eps in radii:
            worst = metrics_lib.evaluate(noise.NoiseImages(model, "worst", eps, seed),
                                         metrics=robustness_metrics, **common)
            suffix = radius_name("worst", eps)
            for name, value in worst.items():
                match = _METRIC_NAME.match(name)
                if match:
                    base = name[:-len("_std")] if match.group(3) else name
                    record[base + suffix + (match.group(3) or "")] = value
        if radii:
            loss_samples = int(loss_samples or min(num_samples, 10000))
            record.update(generator_loss_under_noise(model, loss_samples, radii, batch_size,
                                                     seed))
            record.update(robustness_radii=radii, loss_samples=loss_samples)
    record.update(noise_seed=int(seed), **({"noise_norm": norm} if norm else {}))
    record.update(sampling_fields(model, min(batch_size, num_samples)))
    record.update(meter.fields("eval"))
    return record


def sampling_fields(model, batch_size):
    """The record fields that say how `model`'s images were made (see `evaluate_model`);
    `batch_size`: images per generator call."""
    mode = getattr(model, "sampling", "moving_average")
    fields = {"sampling": mode, "ema_decay": getattr(model, "ema_decay", None)}
    if mode == "batch_stats":
        fields["sampling_batch"] = int(batch_size)
    return fields


def square_side(shape):
    """The side of square images of `shape` `(H, W, C)` (None if unknown); ValueError if not
    square."""
    if shape is None or len(shape) != 3:
        return None
    if shape[0] != shape[1]:
        raise ValueError(f"Real images are read square; the generator makes {shape}: pass "
                         "image_size.")
    return int(shape[0])


def discriminator_generalization(model, train, heldout=None, radii=(), batch_size=256,
                                 norm=None):
    """The discriminator's empirical generalization gap and adversarial sensitivity on real data.

    Args:
      model: a `RobustGAN`.
      train: training images `[N, H, W, C]` in [-1, 1], or `(images, labels)`.
      heldout: held-out real images (or `(images, labels)`), or None (no gap then).
      radii: radii of the worst-case perturbation of the training images (e.g. `[eps_x]`).
      batch_size: images per discriminator call.
      norm: perturbation norm; default the model's.

    Returns:
      `{"d_loss_train", "d_num_train", "d_sensitivity_eps<r>" ...}` and, with `heldout`,
      `"d_loss_heldout", "d_num_heldout", "d_gap"` (held-out minus train), floats.
    """
    radii = noise.check_radii(radii)
    norm = norm or model.norm
    perturbations.check_norm(norm)

    losses = noise.compiled(model, "real_losses", noise.real_losses)
    perturbed_losses = noise.compiled(
        model, ("worst_real_losses", norm), lambda model, images, labels, eps: noise.real_losses(
            model, noise.worst_case_images(model, images, eps, labels, "real", norm), labels))

    def mean_loss(data, eps=None):
        images, labels = data if isinstance(data, tuple) else (data, None)
        images = np.asarray(images, np.float32)
        if images.ndim != 4 or len(images) == 0:
            raise ValueError(f"Expected a non-empty batch of images [N, H, W, C]; got shape "
                             f"{images.shape}.")
        total = 0.0
        for start in range(0, len(images), batch_size):
            part = images[start:start + batch_size]
            part_labels = None if labels is None else np.asarray(
                labels[start:start + batch_size], np.int32)
            values = (losses(part, part_labels) if eps is None else
                      perturbed_losses(part, part_labels, tf.constant(eps, tf.float32)))
            total += float(tf.reduce_sum(values))
        return total / len(images), len(images)

    clean, count = mean_loss(train)
    record = {"d_loss_train": clean, "d_num_train": count}
    if heldout is not None:
        record["d_loss_heldout"], record["d_num_heldout"] = mean_loss(heldout)
        record["d_gap"] = record["d_loss_heldout"] - clean
    for eps in radii:
        record[sensitivity_name(eps)] = mean_loss(train, eps)[0] - clean
    return record


def sensitivity_name(eps):
    """`d_sensitivity_eps<r>`, the record field of `discriminator_generalization`."""
    return f"d_sensitivity_eps{float(eps):g}"


_SUMMARY_FIELDS = ("step", "num_fake", "num_real", "real_source", "real_split", "classifier",
                   "resize", "sampling", "eval_seconds", "eval_cpu_seconds", "eval_peak_rss_mib")


def summary_line(record):
    """A one-line summary of a record's scores (metrics first, protocol after)."""
    parts = []
    for name, value in record.items():
        if isinstance(value, float) and (name.startswith(("is", "fid", "kid", "g_loss", "d_"))):
            parts.append(f"{name}={value:.4g}")
    protocol = [f"{name}={record[name]}" for name in _SUMMARY_FIELDS if name in record]
    return " ".join(parts + protocol)
