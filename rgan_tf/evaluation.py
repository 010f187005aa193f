"""Evaluating a trained `RobustGAN`: IS/FID/KID with their protocol, robustness to worst-case
noise (the paper's Fig. 3), the discriminator's generalization gap and adversarial sensitivity,
and `MetricsCallback`, which measures all of these during training.

Layers, each usable alone:

* Noise and perturbations: `generator_losses` (per-sample `L_gen(D(G(z)))`), `worst_case_noise`
  (`z + eps r_z`, `r_z` the per-sample unit ascent direction of the generator's loss, the input
  Fig. 3 evaluates on), `random_noise` (same radius, random direction), `worst_case_images`
  (`x + eps r_1` on real or `G(z) + eps r_2` on fake images). `NoiseImages` turns one of these
  into the `generate_fn(n)` that `rgan_tf.metrics.evaluate` draws from; all modes share the base
  noise (batch k draws z from `(seed, k)`), so normal and worst-case scores are paired.
* Measurements: `evaluate_model` (IS/FID/KID at z ~ N(0, I), the worst-case pair for a list of
  radii, the generator's loss under worst-case vs random noise, time and peak memory),
  `generator_loss_under_noise`, `discriminator_generalization` (`d_loss_train`, `d_loss_heldout`,
  `d_gap`, `d_sensitivity_eps<r>`).
* Run folders: `evaluate_run` (what `tools/evaluate.py` does) and `MetricsCallback` append one
  JSON record per evaluation to `<model_dir>/metrics.jsonl` (`rgan_tf.metrics.append_jsonl`).

Metric names carry the protocol, as `rgan_tf.metrics` names them: `is5k`, `fid5k`, `kid5k`, and for
worst-case noise of radius 0.5 `is5k_worst_eps0.5`, `fid5k_worst_eps0.5`; the generator's mean loss
is `g_loss`, `g_loss_worst_eps0.5`, `g_loss_random_eps0.5`. The record's other fields say the rest
(sample counts, real source and split, classifier, resize path, noise norm, step).

The discriminator quantities use the real-data part of its loss, `L_real(D(x))` (the fake part
has the same distribution on both sides of the gap): `d_gap = d_loss_heldout - d_loss_train`, and
`d_sensitivity_eps<r> = mean L_real(D(x + r r_1)) - mean L_real(D(x))` on the training images,
`r_1` the per-sample worst-case direction (`rgan_tf.perturbations.worst_case_direction`) of
`d L_real / dx` in the run's norm. Perturbed images are not clipped, as in training.
"""
import ast
import json
import math
import os
import re
import resource
import threading
import time
import weakref

import gin
import keras
import numpy as np
import tensorflow as tf
from tensorflow.core.framework import summary_pb2

from rgan_tf import checkpoints as checkpoints_lib
from rgan_tf import classifiers as classifiers_lib
from rgan_tf import metrics as metrics_lib
from rgan_tf import perturbations
from rgan_tf import rng
from rgan_tf import sampling as sampling_lib
from rgan_tf import write_errors

METRICS_FILE = "metrics.jsonl"
METRICS_PLOT = "metrics.png"
OPERATIVE_CONFIG = "operative_config.gin"
LOGS_DIR = "logs"
NOISE_MODES = ("normal", "worst", "random")
# The scores of a `rgan_tf.metrics.evaluate` record (the other fields describe the protocol).
_METRIC_NAME = re.compile(r"^(is|fid|kid)\d+k?(_full)?(_std)?$")
# Streams of the evaluation's random draws (rgan_tf.rng): base noise, random directions.
_Z_STREAM, _DIRECTION_STREAM = 0, 1

# Compiled functions of each model, made once per process (`_compiled`).
_COMPILED = weakref.WeakKeyDictionary()

_SCALAR_METADATA = summary_pb2.SummaryMetadata(
    plugin_data=summary_pb2.SummaryMetadata.PluginData(plugin_name="scalars"),
    data_class=summary_pb2.DATA_CLASS_SCALAR)


def radius_name(kind, eps):
    """The suffix of a metric under perturbed inputs: `radius_name("worst", 0.5)` ->
    `"_worst_eps0.5"`."""
    return f"_{kind}_eps{float(eps):g}"


