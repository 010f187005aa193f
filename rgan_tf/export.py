"""Getting a trained generator out of a run folder: restored in Python, as a SavedModel that needs
only TensorFlow to load, or as sample files.

A run folder (`rgan_tf.training.train`) holds `operative_config.gin` and `checkpoints/`;
`load_run` rebuilds the model from the former and restores one of the latter. `export_run` writes a
SavedModel whose signatures are

  serving_default(z [B, latent_dim] float32 (, label [B] int32)) -> {"images": float32 [B, H, W, C]
                  in [-1, 1]}
  generate_uint8(same inputs)                                  -> {"images": uint8 [B, H, W, C]}
  sample(n int32 (), seed int64 ())                            -> {"images": float32 [n, H, W, C]
                  (, "labels": int32 [n], classes 0..K-1 in turn)}
  discriminate(images [B, H, W, C] float32 (, label [B] int32)) -> {"logits": float32 [B]}
                  (only with `with_discriminator=True`)

`sample(n, seed)` draws exactly `RobustGAN.sample(n, seed)`'s images. The module also carries
`latent_dim`, `num_classes` (0: unconditional), `step` and `sampling` (the mode) as variables, and
the run's operative config under `assets.extra/`.

The generator computes as the model does outside training (`rgan_tf.sampling`): from the moving
average of its weights when the run kept one, and in the run's sampling mode. In "batch_stats" mode
(the WGAN-GP configs) batch norm normalizes with the statistics of the batch fed to
`serving_default`, so an image depends on the other noise vectors of its batch (feed batches of
100, as the reference did); `sample(n, seed)` generates in batches of 100. The serving functions
write no variable in either mode.
"""
import json
import os
import shutil
import tempfile

import numpy as np
import tensorflow as tf

from rgan_tf import checkpoints as checkpoints_lib
from rgan_tf import images as images_lib
from rgan_tf import rng
from rgan_tf import sampling as sampling_lib
from rgan_tf import write_errors

OPERATIVE_CONFIG = "operative_config.gin"
CHECKPOINT_DIR = "checkpoints"
EXPORT_INFO = os.path.join("assets.extra", "rgan_tf_export.json")
SAMPLE_FORMATS = ("grid", "files", "npz")


class ServingModule(tf.Module):
    """The SavedModel's root: a trained generator (and optionally its discriminator) behind
    `tf.function`s with fixed input signatures (see the module docstring)."""

    def __init__(self, model, step=0, with_discriminator=False):
        super().__init__(name="rgan_generator")
        self.generator = model.generator
        self.ema_weights = list(model.ema_weights)  # empty: the generator's own weights
        self._sampling = model.sampling
        self.conditional = model.num_classes is not None
        self._latent_dim, self._num_classes = model.latent_dim, model.num_classes or 0
        self.latent_dim = tf.Variable(model.latent_dim, trainable=False, name="latent_dim")
        self.num_classes = tf.Variable(model.num_classes or 0, trainable=False, name="num_classes")
        self.step = tf.Variable(step, dtype=tf.int64, trainable=False, name="step")
        self.sampling = tf.Variable(model.sampling, trainable=False, name="sampling")
        image_spec = tf.TensorSpec([None] + list(model.image_shape), tf.float32, name="images")
        z_spec = tf.TensorSpec([None, model.latent_dim], tf.float32, name="z")
        label_spec = tf.TensorSpec([None], tf.int32, name="label")
        sample_specs = [tf.TensorSpec([], tf.int32, name="n"), tf.TensorSpec([], tf.int64,
                                                                             name="seed")]
        specs = [z_spec, label_spec] if self.conditional else [z_spec]

        # Inputs are `(z,)` or `(z, label)`; the signatures take them by the specs' names.
        def generate(*inputs):
            return {"images": self._generate(*inputs)}

        def generate_uint8(*inputs):
            return {"images": _to_uint8(self._generate(*inputs))}

        self.generate = tf.function(generate, input_signature=specs)
        self.generate_uint8 = tf.function(generate_uint8, input_signature=specs)
        self.sample = tf.function(self._sample, input_signature=sample_specs)
        self.discriminate = None
        if with_discriminator:
            self.discriminator = model.discriminator

            def discriminate(*inputs):
                return {"logits": self._discriminate(*inputs)}

            self.discriminate = tf.function(
                discriminate, input_signature=[image_spec] + specs[1:])

    def signatures(self):
        """The `signatures` argument of `tf.saved_model.save`."""
        signatures = {"serving_default": self.generate, "generate_uint8": self.generate_uint8,
                      "sample": self.sample}
        if self.discriminate is not None:
            signatures["discriminate"] = self.discriminate
        return signatures

    def _generate(self, z, label=None):
        inputs = z if label is None else [z, label]
        return tf.cast(sampling_lib.generate(self.generator, inputs, self._sampling,
                                             self.ema_weights or None), tf.float32)

    def _discriminate(self, images, label=None):
        inputs = images if label is None else [images, label]
        return tf.cast(tf.reshape(self.discriminator(inputs, training=False), [-1]), tf.float32)

    def _sample(self, n, seed):
        z = sample_noise(n, seed, self._latent_dim)
        batch_size = sampling_lib.batch_size_for(self._sampling)
        if not self.conditional:
            return {"images": sampling_lib.in_batches(self._generate, z, None, batch_size)}
        labels = tf.range(n, dtype=tf.int32) % self._num_classes
        return {"images": sampling_lib.in_batches(self._generate, z, labels, batch_size),
                "labels": labels}


