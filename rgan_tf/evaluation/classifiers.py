"""The classifier that IS, FID and KID are measured with: loaded once, injected into `metrics`.

A `Classifier` maps images in [-1, 1] `[B, H, W, C]` to `(logits [B, K], features [B, F])`. It first
brings the images to the classifier's input the way TF-GAN does for Inception
(`tensorflow_gan/examples/cifar/util.py`: `tf.image.resize(images, [299, 299],
method=BILINEAR)`, i.e. bilinear, half-pixel centres, no antialiasing), and replicates 1-channel
images to 3 channels when the classifier takes 3.

`load_classifier(spec)` accepts:

* `"inception"` (or any TF-Hub handle): TF-GAN's Inception module
  `https://tfhub.dev/tensorflow/tfgan/eval/inception/1` through `hub.load`, loaded once per process.
  Outputs `logits` `[B, 1008]` and `pool_3` (2048 features).
* a folder: a local copy of that module, or any SavedModel whose root is callable on images
  (or has one signature) and returns a dict with `logits` and `pool_3`. `export_classifier`
  writes Keras models in this form, and `build_standin_inception` builds a tiny model with the
  same interface for tests.
* a `.keras` file: a Keras model with a layer named `logits` (the class logits) and a layer named
  `pool_3` (the features); both are read through one sub-model.

Each classifier has an `identity` (name, a fingerprint of the weights' files, input size and
resize method) that keys the cache of real-data statistics in `metrics`.
"""
import hashlib
import os

import keras
import numpy as np
import tensorflow as tf

INCEPTION_TFHUB = "https://tfhub.dev/tensorflow/tfgan/eval/inception/1"
INCEPTION_IMAGE_SIZE = 299
LOGITS = "logits"
FEATURES = "pool_3"
RESIZE_METHOD = "bilinear"

_DOWNLOAD_HELP = (
    "On a machine with internet access, download the module as a .tar.gz from "
    f"{INCEPTION_TFHUB}?tf-hub-format=compressed (tfhub.dev redirects to Kaggle Models), unpack "
    "it into a folder (it holds saved_model.pb and variables/), copy that folder here and pass "
    "its path instead of 'inception': --classifier=/path/to/inception (in Python: "
    "load_classifier('/path/to/inception')). Alternatively, point TFHUB_CACHE_DIR at a TF-Hub "
    "cache that already holds the module. For small data sets without Inception, train a domain "
    "classifier offline with tools/train_classifier.py and pass its --output folder.")

# Loaded modules and Keras models by (handle or path, fingerprint), and the Classifiers made from
# them: each is loaded once per process.
_LOADED = {}


class ClassifierUnavailableError(ValueError):
    """The classifier could not be loaded (no network for TF-Hub, or a bad local copy)."""