def _check_radius(eps):
    if isinstance(eps, bool) or not isinstance(eps, (int, float)) or not math.isfinite(eps) or (
            eps < 0):
        raise ValueError(f"A perturbation radius must be a finite number >= 0, got {eps!r}.")
    return float(eps)


def _check_radii(radii):
    return [_check_radius(eps) for eps in (radii or ())]


# ---------------------------------------------------------------------------------------------
# Noise and perturbations.


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


def _compiled(model, name, fn):
    """`tf.function` of `fn(model, *args)`, traced once per model and `name` (held weakly: the
    cache does not keep a model alive)."""
    functions = _COMPILED.setdefault(model, {})
    if name not in functions:
        model_ref = weakref.ref(model)
        # No AutoGraph: the functions have no tensor-dependent Python control flow.
        functions[name] = tf.function(lambda *args: fn(model_ref(), *args),
                                      reduce_retracing=True, autograph=False)
    return functions[name]


def _cycled_labels(model, n):
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
        `generate(z, labels)`, e.g. `ExportedGenerator`).
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
        self.eps = _check_radius(eps)
        self.seed = int(seed)
        self.norm = norm or getattr(model, "norm", "l2")
        perturbations.check_norm(self.norm)
        self.calls = 0
        if mode == "worst" and not hasattr(model, "discriminator"):
            raise ValueError("Worst-case noise needs the run's discriminator and loss: evaluate "
                             "a run folder (--model_dir), not an export.")

    def noise(self, n, index):
        """The base noise of call `index`: float32 `[n, latent_dim]` and labels (or None)."""
        z = rng.normal([n, self.model.latent_dim], self.seed, index, _Z_STREAM)
        return z, _cycled_labels(self.model, n)

    def latent(self, n, index):
        """The (perturbed) noise of call `index`: `z [n, latent_dim]` and labels (or None)."""
        z, labels = self.noise(n, index)
        eps = tf.constant(self.eps, tf.float32)
        if self.mode == "worst":
            norm = self.norm
            z = _compiled(self.model, ("worst_noise", norm),
                          lambda model, *args: _worst_noise(model, *args, norm=norm))(
                              z, labels, eps)
        elif self.mode == "random":
            direction_noise = rng.normal([n, self.model.latent_dim], self.seed, index,
                                         _DIRECTION_STREAM)
            z = random_noise(z, eps, direction_noise, self.norm)
        return z, labels

    def __call__(self, n):
        """Images `[n, H, W, C]` from the next batch of noise."""
        z, labels = self.latent(n, self.calls)
        self.calls += 1
        return self.model.generate(z, labels)


def _worst_noise(model, z, labels, eps, norm):
    return worst_case_noise(model, z, eps, labels, norm)


class ExportedGenerator:
    """An exported generator (`tools/export.py`) with the attributes `NoiseImages` needs."""

    def __init__(self, export_dir):
        if not os.path.isfile(os.path.join(export_dir, "saved_model.pb")):
            raise ValueError(f"{export_dir} holds no SavedModel (saved_model.pb is missing).")
        self.loaded = tf.saved_model.load(export_dir)
        self.latent_dim = int(self.loaded.latent_dim.numpy())
        self.num_classes = int(self.loaded.num_classes.numpy()) or None
        self.step = int(self.loaded.step.numpy())
        self.sampling = sampling_lib.exported_sampling(self.loaded)
        self.ema_decay = _export_info(export_dir).get("ema_decay")
        self._generate = self.loaded.signatures["serving_default"]
        self.image_shape = tuple(self._generate.structured_outputs["images"].shape[1:])

    def generate(self, z, labels=None):
        feed = {"z": tf.convert_to_tensor(z, tf.float32)}
        if self.num_classes:
            feed["label"] = tf.convert_to_tensor(labels, tf.int32)
        return self._generate(**feed)["images"]


def _export_info(export_dir):
    """The export's `assets.extra/rgan_tf_export.json` (`rgan_tf.export.EXPORT_INFO`), or {}."""
    path = os.path.join(export_dir, "assets.extra", "rgan_tf_export.json")
    if not os.path.isfile(path):
        return {}
    with open(path) as handle:
        return json.load(handle)