#: The noise `RobustGAN.sample(n, seed)` draws (`rgan_tf.sampling.sample_noise`).
sample_noise = sampling_lib.sample_noise


def _to_uint8(images):
    """As `rgan_tf.images.to_uint8`: round((x + 1) * 127.5), clipped to [0, 255]."""
    return tf.cast(tf.clip_by_value(tf.round((images + 1.0) * 127.5), 0.0, 255.0), tf.uint8)


# ------------------------------------------------------------------------------------------------
# Run folders.

def resolve_checkpoint(model_dir, checkpoint=None):
    """The checkpoint prefix named by `checkpoint`: None (the latest), a step (`500`), a name
    (`ckpt-500`) or a path; ValueError if it is not there."""
    if checkpoint is None:
        return None
    checkpoint = str(checkpoint)
    directory = os.path.join(model_dir, CHECKPOINT_DIR)
    if checkpoint.isdigit():
        checkpoint = f"ckpt-{checkpoint}"
    path = checkpoint if os.sep in checkpoint else os.path.join(directory, checkpoint)
    if path.endswith(".index"):
        path = path[:-len(".index")]
    if not os.path.isfile(path + ".index"):
        available = [os.path.basename(p) for p in checkpoints_lib.list_checkpoints(directory)]
        raise ValueError(f"No checkpoint {checkpoint!r} in {directory}; available: "
                         f"{', '.join(available) or 'none'}.")
    return path


def load_run(model_dir, checkpoint=None, log=print):
    """Rebuilds a run's model from its `operative_config.gin` and restores a checkpoint.

    Replaces the global gin config with the run's.

    Args:
      model_dir: the run folder.
      checkpoint: None (the latest readable checkpoint), a step, `ckpt-<step>` or a path.
      log: where messages (e.g. falling back from an unreadable checkpoint) go.

    Returns:
      `(model, step)`: the restored `RobustGAN` and its step.

    Raises:
      ValueError: no run folder, config or checkpoint there, or a checkpoint that is unreadable
        or does not fit the config.
    """
    from rgan_tf import launch  # imports every configurable: deferred until needed
    from rgan_tf import training

    config = os.path.join(model_dir, OPERATIVE_CONFIG)
    if not os.path.isfile(config):
        raise ValueError(f"{model_dir} is not a run folder: {OPERATIVE_CONFIG} is missing.")
    launch.parse_gin([config], [])
    model = training.build_model()
    checkpoints = checkpoints_lib.RunCheckpoints(model, os.path.join(model_dir, CHECKPOINT_DIR),
                                                 log=log)
    path = resolve_checkpoint(model_dir, checkpoint)
    if path is not None:
        step = checkpoints.restore(path)
    elif checkpoints.all():
        step = checkpoints.restore_latest()
    else:
        raise ValueError(f"No checkpoint in {os.path.join(model_dir, CHECKPOINT_DIR)}.")
    return model, step


def check_output_dir(path, overwrite):
    """Refuses a non-empty folder (or a file) at `path` unless `overwrite`."""
    if os.path.isfile(path):
        raise ValueError(f"{path} is a file, not a folder.")
    if os.path.isdir(path) and os.listdir(path) and not overwrite:
        raise ValueError(f"{path} is not empty; pass --overwrite to replace it.")


