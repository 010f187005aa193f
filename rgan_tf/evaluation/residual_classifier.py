"""A residual classifier for 32x32 colour images (`c10net`), the offline stand-in for Inception on
CIFAR-10: its logits give IS and its pooled features FID and KID, named with the network.

The network is the residual "ResNet-9" shape of the fast CIFAR-10 training literature
(D. Page, "How to train your ResNet", 2018), at a chosen width: a 3x3 conv, then three stages
(conv, 2x2 max-pool, and a residual pair of convs in the first and last), each conv followed by
batch norm and ReLU; global max-pooling gives the features (`pool_3`), one linear layer the
logits. Training (`train_residual_classifier`): SGD with Nesterov momentum, a one-cycle learning
rate (linear up for the first fifth, linear down to zero), weight decay, label smoothing, and
random crops (4-pixel reflected padding) and horizontal flips drawn statelessly from
`(seed, step)`, so a seed fixes the whole run.
"""
import time

import keras
import numpy as np
import tensorflow as tf

from rgan_tf import rng
from rgan_tf.data import pipeline
from rgan_tf.evaluation.classifiers import FEATURES
from rgan_tf.evaluation.classifiers import LOGITS

#: The widths of the stem and the three stages at `width=1`; `width` scales them.
BASE_WIDTHS = (64, 128, 256, 512)
#: `rgan_tf.rng` stream of the augmentation draws.
AUGMENT_STREAM = 4094
PAD = 4
#: Passes over the train split: 16 reach 0.86 on CIFAR-10 within 30 minutes of two CPU cores
#: (docs/study/cifar10/README.md).
DEFAULT_EPOCHS = 16


def _conv_bn(h, width, name):
    h = keras.layers.Conv2D(width, 3, padding="same", use_bias=False, name=f"{name}_conv")(h)
    h = keras.layers.BatchNormalization(momentum=0.9, epsilon=1e-5, name=f"{name}_bn")(h)
    return keras.layers.ReLU(name=f"{name}_relu")(h)


def residual_classifier(image_size=32, channels=3, num_classes=10, width=0.25):
    """The classifier: images `[B, S, S, C]` in [-1, 1] -> `[logits [B, K], features [B, F]]`.

    Args:
      image_size: S (divisible by 8).
      channels: C.
      num_classes: K.
      width: multiplies `BASE_WIDTHS`; F is the last stage's width (`512 * width`).
    """
    if image_size % 8:
        raise ValueError(f"image_size must be divisible by 8, got {image_size}.")
    stem, *stages = [max(8, int(round(w * width))) for w in BASE_WIDTHS]
    images = keras.Input((image_size, image_size, channels), name="images")
    h = _conv_bn(images, stem, "stem")
    for index, stage_width in enumerate(stages):
        h = _conv_bn(h, stage_width, f"stage{index}")
        h = keras.layers.MaxPooling2D(2, name=f"stage{index}_pool")(h)
        if index != 1:
            r = _conv_bn(h, stage_width, f"stage{index}_res_a")
            r = _conv_bn(r, stage_width, f"stage{index}_res_b")
            h = keras.layers.Add(name=f"stage{index}_add")([h, r])
    features = keras.layers.GlobalMaxPooling2D(name=FEATURES)(h)
    logits = keras.layers.Dense(num_classes, name=LOGITS)(features)
    return keras.Model(images, [logits, features], name="residual_classifier")


def augment(images, seed, step):
    """Random crops of the 4-pixel reflect-padded images and horizontal flips, per image, drawn
    statelessly from `(seed, step)`."""
    key = rng.stream_seed(seed, step, AUGMENT_STREAM)
    batch = tf.shape(images)[0]
    size = images.shape[1]
    draws = tf.random.stateless_uniform([batch, 3], key, alg=rng.ALGORITHM)
    offsets = tf.cast(draws[:, :2] * (2 * PAD + 1), tf.int32)
    padded = tf.pad(images, [[0, 0], [PAD, PAD], [PAD, PAD], [0, 0]], mode="REFLECT")
    rows = offsets[:, :1] + tf.range(size)[None]
    cols = offsets[:, 1:2] + tf.range(size)[None]
    cropped = tf.gather(padded, rows, axis=1, batch_dims=1)
    cropped = tf.gather(cropped, cols, axis=2, batch_dims=1)
    flip = draws[:, 2] < 0.5
    return tf.where(flip[:, None, None, None], tf.reverse(cropped, axis=[2]), cropped)


