"""Image maths of the data pipeline (TensorFlow): uint8 to [-1, 1] (plain or dequantized),
resizing, channel counts.

Resizing: area resampling when both sides shrink (box filter, antialiased), antialiased bilinear
otherwise (area would make enlarged images blocky); results are clipped to [-1, 1].
"""
import tensorflow as tf

from rgan_tf import rng

#: `rgan_tf.rng` stream of the dequantization noise, far above the train step's streams (8 per
#: critic step), so the data never shares a stateless-RNG key with the model's draws.
DEQUANTIZE_STREAM = 4095


def to_float(images):
    """uint8 [..., H, W, C] in 0..255 -> float32 in [-1, 1]; float32 passes through."""
    if images.dtype == tf.uint8:
        return tf.cast(images, tf.float32) / 127.5 - 1.0
    return tf.cast(images, tf.float32)


def dequantize(images, seed, position):
    """uint8 `[..., H, W, C]` -> float32 `(x + u) / 128 - 1`, `u ~ U[0, 1)` per entry, in [-1, 1).

    `u` is a stateless draw keyed by `(seed, position)`: `position` is the int64 index of the
    image (or batch) in the stream, so the noise is reproducible and fresh at every position.
    """
    key = rng.stream_seed(seed, position, DEQUANTIZE_STREAM)
    noise = tf.random.stateless_uniform(tf.shape(images), key, dtype=tf.float32,
                                        alg=rng.ALGORITHM)
    return (tf.cast(images, tf.float32) + noise) / 128.0 - 1.0


def _resize_with(images, size, method):
    return tf.image.resize(images, (size, size), method=method, antialias=True)


def resize(images, size):
    """[..., H, W, C] float32 in [-1, 1] -> [..., size, size, C]; area if shrinking, else bilinear.

    Area resampling averages the source pixels each output pixel covers (exact 2x2 means for
    96 -> 48); it is only used when both sides shrink, since enlarging with it repeats pixels.
    """
    if size is None:
        return images
    height, width = images.shape[-3], images.shape[-2]
    if height is not None and width is not None:
        if (height, width) == (size, size):
            return images
        method = "area" if height >= size and width >= size else "bilinear"
        resized = _resize_with(images, size, method)
    else:
        shape = tf.shape(images)
        shrinks = tf.logical_and(shape[-3] >= size, shape[-2] >= size)
        resized = tf.cond(shrinks, lambda: _resize_with(images, size, "area"),
                          lambda: _resize_with(images, size, "bilinear"))
    return tf.clip_by_value(resized, -1.0, 1.0)


def to_channels(image, channels):
    """A decoded uint8 image [H, W, c] (c = 1..4) -> [H, W, channels]; alpha is dropped."""
    count = tf.shape(image)[-1]
    if channels == 1:
        image = tf.cond(count >= 3, lambda: tf.image.rgb_to_grayscale(image[..., :3]),
                        lambda: image[..., :1])
    else:
        image = tf.cond(count >= 3, lambda: image[..., :3],
                        lambda: tf.image.grayscale_to_rgb(image[..., :1]))
    image.set_shape([None, None, channels])
    return image

