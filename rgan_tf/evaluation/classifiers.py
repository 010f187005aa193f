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
  (or has one signature) and returns a dict with `logits` and `pool_3`.
  `rgan_tf.evaluation.domain_classifiers` writes Keras models in this form and builds a tiny
  stand-in with the same interface for tests.
* a `.keras` file: a Keras model with a layer named `logits` (the class logits) and a layer named
  `pool_3` (the features); both are read through one sub-model.

Each classifier has an `identity` (name, a fingerprint of the weights' files, input size and
resize method) that keys the cache of real-data statistics (`rgan_tf.evaluation.real_stats`).
"""
import hashlib
import os

import keras
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
        import tensorflow_hub as hub  # heavy: TF-Hub only when a hub module is loaded
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
        import tensorflow_hub as hub  # heavy: TF-Hub only when a SavedModel is loaded
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


def fingerprint(path):
    """The fingerprint of the SavedModel at `path`, as its `Classifier.identity` shows it."""
    return _fingerprint_saved_model(path)


def _fingerprint_saved_model(path):
    """A hash of the graph and the variables' index (which holds each tensor's checksum)."""
    names = ["saved_model.pb", "saved_model.pbtxt", "tfhub_module.pb",
             os.path.join("variables", "variables.index")]
    present = [os.path.join(path, name) for name in names
               if os.path.isfile(os.path.join(path, name))]
    if not present:
        raise ValueError(f"{path} holds no saved_model.pb: not a SavedModel or TF-Hub module.")
    return _hash_files(present)
