"""Samples of a trained generator written to files: from a restored run or a loaded export, the
same way (z ~ N(0, I) from a seed as `RobustGAN.sample` draws it, in the model's sampling mode,
`rgan_tf.sampling`; labels cycling through the chosen classes), as a PNG grid, a folder of PNG
files or an `.npz` (`sample_to_file`, what `tools/sample.py` does).
"""
import os

import numpy as np
import tensorflow as tf

from rgan_tf import export
from rgan_tf import files
from rgan_tf import images as images_lib
from rgan_tf import sampling as sampling_lib
from rgan_tf import write_errors

SAMPLE_FORMATS = ("grid", "files", "npz")


def class_labels(classes, num_samples, num_classes):
    """int32 labels `[num_samples]`: `classes` repeated in turn (default: every class).

    Raises:
      ValueError: classes for an unconditional model, or a class outside `[0, num_classes)`.
    """
    if not num_classes:
        if classes:
            raise ValueError("This generator is unconditional; it takes no classes.")
        return None
    classes = list(range(num_classes)) if not classes else [int(c) for c in classes]
    bad = [c for c in classes if not 0 <= c < num_classes]
    if bad:
        raise ValueError(f"Classes {bad} are outside [0, {num_classes}) for this generator.")
    return np.resize(np.asarray(classes, np.int32), num_samples)


class Sampler:
    """Samples from a restored `RobustGAN` or a loaded export, the same way: z ~ N(0, I) from
    `seed` as `RobustGAN.sample` draws it, and labels from `class_labels`."""

    def __init__(self, model=None, loaded=None):
        if (model is None) == (loaded is None):
            raise ValueError("Give a model or a loaded export.")
        self.model, self.loaded = model, loaded
        if model is not None:
            self.latent_dim, self.num_classes = model.latent_dim, model.num_classes or 0
            self.sampling = model.sampling
        else:
            self.latent_dim = int(loaded.latent_dim.numpy())
            self.num_classes = int(loaded.num_classes.numpy())
            self.sampling = sampling_lib.exported_sampling(loaded)

    @classmethod
    def from_export(cls, export_dir):
        """A sampler of the SavedModel at `export_dir`."""
        export.check_export_dir(export_dir)
        return cls(loaded=tf.saved_model.load(export_dir))

    def sample(self, num_samples, seed=0, classes=None):
        """`(images float32 [n, H, W, C] in [-1, 1], labels int32 [n] or None)`."""
        if not isinstance(num_samples, int) or num_samples < 1:
            raise ValueError(f"The number of samples must be an integer >= 1, got {num_samples!r}.")
        labels = class_labels(classes, num_samples, self.num_classes)
        z = sampling_lib.sample_noise(num_samples, seed, self.latent_dim)
        label = None if labels is None else tf.constant(labels)
        images = sampling_lib.in_batches(self._generate, z, label,
                                         sampling_lib.batch_size_for(self.sampling))
        return np.asarray(images, np.float32), labels

    def _generate(self, z, label):
        if self.model is not None:
            return self.model.generate(z, label)
        feed = {"z": z} if label is None else {"z": z, "label": label}
        return self.loaded.signatures["serving_default"](**feed)["images"]


def sample_format(output, fmt=None):
    """The sample format for `output`: `fmt` if given, else from the name (`.png`: grid,
    `.npz`: npz, anything else: a folder of PNG files)."""
    if fmt is not None:
        if fmt not in SAMPLE_FORMATS:
            raise ValueError(f"Unknown sample format {fmt!r}; choose one of {SAMPLE_FORMATS}.")
        return fmt
    extension = os.path.splitext(output)[1].lower()
    return {".png": "grid", ".npz": "npz"}.get(extension, "files")


def write_samples(images, labels, output, fmt=None, overwrite=False):
    """Writes samples as a PNG grid, a folder of PNG files or an `.npz` (`images` float32 in
    [-1, 1], `labels` int32 for a conditional model); never replaces files unless `overwrite`.

    Returns:
      The paths written.

    Raises:
      WriteFailedError: a file could not be written (the message names `output` and the free
        space).
    """
    with write_errors.reporting(output):
        return _write_samples(images, labels, output, fmt, overwrite)


def _write_samples(images, labels, output, fmt, overwrite):
    fmt = sample_format(output, fmt)
    check_output(output, fmt, overwrite)
    if fmt == "files":
        os.makedirs(output, exist_ok=True)
        paths = []
        for index, image in enumerate(images_lib.to_uint8(images)):
            suffix = "" if labels is None else f"_class{int(labels[index])}"
            paths.append(images_lib.save_png(image, os.path.join(
                output, f"sample_{index:05d}{suffix}.png")))
        return paths
    if fmt == "grid":
        return [images_lib.save_grid(images, output)]
    arrays = {"images": np.asarray(images, np.float32)}
    if labels is not None:
        arrays["labels"] = np.asarray(labels, np.int32)
    with files.atomic_path(output, suffix=".npz") as temporary:
        np.savez(temporary, **arrays)
    return [output]


def check_output(output, fmt, overwrite=False):
    """Refuses to replace an existing output (a non-empty folder for "files") unless
    `overwrite`."""
    if fmt == "files":
        export.check_output_dir(output, overwrite)
    elif os.path.exists(output) and not overwrite:
        raise ValueError(f"{output} exists; pass --overwrite to replace it.")


def sample_to_file(output, model_dir=None, export_dir=None, checkpoint=None, num_samples=64,
                   seed=0, classes=None, fmt=None, overwrite=False, log=print):
    """Writes samples of a run folder's or an export's generator: what `tools/sample.py` does.

    Args:
      output: a `.png` grid, an `.npz`, or a folder of PNG files (`sample_format`).
      model_dir: a run folder (give this or `export_dir`).
      export_dir: a SavedModel written by `tools/export.py`.
      checkpoint: with `model_dir`: a step, `ckpt-<step>` or a path; default the latest.
      num_samples: how many samples.
      seed: seed of the noise (as `RobustGAN.sample`).
      classes: classes for a conditional model (cycled); default every class.
      fmt: "grid", "files" or "npz"; default from `output`.
      overwrite: replace an existing output.
      log: where the summary line goes.

    Returns:
      The paths written.
    """
    if (model_dir is None) == (export_dir is None):
        raise ValueError("Give exactly one of --model_dir and --export_dir.")
    if export_dir is not None and checkpoint is not None:
        raise ValueError("--checkpoint goes with --model_dir, not --export_dir.")
    try:
        classes = [int(c) for c in classes or []]
    except ValueError:
        raise ValueError(f"--classes must be integers, got {classes}.") from None
    fmt = sample_format(output, fmt)
    check_output(output, fmt, overwrite)  # before the (slow) model build
    if model_dir is not None:
        sampler = Sampler(model=export.load_run(model_dir, checkpoint, log=log)[0])
    else:
        sampler = Sampler.from_export(export_dir)
    images, labels = sampler.sample(num_samples, seed, classes)
    paths = write_samples(images, labels, output, fmt, overwrite)
    log(f"Wrote {len(images)} samples to {output} ({fmt}, {len(paths)} file(s)).")
    return paths