class Classifier:
    """Images in [-1, 1] -> `(logits, features)`, with the classifier's own preprocessing.

    Attributes:
      name: short name recorded with every metric (e.g. "inception").
      identity: name, weights fingerprint, input size and resize method; keys cached statistics.
      image_size: `(height, width)` the images are resized to.
      channels: channels the classifier takes (1-channel images are replicated to 3).
      calls: how many batches this classifier has run (callers may count work with it).
    """

    def __init__(self, fn, name, image_size=(INCEPTION_IMAGE_SIZE, INCEPTION_IMAGE_SIZE),
                 channels=3, fingerprint=None):
        """Wraps `fn`.

        Args:
          fn: maps preprocessed float32 images `[B, image_size[0], image_size[1], channels]` in
            [-1, 1] to `(logits [B, K], features [B, ...])`; features are flattened to `[B, F]`.
          name: the classifier's short name.
          image_size: an int or `(height, width)`: the classifier's input size.
          channels: 1 or 3.
          fingerprint: a string that changes when the weights change (part of `identity`).
        """
        if isinstance(image_size, int):
            image_size = (image_size, image_size)
        if len(image_size) != 2 or min(image_size) < 1:
            raise ValueError(f"image_size must be an int or (height, width), got {image_size!r}.")
        if channels not in (1, 3):
            raise ValueError(f"A classifier takes 1 or 3 channels, got {channels!r}.")
        self.fn = fn
        self.name = name
        self.image_size = tuple(int(size) for size in image_size)
        self.channels = int(channels)
        self.fingerprint = fingerprint
        self.identity = (f"{name}[{fingerprint or 'unversioned'}]"
                         f"@{self.image_size[0]}x{self.image_size[1]}x{self.channels}"
                         f"/{RESIZE_METHOD}")
        self.calls = 0
        self._run = tf.function(self._resize_and_run, reduce_retracing=True)

    def __repr__(self):
        return f"Classifier({self.identity})"

    @property
    def resize(self):
        """The resize path, as recorded with metrics: e.g. "bilinear to 299x299"."""
        return f"{RESIZE_METHOD} to {self.image_size[0]}x{self.image_size[1]}"

    def preprocess(self, images):
        """Images `[B, H, W, C]` in [-1, 1] -> the classifier's input `[B, h, w, channels]`.

        Channels first (1 -> 3 by replication), then a bilinear resize as TF-GAN's examples do
        before Inception; an image already at the input size is left as it is.
        """
        return self._resize(self._match_channels(images))

    def _match_channels(self, images):
        images = tf.convert_to_tensor(images)
        if images.shape.rank != 4:
            raise ValueError(f"Expected images [B, H, W, C], got shape {images.shape}.")
        images = tf.cast(images, tf.float32)
        channels = images.shape[-1]
        if channels == self.channels:
            return images
        if channels == 1 and self.channels == 3:
            return tf.tile(images, [1, 1, 1, 3])
        raise ValueError(
            f"Classifier {self.name} takes {self.channels}-channel images; got {channels}.")

    def _resize(self, images):
        if tuple(images.shape[1:3]) != self.image_size:
            images = tf.image.resize(images, self.image_size, method=RESIZE_METHOD)
        return images

    def _resize_and_run(self, images):
        logits, features = self.fn(self._resize(images))
        logits = tf.cast(logits, tf.float32)
        features = tf.cast(features, tf.float32)
        batch = tf.shape(features)[0]
        return tf.reshape(logits, [batch, -1]), tf.reshape(features, [batch, -1])

    def __call__(self, images):
        """Images `[B, H, W, C]` in [-1, 1] -> float32 `(logits [B, K], features [B, F])`."""
        images = self._match_channels(images)  # eagerly: checks see the real channel count
        self.calls += 1
        return self._run(images)


# ---------------------------------------------------------------------------------------------
# Loading.


def load_classifier(spec="inception", image_size=None):
    """Loads the classifier named by `spec`, once per process.

    Args:
      spec: "inception" (TF-GAN's Inception from TF-Hub), another TF-Hub handle, a folder holding a
        SavedModel / TF-Hub module with outputs `logits` and `pool_3`, a `.keras` file with layers
        named `logits` and `pool_3`, or a `Classifier` (returned as it is).
      image_size: overrides the input size read from the model (default: the model's fixed input
        size, else 299 as for Inception).

    Returns:
      A `Classifier`.

    Raises:
      ClassifierUnavailableError: TF-Hub is unreachable and no local copy was given (the message
        says what to download and pass), or the model lacks the `logits`/`pool_3` outputs.
      ValueError: `spec` names nothing loadable.
    """
    if isinstance(spec, Classifier):
        return spec
    if not isinstance(spec, (str, os.PathLike)):
        raise ValueError(f"A classifier spec is 'inception', a path or a Classifier; got {spec!r}.")
    spec = os.fspath(spec)
    if spec == "inception":
        return _from_hub(INCEPTION_TFHUB, "inception", image_size)
    if spec.startswith(("http://", "https://", "gs://")):
        name = ("inception" if "tfgan/eval/inception" in spec
                else "_".join(spec.rstrip("/").split("/")[-2:]))
        return _from_hub(spec, name, image_size)
    path = os.path.abspath(os.path.expanduser(spec))
    if os.path.isdir(path):
        return _from_saved_model(path, image_size)
    if os.path.isfile(path) and path.endswith(".keras"):
        return _from_keras_file(path, image_size)
    raise ValueError(
        f"No classifier at {spec!r}. Pass 'inception' (TF-GAN's Inception from TF-Hub; needs "
        "network once), a folder holding a SavedModel or TF-Hub module with outputs "
        f"'{LOGITS}' and '{FEATURES}' (e.g. a local copy of {INCEPTION_TFHUB}, or the --output "
        "of tools/train_classifier.py), or a .keras file with layers named "
        f"'{LOGITS}' and '{FEATURES}'.")


def _from_hub(handle, name, image_size):
    key = (handle, None)
    if key not in _LOADED:
        import tensorflow_hub as hub
        try:
            _LOADED[key] = hub.load(handle)
        except Exception as error:  # network, resolver and format errors all end here
            raise ClassifierUnavailableError(
                f"Could not load the classifier {handle} ({type(error).__name__}: {error}). "
                + _DOWNLOAD_HELP) from error
    return _cached(key, image_size, lambda: _classifier(
        *_module_fn(_LOADED[key], handle), name, image_size, fingerprint=handle))


