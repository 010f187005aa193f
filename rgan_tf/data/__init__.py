"""Real images for GAN training and evaluation: one gin-configurable entry, `dataset`.

`dataset(source=...)` yields shuffled, batched, prefetched float32 images `[B, H, W, C]` (NHWC) in
[-1, 1], or `(images, labels)` with int32 labels `[B]` when `with_labels=True`. `dataset_spec`
answers `((H, W, C), num_classes)` for a source without reading its pixels, so a trainer can check
that a model fits the data before it trains.

Sources (`source=`):

* ``digits`` (default): scikit-learn's bundled handwritten digits (1,797 images, 8x8x1, grey
  levels 0..16 mapped linearly onto [-1, 1]); on disk, no download. 10 classes.
* ``tfds:<name>``: a TensorFlow Datasets data set, read with `tfds.load(name, data_dir=...)`.
  Standard geometry for the GAN benchmarks: ``cifar10`` 32x32x3, ``mnist`` 28x28x1, ``stl10``
  96x96 resized to 48x48 (area resampling, i.e. 2x2 box averages), ``celeb_a`` 218x178 center-
  cropped to 140x140 (`CELEB_A_CROP`) and resized to 64x64. Any other TFDS image data set (an
  ``image`` feature, uint8, 1 or 3 channels) is passed through at its own size. Labels are the
  ``label`` class feature as int32 (stl10's "unlabelled" split has label -1). The bare names
  ``cifar10``, ``mnist``, ``stl10`` and ``celeb_a`` are accepted as short for ``tfds:<name>``.
* ``npz:<path>``: an ``.npz`` archive holding ``images``, uint8 in [0, 255] or float in [-1, 1],
  ``[N, H, W, C]`` with C = 1 or 3, or ``[N, H, W]`` (a channel axis is added); optional
  ``labels`` ``[N]`` (non-negative integers); optional ``test_images`` / ``test_labels``, a real
  held-out split of the same image shape.
* ``folder:<path>``: image files (.png, .jpg, .jpeg, .bmp, .gif; first frame of a GIF), decoded by
  `tf.io`. Class subfolders give labels 0..K-1 in sorted name order (files found recursively in
  each); a folder with images directly in its root and no subfolders gives every image label 0.
  All images must share a size unless `image_size` is given. Images are greyscale (C = 1) when
  every file is a greyscale image, else RGB (C = 3; grey files are replicated, alpha dropped).

Why 140x140 for CelebA: it keeps the whole face with hair and chin and is the center crop used for
64x64 CelebA by most FID-reporting GAN and score-model code (e.g. tensorpack's DCGAN-CelebA,
Song et al.'s score_sde); DCGAN-tensorflow's tighter 108x108 crop shows only the face and is
not comparable with those numbers.

Resizing (`image_size`, or the standard sizes above): area resampling when both sides shrink
(box filter, antialiased), antialiased bilinear otherwise (area would make enlarged images blocky).
Results are clipped to [-1, 1].

Splits (`split=`):

* TFDS: passed to `tfds.load` unchanged ("train", "test", "train[:90%]", "train+test", ...).
* digits: a fixed, order-based split: "train" is the first 80% (1,438 images), "test" the last
  20% (359 images, `DIGITS_TEST_FRACTION`), "all" everything.
* npz and folder: "train" is everything and there is no "test", unless a holdout is configured:
  either the npz holds ``test_images`` (then "train" = ``images``, "test" = ``test_images``), or
  ``holdout`` is set (a fraction in (0, 1) or a count): a fixed pseudo-random subset of that size
  (drawn with `HOLDOUT_SEED`, independent of `seed`, so changing the training seed never moves
  images between the two) becomes "test" and the rest "train". "all" is always everything. Bind
  ``dataset.holdout = 0.1`` in gin so that the trainer ("train") and the evaluation ("test") agree.
  ``holdout`` on digits replaces its 20% (still the last images).
* The in-memory sources also accept TFDS-style slices of these: "train[:90%]", "test[10:]".

Order: `shuffle=True` gives a fresh permutation every epoch. For digits, npz and folder it is a
stateless function of `(seed, epoch)` (`tf.random.experimental.stateless_shuffle`), so the batch
at a given position never depends on TensorFlow's global seed (resumable by `skip`). TFDS data are
streamed through a `shuffle_buffer`-sized buffer seeded with `seed`; TensorFlow combines an op seed
with the global seed, so that order is reproducible when the global seed is the same (the trainer
sets it from the same seed). `shuffle_buffer` is unused for the in-memory sources, which are
shuffled in full (only indices are shuffled).

Dequantization (`dequantize=True`, for 8-bit sources: tfds, folder and uint8 npz): each pixel
level `x` in 0..255 becomes `(x + u) / 128 - 1` with `u ~ U[0, 1)`, i.e. a uniform draw from the
level's bin `[x / 128 - 1, (x + 1) / 128 - 1)` in [-1, 1): the reference pipelines' `x / 128 - 1 +
U(0, 1/128)` (igul222/improved_wgan_training `gan_cifar_resnet.py` lines 194-195;
pfnet-research/sngan_projection `datasets/cifar10.py` lines 20-21; adler-j/tensordata
`cifar10.py` lines 122 and 163-164, used by BWGAN). Without it a level maps to `x / 127.5 - 1`
(255 to exactly 1). The noise is added at the source's resolution, before any resize, and is a
stateless function of `(seed, position in the stream)` (`rgan_tf.rng.stream_seed` with stream
`DEQUANTIZE_STREAM`): the same seed gives the same noisy batches, a new epoch new noise, and
`skip(n)` (resume) continues the uninterrupted stream exactly. It is a training option:
evaluation reads real images with `dequantize=False`.

Input checks: everything that would otherwise fail later, or silently train on wrong data, fails at
the call with one `ValueError` (or `FileNotFoundError` for a missing path) saying what to fix.
Accepted npz image dtypes are uint8 (read as 0..255) and float16/32/64 (must be finite and in
[-1, 1]); bool, strings, objects and other integer types are refused, since their range is
ambiguous (convert with ``.astype(np.uint8)`` if they hold 0..255).
"""
import gin

from rgan_tf.data import checks
from rgan_tf.data import digits
from rgan_tf.data import folder
from rgan_tf.data import pipeline
from rgan_tf.data import splits
from rgan_tf.data import tfds
from rgan_tf.data import transforms

SOURCE_FORMS = checks.SOURCE_FORMS
TFDS_STANDARD_SIZES = checks.TFDS_STANDARD_SIZES
IMAGE_EXTENSIONS = folder.IMAGE_EXTENSIONS
CELEB_A_CROP = tfds.CELEB_A_CROP
DIGITS_TEST_FRACTION = digits.DIGITS_TEST_FRACTION
HOLDOUT_SEED = splits.HOLDOUT_SEED
DEQUANTIZE_STREAM = transforms.DEQUANTIZE_STREAM

#: The gin-configurable face of `pipeline.dataset` (`dataset.source = ...` in configs), called by
#: the training entry. Library code calls `pipeline.dataset` with explicit arguments instead, so
#: that no global binding changes what evaluation reads.
dataset = gin.external_configurable(pipeline.dataset, name="dataset", module="rgan_tf.data")
dataset_spec = pipeline.dataset_spec

__all__ = ["dataset", "dataset_spec", "pipeline", "SOURCE_FORMS", "TFDS_STANDARD_SIZES",
           "IMAGE_EXTENSIONS", "CELEB_A_CROP", "DIGITS_TEST_FRACTION", "HOLDOUT_SEED",
           "DEQUANTIZE_STREAM"]