class OneCycle(keras.optimizers.schedules.LearningRateSchedule):
    """Linear warm-up to `peak` over `warmup_steps`, then linear decay to 0 at `total_steps`."""

    def __init__(self, peak, total_steps, warmup_fraction=0.2):
        self.peak = float(peak)
        self.total_steps = int(total_steps)
        self.warmup_steps = max(1, int(total_steps * warmup_fraction))

    def __call__(self, step):
        step = tf.cast(step, tf.float32)
        up = step / self.warmup_steps
        down = (self.total_steps - step) / max(1, self.total_steps - self.warmup_steps)
        return self.peak * tf.maximum(0.0, tf.minimum(up, down))

    def get_config(self):
        return {"peak": self.peak, "total_steps": self.total_steps,
                "warmup_fraction": self.warmup_steps / max(1, self.total_steps)}


def train_residual_classifier(source, epochs=DEFAULT_EPOCHS, batch_size=512, width=0.25,
                              learning_rate=0.4, weight_decay=5e-3, label_smoothing=0.1,
                              seed=0, verbose=1, **data_kwargs):
    """Trains `residual_classifier` on the train split of a labelled 32x32 source.

    Args:
      source: a labelled source of `rgan_tf.data.dataset` (e.g. `folder:../shared/data/cifar10`).
      epochs: passes over the train split.
      batch_size: images per step.
      width: the network's width multiplier.
      learning_rate: the one-cycle schedule's peak.
      weight_decay: SGD's decoupled weight decay (Keras shrinks the weights directly, outside
        the momentum; 5e-3 is about the recipe's 5e-4 L2 penalty, which momentum 0.9 amplifies
        tenfold).
      label_smoothing: of the cross-entropy.
      seed: fixes the weights, the order and the augmentation.
      verbose: Keras verbosity.
      **data_kwargs: passed on to `rgan_tf.data.dataset`.

    Returns:
      `(model, record)`: the Keras model `images -> [logits, features]` and a dict with
      `test_accuracy`, `train_seconds`, `steps` and the settings.
    """
    if epochs < 1:
        raise ValueError(f"epochs must be >= 1, got {epochs}.")
    (size, _, channels), num_classes = pipeline.dataset_spec(
        source, data_kwargs.get("image_size"), data_dir=data_kwargs.get("data_dir"))
    if num_classes is None:
        raise ValueError(f"{source} has no labels: a classifier needs a labelled source.")
    train = pipeline.dataset(source=source, batch_size=batch_size, split="train",
                             with_labels=True, shuffle=True, repeat=True, seed=seed,
                             drop_remainder=True, **data_kwargs)
    count = _split_count(source, "train", data_kwargs)
    steps_per_epoch = count // batch_size
    if steps_per_epoch < 1:
        raise ValueError(f"The train split of {source} holds {count} images, fewer than one batch "
                         f"of {batch_size}.")
    train = train.enumerate().map(
        lambda step, batch: (augment(batch[0], seed, step), batch[1]),
        num_parallel_calls=tf.data.AUTOTUNE, deterministic=True).prefetch(tf.data.AUTOTUNE)
    test = pipeline.dataset(source=source, batch_size=500, split="test", with_labels=True,
                            shuffle=False, repeat=False, drop_remainder=False, **data_kwargs)

    keras.utils.set_random_seed(seed)
    model = residual_classifier(size, channels, num_classes, width)
    trainer = keras.Model(model.inputs, model.outputs[0])  # shares the weights; logits only
    total = steps_per_epoch * epochs
    trainer.compile(
        optimizer=keras.optimizers.SGD(OneCycle(learning_rate, total), momentum=0.9,
                                       nesterov=True, weight_decay=weight_decay),
        loss=keras.losses.CategoricalCrossentropy(from_logits=True,
                                                  label_smoothing=label_smoothing),
        metrics=["accuracy"])
    one_hot = train.map(lambda x, y: (x, tf.one_hot(y, num_classes)))
    start = time.perf_counter()
    trainer.fit(one_hot, steps_per_epoch=steps_per_epoch, epochs=epochs, verbose=verbose)
    seconds = time.perf_counter() - start
    _, accuracy = trainer.evaluate(test.map(lambda x, y: (x, tf.one_hot(y, num_classes))),
                                   verbose=0)
    record = {"architecture": "residual", "test_accuracy": float(accuracy),
              "train_seconds": round(seconds, 1), "steps": total, "epochs": epochs,
              "batch_size": batch_size, "width": width, "learning_rate": learning_rate,
              "weight_decay": weight_decay, "label_smoothing": label_smoothing, "seed": seed,
              "source": source, "image_size": size,
              "parameters": int(sum(np.prod(w.shape) for w in model.weights))}
    return model, record


def _split_count(source, split, data_kwargs):
    """Images in `split` (the dataset's cardinality, or counted when unknown)."""
    images = pipeline.dataset(source=source, batch_size=1, split=split, shuffle=False,
                              repeat=False, drop_remainder=False, **data_kwargs)
    count = int(images.cardinality())
    if count >= 0:
        return count
    return sum(1 for _ in images)
