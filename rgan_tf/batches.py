"""Real batches as the robust train step takes them: unpacked into images and labels (checked
against the model), and split among the `d_steps` critic updates of one generator iteration."""
import tensorflow as tf


def unpack(data, num_classes, image_shape):
    """`(real float32 [B, H, W, C], labels int32 [B] or None)` of a `fit` batch: images, or
    `(images, labels)` for a conditional model.

    Raises:
      ValueError: a conditional model fed no labels, or images of another shape than the
        generator makes.
    """
    if isinstance(data, (tuple, list)):
        real = data[0]
        labels = data[1] if len(data) > 1 else None
    else:
        real, labels = data, None
    if num_classes is not None and labels is None:
        raise ValueError("This GAN is conditional: feed (images, labels) batches.")
    if tuple(real.shape[1:]) != image_shape:
        raise ValueError(f"Real images have shape {tuple(real.shape[1:])} but the generator "
                         f"makes {image_shape}.")
    real = tf.cast(real, tf.float32)
    labels = None if num_classes is None else tf.cast(labels, tf.int32)
    return real, labels


def split(real, labels, d_steps, image_shape):
    """`d_steps` strided chunks `[(images, labels), ...]` of a batch: chunk k holds rows k,
    k + d_steps, ..., so the split is the same on one device and on R replicas that each hold a
    contiguous part of the global batch.

    Raises:
      ValueError: a static batch size that `d_steps` does not divide.
    """
    if d_steps == 1:
        return [(real, labels)]
    if real.shape[0] is not None and real.shape[0] % d_steps:
        raise ValueError(f"A batch of {real.shape[0]} images cannot be split among "
                         f"d_steps={d_steps} discriminator updates; feed batches of "
                         f"d_steps x batch_size.")
    strided = tf.reshape(real, [-1, d_steps] + list(image_shape))
    label_chunks = None if labels is None else tf.reshape(labels, [-1, d_steps])
    return [(strided[:, k], None if labels is None else label_chunks[:, k])
            for k in range(d_steps)]