def _from_saved_model(path, image_size):
    fingerprint = _fingerprint_saved_model(path)
    key = (path, fingerprint)
    if key not in _LOADED:
        import tensorflow_hub as hub
        try:
            _LOADED[key] = hub.load(path)  # also reads the TF1-Hub format (tfhub_module.pb)
        except Exception as error:
            raise ClassifierUnavailableError(
                f"Could not load a SavedModel from {path} ({type(error).__name__}: {error}). "
                "The folder must hold saved_model.pb and variables/ (a TF-Hub module unpacked, or "
                "the --output of tools/train_classifier.py).") from error
    return _cached(key, image_size, lambda: _classifier(
        *_module_fn(_LOADED[key], path), os.path.basename(path.rstrip(os.sep)), image_size,
        fingerprint))


def _from_keras_file(path, image_size):
    fingerprint = _hash_files([path])
    key = (path, fingerprint)
    if key not in _LOADED:
        model = keras.models.load_model(path, compile=False)
        names = {layer.name for layer in model.layers}
        missing = [name for name in (LOGITS, FEATURES) if name not in names]
        if missing:
            raise ClassifierUnavailableError(
                f"The Keras classifier {path} has no layer named {missing}: name the layer that "
                f"gives the class logits '{LOGITS}' and the feature layer '{FEATURES}'.")
        _LOADED[key] = keras.Model(model.inputs, [model.get_layer(LOGITS).output,
                                                  model.get_layer(FEATURES).output])
    model = _LOADED[key]

    def fn(images):
        logits, features = model(images, training=False)
        return logits, features

    return _cached(key, image_size, lambda: _classifier(
        fn, model.inputs[0].shape, os.path.splitext(os.path.basename(path))[0], image_size,
        fingerprint))


def _module_fn(module, where):
    """(fn images -> (logits, features), input TensorShape) of a loaded SavedModel/TF-Hub module."""
    if callable(module):
        call = module
        input_shape = _callable_input_shape(module)
    else:
        signatures = dict(getattr(module, "signatures", {}) or {})
        signature = (signatures.get("default") or signatures.get("serving_default")
                     or (next(iter(signatures.values())) if len(signatures) == 1 else None))
        if signature is None:
            raise ClassifierUnavailableError(
                f"{where} is neither callable nor has a 'default' signature; cannot run it.")
        inputs = signature.structured_input_signature[1]
        if len(inputs) != 1:
            raise ClassifierUnavailableError(
                f"The signature of {where} takes {sorted(inputs)}; expected one image input.")
        (input_name, input_spec), = inputs.items()
        input_shape = input_spec.shape

        def call(images):
            return signature(**{input_name: images})

    names = _output_names(module)
    if names is not None and not {LOGITS, FEATURES} <= names:
        raise ClassifierUnavailableError(
            f"{where} returns {sorted(names)}; a classifier must return a dict with "
            f"'{LOGITS}' and '{FEATURES}'.")

    def fn(images):
        outputs = call(images)
        if not isinstance(outputs, dict) or LOGITS not in outputs or FEATURES not in outputs:
            found = sorted(outputs) if isinstance(outputs, dict) else type(outputs).__name__
            raise ClassifierUnavailableError(
                f"{where} returns {found}; a classifier must return a dict with "
                f"'{LOGITS}' and '{FEATURES}'.")
        return outputs[LOGITS], outputs[FEATURES]

    return fn, input_shape


def _output_names(module):
    """The output dict's keys of a loaded module's call or signature, None if not recorded."""
    functions = list(getattr(getattr(module, "__call__", None), "concrete_functions", None) or [])
    signatures = getattr(module, "signatures", None) or {}
    if not functions:
        functions = list(signatures.values())[:1]
    for function in functions:
        outputs = function.structured_outputs
        return set(outputs) if isinstance(outputs, dict) else set()
    return None


def _callable_input_shape(module):
    """The image input's TensorShape of a loaded callable SavedModel root, if it is recorded."""
    call = getattr(module, "__call__", None)
    spec = getattr(call, "input_signature", None)
    if spec:
        return tf.TensorShape(spec[0].shape)
    for concrete in getattr(call, "concrete_functions", []) or []:
        args = concrete.structured_input_signature[0]
        if args:
            return tf.TensorShape(args[0].shape)
    return tf.TensorShape(None)


