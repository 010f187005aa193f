"""Getting a trained model out of a run folder: restored in Python (`load_run`), or as a
SavedModel that needs only TensorFlow to load (`export_run`), and read back (`ExportedGenerator`).

A run folder (`rgan_tf.run.layout`) holds its operative config and checkpoints; `load_run`
rebuilds the model from the former (through gin, `rgan_tf.config`) and restores one of the latter.
`export_run` writes a SavedModel whose signatures are

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
import os
import shutil
import tempfile

import tensorflow as tf

from rgan_tf import config
from rgan_tf import files
from rgan_tf import sampling as sampling_lib
from rgan_tf import training
from rgan_tf import write_errors
from rgan_tf.run import checkpoints as checkpoints_lib
from rgan_tf.run import layout


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
        z = sampling_lib.sample_noise(n, seed, self._latent_dim)
        batch_size = sampling_lib.batch_size_for(self._sampling)
        if not self.conditional:
            return {"images": sampling_lib.in_batches(self._generate, z, None, batch_size)}
        labels = tf.range(n, dtype=tf.int32) % self._num_classes
        return {"images": sampling_lib.in_batches(self._generate, z, labels, batch_size),
                "labels": labels}


def _to_uint8(images):
    """As `rgan_tf.images.to_uint8`: round((x + 1) * 127.5), clipped to [0, 255]."""
    return tf.cast(tf.clip_by_value(tf.round((images + 1.0) * 127.5), 0.0, 255.0), tf.uint8)


# ------------------------------------------------------------------------------------------------
# Run folders.


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
    config_path = layout.operative_config(model_dir)
    if not os.path.isfile(config_path):
        raise ValueError(f"{model_dir} is not a run folder: {layout.OPERATIVE_CONFIG} is "
                         "missing.")
    config.parse_gin([config_path], [])
    model = training.build_model()
    checkpoints = checkpoints_lib.RunCheckpoints(model, layout.checkpoint_dir(model_dir),
                                                 log=log)
    path = checkpoints_lib.resolve_checkpoint(model_dir, checkpoint)
    if path is not None:
        step = checkpoints.restore(path)
    elif checkpoints.all():
        step = checkpoints.restore_latest()
    else:
        raise ValueError(f"No checkpoint in {layout.checkpoint_dir(model_dir)}.")
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
            os.makedirs(layout.export_extra_dir(staging), exist_ok=True)
            if info is not None:
                files.write_json(layout.export_info(staging), info, indent=2)
            if config_text is not None:
                files.write_text(os.path.join(layout.export_extra_dir(staging),
                                              layout.OPERATIVE_CONFIG), config_text)
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
    with open(layout.operative_config(model_dir), encoding="utf-8") as handle:
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
# Reading exports.

def check_export_dir(export_dir):
    """Refuses a folder without a SavedModel."""
    if not os.path.isfile(layout.saved_model(export_dir)):
        raise ValueError(f"{export_dir} holds no SavedModel ({layout.SAVED_MODEL_FILE} is "
                         "missing).")


class ExportedGenerator:
    """An exported generator (`tools/export.py`) with the attributes
    `rgan_tf.evaluation.noise.NoiseImages` and the evaluation record need: `latent_dim`,
    `num_classes`, `step`, `image_shape`, `sampling`, `ema_decay` and `generate(z, labels)`."""

    def __init__(self, export_dir):
        check_export_dir(export_dir)
        self.loaded = tf.saved_model.load(export_dir)
        self.latent_dim = int(self.loaded.latent_dim.numpy())
        self.num_classes = int(self.loaded.num_classes.numpy()) or None
        self.step = int(self.loaded.step.numpy())
        self.sampling = sampling_lib.exported_sampling(self.loaded)
        self.ema_decay = export_info(export_dir).get("ema_decay")
        self._generate = self.loaded.signatures["serving_default"]
        self.image_shape = tuple(self._generate.structured_outputs["images"].shape[1:])

    def generate(self, z, labels=None):
        """Images `[B, H, W, C]` in [-1, 1] for `z [B, latent_dim]` (and labels `[B]`)."""
        feed = {"z": tf.convert_to_tensor(z, tf.float32)}
        if self.num_classes:
            feed["label"] = tf.convert_to_tensor(labels, tf.int32)
        return self._generate(**feed)["images"]


def export_info(export_dir):
    """The export's `assets.extra/rgan_tf_export.json` (`export_run`'s `info`), or {} for an
    export without one."""
    path = layout.export_info(export_dir)
    return files.read_json(path) if os.path.isfile(path) else {}