# ---------------------------------------------------------------------------------------------
# Measurements.


class ResourceMeter:
    """Wall time and peak resident memory of a block (RSS sampled every `interval` seconds), and
    the GPU's peak memory when there is one.

    Use as a context manager; `fields(prefix)` gives `{prefix}_seconds` (wall),
    `{prefix}_cpu_seconds` (CPU time of all the process's threads: on a shared machine, the part
    of the wall time that does not depend on the other jobs), `{prefix}_peak_rss_mib` (the
    process's largest resident set seen during the block, all of TensorFlow included) and
    `{prefix}_peak_gpu_mib` (TensorFlow's allocator peak on GPU:0, if any).
    """

    def __init__(self, interval=0.02):
        self.interval = interval
        self.seconds = None
        self.cpu_seconds = None
        self.peak_rss = 0
        self.peak_gpu = None
        self._stop = threading.Event()
        self._thread = None
        self._start = None

    def __enter__(self):
        self._gpu = bool(tf.config.list_logical_devices("GPU"))
        if self._gpu:
            try:
                tf.config.experimental.reset_memory_stats("GPU:0")
            except (ValueError, RuntimeError):
                self._gpu = False
        self.peak_rss = _rss_bytes()
        self._stop.clear()
        self._thread = threading.Thread(target=self._sample, daemon=True)
        self._thread.start()
        self._start = time.perf_counter()
        self._cpu_start = time.process_time()
        return self

    def _sample(self):
        while not self._stop.wait(self.interval):
            self.peak_rss = max(self.peak_rss, _rss_bytes())

    def __exit__(self, *exc_info):
        self.seconds = time.perf_counter() - self._start
        self.cpu_seconds = time.process_time() - self._cpu_start
        self._stop.set()
        self._thread.join()
        self.peak_rss = max(self.peak_rss, _rss_bytes())
        if self._gpu:
            self.peak_gpu = tf.config.experimental.get_memory_info("GPU:0")["peak"]
        return False

    def fields(self, prefix="eval"):
        result = {f"{prefix}_seconds": round(self.seconds, 3),
                  f"{prefix}_cpu_seconds": round(self.cpu_seconds, 3),
                  f"{prefix}_peak_rss_mib": round(self.peak_rss / 2**20, 1)}
        if self.peak_gpu is not None:
            result[f"{prefix}_peak_gpu_mib"] = round(self.peak_gpu / 2**20, 1)
        return result