def _cached(key, image_size, build):
    """One `Classifier` per loaded model and input size, so its traced function is reused."""
    classifier_key = ("classifier", key, image_size)
    if classifier_key not in _LOADED:
        _LOADED[classifier_key] = build()
    return _LOADED[classifier_key]


def _classifier(fn, input_shape, name, image_size, fingerprint):
    input_shape = tf.TensorShape(input_shape)
    height = width = None
    channels = 3
    if input_shape.rank == 4:
        height, width = input_shape[1], input_shape[2]
        channels = input_shape[3] or 3
    if image_size is None:
        image_size = (height, width) if height and width else INCEPTION_IMAGE_SIZE
    return Classifier(fn, name, image_size=image_size, channels=channels, fingerprint=fingerprint)


def _hash_files(paths):
    digest = hashlib.sha256()
    for path in paths:
        with open(path, "rb") as handle:
            for chunk in iter(lambda: handle.read(1 << 20), b""):
                digest.update(chunk)
    return digest.hexdigest()[:16]


def _fingerprint_saved_model(path):
    """A hash of the graph and the variables' index (which holds each tensor's checksum)."""
    names = ["saved_model.pb", "saved_model.pbtxt", "tfhub_module.pb",
             os.path.join("variables", "variables.index")]
    present = [os.path.join(path, name) for name in names
               if os.path.isfile(os.path.join(path, name))]
    if not present:
        raise ValueError(f"{path} holds no saved_model.pb: not a SavedModel or TF-Hub module.")
    return _hash_files(present)


# ---------------------------------------------------------------------------------------------
# Writing classifiers in the Inception module's form.


class InceptionCompatibleModule(tf.Module):
    """A `tf.Module` called like TF-GAN's Inception module: images -> {"logits", "pool_3"}.

    `__call__` takes float32 images `[None, H, W, C]` in [-1, 1] and returns `logits [B, K]` and
    `pool_3 [B, 1, 1, F]` (the shape of Inception's final pool; readers flatten it).
    """

    def __init__(self, model, name=None):
        """Wraps a built Keras model mapping images to `[logits [B, K], features [B, F]]`."""
        super().__init__(name=name)
        if len(model.inputs) != 1 or len(model.outputs) != 2:
            raise ValueError("The model must take one image input and return [logits, features].")
        self.model = model
        spec = tf.TensorSpec([None, *model.inputs[0].shape[1:]], tf.float32, name="images")
        self.__call__ = tf.function(self._call, input_signature=[spec])

    def _call(self, images):
        logits, features = self.model(images, training=False)
        features = tf.reshape(features, [tf.shape(features)[0], 1, 1, -1])
        return {LOGITS: tf.cast(logits, tf.float32), FEATURES: tf.cast(features, tf.float32)}


def export_classifier(model, path):
    """Saves a classifier as a SavedModel in the Inception module's form; `load_classifier(path)`
    reads it back.

    Args:
      model: an `InceptionCompatibleModule`, or a built Keras model mapping images in [-1, 1] to
        `[logits [B, K], features [B, F]]`.
      path: the folder to write (created; an existing SavedModel there is replaced).

    Returns:
      `path`.
    """
    module = model if isinstance(model, InceptionCompatibleModule) else InceptionCompatibleModule(
        model)
    tf.saved_model.save(module, os.fspath(path), signatures={"default": module.__call__})
    return path