def save_module(module, export_dir, overwrite=False, info=None, config_text=None):
    """Writes `module` as a SavedModel at `export_dir`, atomically.

    The SavedModel is written into a temporary sibling folder and renamed into place, so an
    interrupted export leaves no half-written `export_dir`, and an existing one is replaced only
    with `overwrite` once the new one is complete.
    """
    export_dir = os.path.abspath(export_dir)
    check_output_dir(export_dir, overwrite)
    parent = os.path.dirname(export_dir)
    # A failed write (full disk, no permission) raises WriteFailedError naming export_dir and
    # the free space; the staging folder is removed and an existing export is left as it was.
    with write_errors.reporting(export_dir):
        os.makedirs(parent, exist_ok=True)
        staging = tempfile.mkdtemp(prefix=f".{os.path.basename(export_dir)}.tmp-", dir=parent)
    try:
        with write_errors.reporting(export_dir):
            tf.saved_model.save(module, staging, signatures=module.signatures())
            os.makedirs(os.path.join(staging, "assets.extra"), exist_ok=True)
            if info is not None:
                with open(os.path.join(staging, EXPORT_INFO), "w") as handle:
                    json.dump(info, handle, indent=2)
            if config_text is not None:
                with open(os.path.join(staging, "assets.extra", OPERATIVE_CONFIG), "w") as handle:
                    handle.write(config_text)
            _move_into_place(staging, export_dir, parent)
    finally:
        if os.path.isdir(staging):
            shutil.rmtree(staging)
    return export_dir


def _move_into_place(staging, export_dir, parent):
    """Renames the complete `staging` folder to `export_dir`, replacing an existing one."""
    if os.path.isdir(export_dir):
        if os.listdir(export_dir):  # overwrite: move the old one aside, then drop it
            old = tempfile.mkdtemp(prefix=f".{os.path.basename(export_dir)}.old-", dir=parent)
            os.replace(export_dir, os.path.join(old, "export"))
            os.replace(staging, export_dir)
            shutil.rmtree(old)
        else:
            os.rmdir(export_dir)
            os.replace(staging, export_dir)
    else:
        os.replace(staging, export_dir)


def export_run(model_dir, export_dir, checkpoint=None, with_discriminator=False,
               overwrite=False, log=print):
    """Exports a run's generator (and optionally discriminator) as a SavedModel.

    Args:
      model_dir: the run folder.
      export_dir: where to write; must be missing or empty unless `overwrite`.
      checkpoint: None (latest), a step, `ckpt-<step>` or a path.
      with_discriminator: add the `discriminate` signature.
      overwrite: replace a non-empty `export_dir`.

    Returns:
      The absolute export path.
    """
    check_output_dir(export_dir, overwrite)  # before the (slow) model build
    model, step = load_run(model_dir, checkpoint, log=log)
    module = ServingModule(model, step=step, with_discriminator=with_discriminator)
    with open(os.path.join(model_dir, OPERATIVE_CONFIG)) as handle:
        config_text = handle.read()
    info = {"model_dir": os.path.abspath(model_dir), "step": step,
            "latent_dim": model.latent_dim, "num_classes": model.num_classes,
            "image_shape": list(model.image_shape), "sampling": model.sampling,
            "ema_decay": model.ema_decay, "signatures": sorted(module.signatures())}
    path = save_module(module, export_dir, overwrite, info=info, config_text=config_text)
    log(f"Exported step {step} of {model_dir} to {path} (signatures: "
        f"{', '.join(sorted(module.signatures()))}).")
    return path


# ------------------------------------------------------------------------------------------------
# Samples, from a restored model or an export.

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
        if not os.path.isfile(os.path.join(export_dir, "saved_model.pb")):
            raise ValueError(f"{export_dir} holds no SavedModel (saved_model.pb is missing).")
        return cls(loaded=tf.saved_model.load(export_dir))

    def sample(self, num_samples, seed=0, classes=None):
        """`(images float32 [n, H, W, C] in [-1, 1], labels int32 [n] or None)`."""
        if not isinstance(num_samples, int) or num_samples < 1:
            raise ValueError(f"The number of samples must be an integer >= 1, got {num_samples!r}.")
        labels = class_labels(classes, num_samples, self.num_classes)
        z = sample_noise(num_samples, seed, self.latent_dim)
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
    if fmt == "files":
        check_output_dir(output, overwrite)
        os.makedirs(output, exist_ok=True)
        paths = []
        for index, image in enumerate(images_lib.to_uint8(images)):
            suffix = "" if labels is None else f"_class{int(labels[index])}"
            path = os.path.join(output, f"sample_{index:05d}{suffix}.png")
            _save_png(image, path)
            paths.append(path)
        return paths
    if os.path.exists(output) and not overwrite:
        raise ValueError(f"{output} exists; pass --overwrite to replace it.")
    os.makedirs(os.path.dirname(os.path.abspath(output)), exist_ok=True)
    if fmt == "grid":
        return [images_lib.save_grid(images, output)]
    arrays = {"images": np.asarray(images, np.float32)}
    if labels is not None:
        arrays["labels"] = np.asarray(labels, np.int32)
    temporary = output + ".tmp.npz"
    np.savez(temporary, **arrays)
    os.replace(temporary, output)
    return [output]


def _save_png(image, path):
    from PIL import Image
    Image.fromarray(image[..., 0] if image.shape[-1] == 1 else image).save(path)
