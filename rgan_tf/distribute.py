"""`tf.distribute` strategies by name, for the launchers and the `train` gin entry.

Losses inside `RobustGAN.train_step` are divided by the replica count (Keras optimizers sum
gradients across replicas) and every random draw is sliced from the global batch's draw, so one
step on R replicas equals one step on one device with the same global batch. Batch norm keeps
per-replica batch statistics (the usual `tf.distribute` behaviour).
"""
import tensorflow as tf

STRATEGIES = ("default", "mirrored", "multi_worker", "tpu")


def make_strategy(name="default", devices=None, tpu=None):
    """Creates the named strategy.

    Args:
      name: "default" (one device), "mirrored" (all local GPUs, or `devices`), "multi_worker"
        (several hosts, each described by the TF_CONFIG environment variable) or "tpu".
      devices: device names for "mirrored" (e.g. ["/cpu:0", "/cpu:1"]); None: all GPUs.
      tpu: TPU address or name for "tpu" (None: from the environment).
    """
    if name == "default":
        return tf.distribute.get_strategy()
    if name == "mirrored":
        return tf.distribute.MirroredStrategy(devices)
    if name == "multi_worker":
        return tf.distribute.MultiWorkerMirroredStrategy()
    if name == "tpu":
        resolver = tf.distribute.cluster_resolver.TPUClusterResolver(tpu=tpu)
        tf.config.experimental_connect_to_cluster(resolver)
        tf.tpu.experimental.initialize_tpu_system(resolver)
        return tf.distribute.TPUStrategy(resolver)
    raise ValueError(f"Unknown strategy {name!r}; choose one of {STRATEGIES}.")