def build_standin_inception(image_size=INCEPTION_IMAGE_SIZE, num_classes=1008, feature_dim=2048,
                            seed=0):
    """A tiny stand-in for TF-GAN's Inception module, with its input and output names.

    Fixed random weights: average pooling to ~16x16, a tanh feature layer (`pool_3`) and a linear
    logits layer. It measures nothing meaningful; tests save it with `tf.saved_model.save` (or
    `export_classifier`) and load it back by path, through the same code as a local Inception copy.

    Args:
      image_size: input height and width (299 like Inception, so the resize path is exercised).
      num_classes: K, the logits' width (Inception: 1008).
      feature_dim: F, the width of `pool_3` (Inception: 2048).
      seed: seeds the weights.

    Returns:
      An `InceptionCompatibleModule`: images `[B, image_size, image_size, 3]` ->
      `{"logits": [B, num_classes], "pool_3": [B, 1, 1, feature_dim]}`.
    """
    rng = np.random.default_rng(seed)
    pool = max(1, image_size // 16)
    images = keras.Input((image_size, image_size, 3), name="images")
    h = keras.layers.AveragePooling2D(pool, strides=pool)(images)
    h = keras.layers.Flatten()(h)
    fan_in = h.shape[-1]
    pool_3 = keras.layers.Dense(feature_dim, activation="tanh", name=FEATURES)
    logits = keras.layers.Dense(num_classes, name=LOGITS)
    features = pool_3(h)
    model = keras.Model(images, [logits(features), features], name="standin_inception")
    pool_3.set_weights([rng.normal(0, 2.0 / np.sqrt(fan_in), (fan_in, feature_dim)),
                        rng.normal(0, 0.1, feature_dim)])
    logits.set_weights([rng.normal(0, 3.0 / np.sqrt(feature_dim), (feature_dim, num_classes)),
                        np.zeros(num_classes)])
    return InceptionCompatibleModule(model, name="standin_inception")


# ---------------------------------------------------------------------------------------------
# Domain classifiers for small data sets (tools/train_classifier.py).


def domain_classifier(image_size, channels, num_classes, width=32, feature_dim=128):
    """A small CNN for a domain's images: `[B, S, S, C]` in [-1, 1] -> `[logits, features]`.

    Two stride-2 conv blocks, global average pooling, a ReLU feature layer named `pool_3`
    (`[B, feature_dim]`) and a linear layer named `logits` (`[B, num_classes]`).
    """
    images = keras.Input((image_size, image_size, channels), name="images")
    h = images
    for multiple in (1, 2):
        h = keras.layers.Conv2D(width * multiple, 3, padding="same", activation="relu")(h)
        h = keras.layers.Conv2D(width * multiple, 3, strides=2 if h.shape[1] > 1 else 1,
                                padding="same", activation="relu")(h)
    h = keras.layers.GlobalAveragePooling2D()(h)
    features = keras.layers.Dense(feature_dim, activation="relu", name=FEATURES)(h)
    logits = keras.layers.Dense(num_classes, name=LOGITS)(features)
    return keras.Model(images, [logits, features], name="domain_classifier")


def train_domain_classifier(source="digits", image_size=None, steps=None, epochs=None,
                            batch_size=64, num_classes=None, learning_rate=1e-3, seed=0,
                            verbose=1, **data_kwargs):
    """Trains `domain_classifier` on a labelled data source; reports test accuracy.

    Args:
      source: a data source of `rgan_tf.data.dataset` with labels.
      image_size: image size (None: the source's own).
      steps: training steps (batches); or give `epochs` (exactly one of the two).
      epochs: passes over the train split.
      batch_size: images per step.
      num_classes: K; default the source's (`rgan_tf.data.dataset_spec`).
      learning_rate: Adam's.
      seed: seeds the weights and the data order.
      verbose: Keras verbosity.
      **data_kwargs: passed on to `rgan_tf.data.dataset`.

    Returns:
      `(model, test_accuracy)`: the Keras model `images -> [logits, features]` and its accuracy
      on the test split.
    """
    from rgan_tf import data as data_lib
    if (steps is None) == (epochs is None):
        raise ValueError("Give exactly one of steps and epochs.")
    if (steps is not None and steps < 1) or (epochs is not None and epochs < 1):
        raise ValueError(f"steps/epochs must be >= 1, got steps={steps}, epochs={epochs}.")

    def labelled(split, training):
        return data_lib.dataset(source=source, batch_size=batch_size, split=split,
                                image_size=image_size, with_labels=True, shuffle=training,
                                repeat=training and steps is not None, seed=seed,
                                drop_remainder=training, **data_kwargs)

    (size, _, channels), source_classes = data_lib.dataset_spec(
        source, image_size, data_dir=data_kwargs.get("data_dir"))
    num_classes = num_classes or source_classes
    if num_classes is None:
        raise ValueError(f"{source} has no labels: a classifier needs a labelled source.")

    keras.utils.set_random_seed(seed)
    model = domain_classifier(size, channels, num_classes)
    trainer = keras.Model(model.inputs, model.outputs[0])  # shares the weights; logits only
    trainer.compile(optimizer=keras.optimizers.Adam(learning_rate),
                    loss=keras.losses.SparseCategoricalCrossentropy(from_logits=True),
                    metrics=["accuracy"])
    if steps is not None:
        trainer.fit(labelled("train", training=True), steps_per_epoch=steps, epochs=1,
                    verbose=verbose)
    else:
        trainer.fit(labelled("train", training=True), epochs=epochs, verbose=verbose)
    _, accuracy = trainer.evaluate(labelled("test", training=False), verbose=0)
    return model, float(accuracy)