def _rss_bytes():
    """The process's resident set size now (Linux /proc), else its peak so far."""
    try:
        with open("/proc/self/statm") as handle:
            return int(handle.read().split()[1]) * os.sysconf("SC_PAGE_SIZE")
    except (OSError, ValueError, IndexError):
        return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024


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
    radii = _check_radii(radii)
    if num_samples < 1 or batch_size < 1:
        raise ValueError(f"num_samples and batch_size must be >= 1; got {num_samples}, "
                         f"{batch_size}.")
    sources = {"g_loss": NoiseImages(model, "normal", 0.0, seed, norm)}
    for eps in radii:
        sources["g_loss" + radius_name("worst", eps)] = NoiseImages(model, "worst", eps, seed, norm)
        sources["g_loss" + radius_name("random", eps)] = NoiseImages(model, "random", eps, seed,
                                                                     norm)

    batch_losses = _compiled(model, "generator_losses", generator_losses)
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
      model: a `RobustGAN`, or an `ExportedGenerator` (no robustness then).
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
      cache_dir: the real statistics' cache (`rgan_tf.metrics.real_features`).
      data_kwargs: further arguments of `rgan_tf.data.dataset` for the real data.
      verbose: progress bars.

    Returns:
      The `rgan_tf.metrics.evaluate` record (`is50k`, `is50k_std`, `fid50k`, `kid50k` and the
      protocol fields), plus `is50k_worst_eps<r>` (and `_std`), `fid50k_worst_eps<r>`, `g_loss`,
      `g_loss_worst_eps<r>`, `g_loss_random_eps<r>` for each radius, `noise_norm`, `noise_seed`,
      `robustness_radii`, `loss_samples`, how the images were made - `sampling` (the
      generator's mode, `rgan_tf.sampling`; "batch_stats" adds `sampling_batch`, the images per
      generator call, whose statistics normalize them) and `ema_decay` (None: the live weights) - and the cost:
      `eval_seconds`, `eval_cpu_seconds`, `eval_peak_rss_mib` (`eval_peak_gpu_mib` on a GPU; see
      `ResourceMeter`).
    """
    radii = _check_radii(robustness_radii)
    if image_size is None:
        image_size = _square_side(getattr(model, "image_shape", None))
    classifier = classifiers_lib.load_classifier(classifier)
    num_real = num_samples if num_real is None else num_real
    common = dict(classifier=classifier, source=source, split=split, num_fake=num_samples,
                  num_real=num_real, batch_size=batch_size, image_size=image_size,
                  cache_dir=cache_dir, data_kwargs=data_kwargs, verbose=verbose)
    norm = getattr(model, "norm", None)
    with ResourceMeter() as meter:
        record = metrics_lib.evaluate(NoiseImages(model, "normal", 0.0, seed), metrics=metrics,
                                      **common)
        for eps in radii:
            worst = metrics_lib.evaluate(NoiseImages(model, "worst", eps, seed),
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


def _square_side(shape):
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
    radii = _check_radii(radii)
    norm = norm or model.norm
    perturbations.check_norm(norm)

    losses = _compiled(model, "real_losses", real_losses)
    perturbed_losses = _compiled(
        model, ("worst_real_losses", norm), lambda model, images, labels, eps: real_losses(
            model, worst_case_images(model, images, eps, labels, "real", norm), labels))

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


def load_real_images(split, num_images, image_size=None, with_labels=False, seed=0, source=None,
                     data_kwargs=None, batch_size=256):
    """The first `num_images` real images of `split` (shuffled with `seed`) as numpy arrays.

    `source` None reads the gin-bound `dataset.source` (the running config's data).

    Returns:
      `images [n, H, W, C]` float32, or `(images, labels [n] int32)` with `with_labels`.
    """
    from rgan_tf import data as data_lib
    kwargs = dict(data_kwargs or {})
    kwargs.setdefault("dequantize", False)  # a training option: score the data as it is
    if source is not None:
        kwargs["source"] = source
    if image_size is not None:
        kwargs["image_size"] = image_size
    ds = data_lib.dataset(batch_size=batch_size, split=split, with_labels=with_labels,
                          shuffle=True, repeat=False, seed=seed, drop_remainder=False, **kwargs)
    images, labels, count = [], [], 0
    for batch in ds:
        batch_images = batch[0] if with_labels else batch
        images.append(batch_images.numpy())
        if with_labels:
            labels.append(batch[1].numpy())
        count += len(images[-1])
        if count >= num_images:
            break
    images = np.concatenate(images)[:num_images]
    if with_labels:
        return images, np.concatenate(labels)[:num_images].astype(np.int32)
    return images


# ---------------------------------------------------------------------------------------------
# Run folders.


def read_run_config(path):
    """The bindings of an operative config (a run folder, an export, or the file itself).

    Returns:
      `{"selector.param": value}` with Python literals evaluated (strings, numbers, None, lists)
      and references (`@non_saturating_loss()`) kept as their text.
    """
    candidates = [path, os.path.join(path, OPERATIVE_CONFIG),
                  os.path.join(path, "assets.extra", OPERATIVE_CONFIG)]
    config = next((c for c in candidates if os.path.isfile(c)), None)
    if config is None:
        raise ValueError(f"No {OPERATIVE_CONFIG} at {path} (a run folder or an export holds one).")
    with open(config) as handle:
        bindings = checkpoints_lib.parse_bindings(handle.read())
    values = {}
    for name, text in bindings.items():
        try:
            values[name] = ast.literal_eval(text)
        except (ValueError, SyntaxError):
            values[name] = text
    return values


def run_data_settings(config):
    """`(source, image_size, data_kwargs)` of a run's training data, from `read_run_config`."""
    source = config.get("dataset.source", "digits")
    data_kwargs = {name: config[f"dataset.{name}"] for name in ("holdout", "data_dir")
                   if config.get(f"dataset.{name}") is not None}
    return source, config.get("dataset.image_size"), data_kwargs


def default_metrics_file(model_dir=None, export_dir=None):
    return os.path.join(model_dir or export_dir, METRICS_FILE)


def evaluate_run(model_dir=None, export_dir=None, checkpoint=None, num_samples=50000,
                 num_real=None, classifier="inception", real_source=None, real_split="test",
                 batch_size=100, metrics=metrics_lib.ALL_METRICS, robustness=False, radii=None,
                 generalization=False, d_num_images=5000, seed=0, cache_dir=None,
                 metrics_file=None, verbose=True, log=print):
    """Evaluates a run folder's (or an export's) generator and appends the record to
    `metrics.jsonl`: what `tools/evaluate.py` does.

    Args:
      model_dir: a run folder (give this or `export_dir`).
      export_dir: a SavedModel written by `tools/export.py` (no robustness, no discriminator).
      checkpoint: with `model_dir`: a step, `ckpt-<step>` or a path; default the latest.
      num_samples: generated images (50000: `is50k`, `fid50k`, `kid50k`).
      num_real: real images; default `num_samples` (or the whole split if it holds fewer).
      classifier: "inception", a path, or a `Classifier`.
      real_source: real data; default the run's `dataset.source`.
      real_split: the real split (default "test").
      batch_size: images per call.
      metrics: any of "is", "fid", "kid".
      robustness: also evaluate IS/FID on worst-case noise and the generator loss under
        worst-case vs random noise (Fig. 3).
      radii: the worst-case radii; default `[the run's eps_z]`.
      generalization: also measure `d_gap` and `d_sensitivity_eps<eps_x>` on `d_num_images` train
        and held-out images of the run's data.
      d_num_images: images per side for `generalization`.
      seed: seed of the generator's noise.
      cache_dir: the real statistics' cache (default `rgan_tf.metrics.DEFAULT_CACHE_DIR`).
      metrics_file: where to append; default `<model_dir or export_dir>/metrics.jsonl`.
      verbose: progress bars.
      log: where messages go.

    Returns:
      The record appended.
    """
    from rgan_tf import export
    if (model_dir is None) == (export_dir is None):
        raise ValueError("Give exactly one of model_dir and export_dir.")
    if export_dir is not None and checkpoint is not None:
        raise ValueError("checkpoint goes with model_dir, not export_dir.")
    if export_dir is not None and (robustness or generalization):
        raise ValueError("Robustness and the discriminator's gap need the run's discriminator and "
                         "loss: evaluate the run folder (--model_dir), not an export.")
    if num_samples < 10:
        raise ValueError(f"num_samples must be >= 10 (the Inception Score's 10 splits); got "
                         f"{num_samples}.")
    config = read_run_config(model_dir or export_dir)
    run_source, _, run_data_kwargs = run_data_settings(config)
    source, data_kwargs = run_source, run_data_kwargs
    if real_source is not None and real_source != run_source:
        source, data_kwargs = real_source, {}
    classifier = classifiers_lib.load_classifier(classifier)  # before the model: fails fast
    if model_dir is not None:
        model, step = export.load_run(model_dir, checkpoint, log=log)
    else:
        model = ExportedGenerator(export_dir)
        step = model.step
    if robustness and radii is None:
        radii = [model.eps_z]
    record = {"step": int(step), "origin": "evaluate"}
    record.update(evaluate_model(
        model, classifier, source, real_split, num_samples, num_real, batch_size, metrics,
        robustness_radii=radii if robustness else (), seed=seed, cache_dir=cache_dir,
        data_kwargs=data_kwargs, verbose=verbose))
    if generalization:
        train, heldout = _generalization_data(model, run_source, d_num_images, run_data_kwargs,
                                              log)
        record.update(discriminator_generalization(model, train, heldout, [model.eps_x]))
    record["model_dir" if model_dir else "export_dir"] = os.path.abspath(model_dir or export_dir)
    path = metrics_file or default_metrics_file(model_dir, export_dir)
    metrics_lib.append_jsonl(path, record)
    log(summary_line(record))
    log(f"Appended to {path}.")
    return record


def _generalization_data(model, source, num_images, data_kwargs, log):
    """Training and held-out real images (with labels for a conditional model) of the run's data;
    held-out is None, with a message, when the source has no 'test' split."""
    side = _square_side(model.image_shape)
    conditional = model.num_classes is not None
    kwargs = dict(image_size=side, with_labels=conditional, source=source,
                  data_kwargs=data_kwargs)
    train = load_real_images("train", num_images, **kwargs)
    try:
        heldout = load_real_images("test", num_images, **kwargs)
    except ValueError as error:
        log(f"No held-out split, so no d_gap: {error}")
        heldout = None
    return train, heldout


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


# ---------------------------------------------------------------------------------------------
# During training.


def _bound(name, default):
    try:
        return gin.query_parameter(name)
    except ValueError:
        return default


# Numeric record fields that describe the protocol: not worth a TensorBoard curve.
_NOT_SCALARS = frozenset({"step", "num_fake", "num_real", "is_splits", "noise_seed",
                          "loss_samples", "d_num_train", "d_num_heldout", "sampling_batch",
                          "ema_decay"})


@gin.configurable(denylist=["model_dir"])
class MetricsCallback(keras.callbacks.Callback):
    """Measures a run every `every` steps (and at the end) while it trains.

    Each evaluation appends one record to `<model_dir>/metrics.jsonl` (`origin: "callback"`),
    writes its numbers as TensorBoard scalars `eval/<name>` into `<model_dir>/logs`, and redraws
    `<model_dir>/metrics.png` (the curves of the paper's Fig. 2, `rgan_tf.figures.plot_metrics`).
    A record holds IS/FID at z ~ N(0, I) and on worst-case noise of each radius in
    `robustness_radii` (and the generator's loss under worst-case vs random noise), and, with
    `generalization`, the discriminator's `d_loss_train`, `d_loss_heldout`, `d_gap` and
    `d_sensitivity_eps<r>` for each radius in `sensitivity_radii`.

    Turn it on in gin: `train.callbacks = [@MetricsCallback]` (the trainer calls it with the run
    folder), then e.g. `MetricsCallback.every = 500`, `MetricsCallback.classifier = '/path'`.

    Args:
      model_dir: the run folder (given by `rgan_tf.training.train`).
      every: steps between evaluations (0: only at the end).
      num_samples: generated images per evaluation (`is5k` for 5000).
      classifier: "inception", a path or a `Classifier`.
      metrics: any of "is", "fid", "kid" at normal noise.
      real_split: the real split FID/KID compare with (the run's data source).
      batch_size: images per call.
      robustness_radii: worst-case noise radii (None: `[eps_z]` of the model; (): none).
      generalization: measure the discriminator's gap and sensitivity.
      d_num_images: training and held-out images for them (each).
      heldout_split: the held-out split ("test"; bind `dataset.holdout` for npz/folder data).
      sensitivity_radii: radii of the real-image perturbation (None: `[eps_x]` of the model).
      cache_dir: the real statistics' cache (None: `rgan_tf.metrics.DEFAULT_CACHE_DIR`).
      seed: seed of the evaluation's noise (the same batches at every evaluation).
      at_end: also evaluate when training ends (unless that step was just evaluated).
      plot: redraw `metrics.png`.
      verbose: progress bars and a summary line per evaluation.
    """

    def __init__(self, model_dir, every=500, num_samples=5000, classifier="inception",
                 metrics=("is", "fid"), real_split="test", batch_size=100,
                 robustness_radii=None, generalization=True, d_num_images=1000,
                 heldout_split="test", sensitivity_radii=None, cache_dir=None, seed=0,
                 at_end=True, plot=True, verbose=False):
        super().__init__()
        if not isinstance(every, int) or every < 0:
            raise ValueError(f"MetricsCallback.every must be an integer >= 0, got {every!r}.")
        if not isinstance(num_samples, int) or num_samples < 10:
            raise ValueError(f"MetricsCallback.num_samples must be an integer >= 10, got "
                             f"{num_samples!r}.")
        self.model_dir = model_dir
        self.every = every
        self.num_samples = num_samples
        self.classifier_spec = classifier
        self.metrics_names = tuple(metrics)
        self.real_split = real_split
        self.batch_size = batch_size
        self.robustness_radii = None if robustness_radii is None else _check_radii(
            robustness_radii)
        self.generalization = generalization
        self.d_num_images = d_num_images
        self.heldout_split = heldout_split
        self.sensitivity_radii = None if sensitivity_radii is None else _check_radii(
            sensitivity_radii)
        self.cache_dir = cache_dir
        self.seed = seed
        self.at_end = at_end
        self.plot = plot
        self.verbose = verbose
        self.metrics_file = os.path.join(model_dir, METRICS_FILE)
        self.plot_file = os.path.join(model_dir, METRICS_PLOT)
        self.classifier = None
        self.writer = None
        self.records = []
        self._data = None
        self._last_step = None
        self._failed = False

    # Keras hooks.

    def on_train_begin(self, logs=None):
        self.classifier = classifiers_lib.load_classifier(self.classifier_spec)
        logs = os.path.join(self.model_dir, LOGS_DIR)
        with write_errors.reporting(logs):
            self.writer = tf.summary.create_file_writer(logs)
        self.source = _bound("dataset.source", "digits")

    def on_train_batch_end(self, batch, logs=None):
        if any(not math.isfinite(float(value)) for value in (logs or {}).values()):
            self._failed = True  # the trainer stops; no evaluation of broken weights
            return
        step = self._step()
        if self.every and step % self.every == 0 and step != self._last_step:
            self.evaluate(step)

    def on_train_end(self, logs=None):
        try:
            if self.at_end and not self._failed and self._step() != self._last_step:
                self.evaluate(self._step())
        finally:
            if self.writer is not None:
                self.writer.close()

    # The evaluation.

    def _step(self):
        return int(self.model.step_counter.numpy())

    def evaluate(self, step):
        """Evaluates the model now; appends, logs and plots the record; returns it."""
        model = self.model
        radii = [model.eps_z] if self.robustness_radii is None else self.robustness_radii
        record = {"step": int(step), "origin": "callback"}
        record.update(evaluate_model(
            model, self.classifier, self.source, self.real_split, self.num_samples,
            batch_size=self.batch_size, metrics=self.metrics_names, robustness_radii=radii,
            seed=self.seed, cache_dir=self.cache_dir, verbose=self.verbose))
        if self.generalization:
            with ResourceMeter() as meter:
                train, heldout = self._real_data()
                sensitivity = ([model.eps_x] if self.sensitivity_radii is None
                               else self.sensitivity_radii)
                record.update(discriminator_generalization(model, train, heldout, sensitivity,
                                                           self.batch_size))
            record.update(meter.fields("d_eval"))
        with write_errors.reporting(self.metrics_file):
            metrics_lib.append_jsonl(self.metrics_file, record)
        self.records.append(record)
        with write_errors.reporting(os.path.join(self.model_dir, LOGS_DIR)):
            self._write_scalars(record, step)
        if self.plot:
            from rgan_tf import figures
            with write_errors.reporting(self.plot_file):
                figures.plot_metrics([self.metrics_file], self.plot_file)
        if self.verbose:
            print(f"[MetricsCallback] {summary_line(record)}")
        self._last_step = step
        return record

    def _real_data(self):
        if self._data is None:
            side = _square_side(self.model.image_shape)
            kwargs = dict(image_size=side, with_labels=self.model.num_classes is not None,
                          seed=self.seed)
            train = load_real_images("train", self.d_num_images, **kwargs)
            try:
                heldout = load_real_images(self.heldout_split, self.d_num_images, **kwargs)
            except ValueError as error:
                print(f"[MetricsCallback] no held-out split, so no d_gap: {error}")
                heldout = None
            self._data = (train, heldout)
        return self._data

    def _write_scalars(self, record, step):
        with self.writer.as_default():
            for name, value in record.items():
                if isinstance(value, (int, float)) and not isinstance(value, bool) and (
                        name not in _NOT_SCALARS):
                    tf.summary.write(f"eval/{name}", tf.constant(float(value), tf.float32),
                                     step=step, metadata=_SCALAR_METADATA)
        self.writer.flush()


def read_jsonl(path):
    """The records of a JSON-lines file (blank and unparsable lines are skipped)."""
    records = []
    with open(path, encoding="utf-8") as handle:
        for line in handle:
            line = line.strip()
            if not line:
                continue
            try:
                records.append(json.loads(line))
            except json.JSONDecodeError:
                continue
    return records
