"""`tf.distribute` strategies by name, and what multi-replica training needs, for the launchers
and the `train` gin entry.

What makes one step on R replicas equal one step on one device with the same global batch:
  - `rgan_tf.training.train` builds the model and both optimizers inside `strategy.scope()` and
    batches the data set with the *global* batch (`fit` splits it among the replicas);
  - `RobustGAN.train_step` divides every loss by the replica count before differentiating (Keras
    optimizers sum gradients across replicas) and passes it through `optimizer.scale_loss`;
  - every random draw is sliced from the draw for the global batch (`rgan_tf.rng`);
  - each replica logs its own means and `fit` averages them over the replicas, so the reported
    values are those of the global batch (`reducible_logs` works around a Keras multi-worker bug).
`tests/test_distribute.py` proves it on two logical CPU devices and with two local workers.

Batch norm: Keras' `BatchNormalization` normalizes with the statistics of each replica's own
slice of the batch (the usual `tf.distribute` behaviour), so with batch norm R replicas of batch
B/R train a slightly different model than one device with batch B. `sync_batch_norm` (gin:
`build_model.sync_batch_norm = True`) converts a player's batch-norm layers to
`BatchNormalization(synchronized=True)`, which all-reduces the moments across replicas; it costs
one all-reduce per batch-norm call and matters most at small per-replica batches.

XLA: Keras 3 compiles the whole distributed step (`strategy.run` over all replicas) as one XLA
function. With several replicas that fails on CPUs - `MirroredStrategy` over logical CPUs:
"Trying to access resource ... located in device CPU:1 from device CPU:0" (keras-team/keras#19005);
`MultiWorkerMirroredStrategy`: "Collectives are not yet implemented for CPU devices when compiling
with XLA" - and is reported broken on several GPUs (keras-team/keras#20763; Keras' own
`jit_compile="auto"` turns XLA off under any `tf.distribute` strategy). So `xla_supported` allows
XLA for one replica and for TPUs only, and `RobustGAN.compile` turns `jit_compile` off, with a log
line, elsewhere (`rgan_tf.compile_mode.resolve`). Both compile modes give the same training up to
the random draws (`rgan_tf.rng`: XLA's stateless RNG gives other numbers).
"""
import keras
import tensorflow as tf
from keras.src.models.functional import Functional  # the class of functional keras.Models

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


def xla_supported(strategy=None):
    """Whether a train step compiled with XLA (`jit_compile=True`) runs under `strategy`.

    True for a single replica (any device) and for TPUs; False for several replicas on CPUs or
    GPUs (see the module docstring for the errors seen).

    Args:
      strategy: a `tf.distribute.Strategy`; None: the current one.
    """
    strategy = strategy or tf.distribute.get_strategy()
    if strategy.num_replicas_in_sync == 1:
        return True
    return isinstance(strategy, (tf.distribute.TPUStrategy,
                                 tf.distribute.experimental.TPUStrategy))


def in_multi_worker_mode(strategy=None):
    """Whether `strategy` (None: the current one) spans several worker processes."""
    strategy = strategy or tf.distribute.get_strategy()
    return (isinstance(strategy, tf.distribute.MultiWorkerMirroredStrategy)
            and strategy.extended._in_multi_worker_mode())


def is_chief(strategy=None):
    """Whether this process writes the run folder: True except on the non-chief workers of a
    multi-worker run (`strategy.extended.should_checkpoint`)."""
    strategy = strategy or tf.distribute.get_strategy()
    return bool(strategy.extended.should_checkpoint)


def any_worker(flags, strategy=None):
    """`flags` OR-ed over the workers of a multi-worker run (a collective: every worker must
    call it at the same point); elsewhere `flags` as they are.

    Used between steps, so that every worker takes the same decision (stop, write a
    checkpoint) after the same step although a signal or a clock reached only one of them.

    Args:
      flags: a sequence of booleans.
      strategy: the model's strategy (None: the current one).

    Returns:
      A list of booleans, one per flag.
    """
    flags = [bool(flag) for flag in flags]
    strategy = strategy or tf.distribute.get_strategy()
    if not in_multi_worker_mode(strategy):
        return flags
    local = tf.constant([float(flag) for flag in flags], tf.float32)
    per_replica = strategy.run(tf.identity, args=(local,))
    total = strategy.reduce(tf.distribute.ReduceOp.SUM, per_replica, axis=None)
    return [bool(value > 0) for value in total.numpy()]


def reducible_logs(logs):
    """The train step's scalar logs, shaped so that Keras can reduce them across workers.

    Keras 3's `fit` reduces a multi-worker step's outputs with `strategy.reduce("MEAN", value,
    axis=0)`, which fails on scalars ("Invalid reduction dimension 0 for input with 0
    dimensions", tensorflow/tensorflow#72388). Under a multi-worker strategy each scalar gets a
    leading axis of 1, so the reduction averages the replicas' values into a scalar; elsewhere
    the logs pass unchanged.

    Args:
      logs: dict of name -> scalar tensor, computed in a replica context.
    """
    if not in_multi_worker_mode():
        return logs
    return {name: tf.reshape(value, [1]) for name, value in logs.items()}


def _synchronized_clone(layer):
    config = layer.get_config()
    if isinstance(layer, keras.layers.BatchNormalization):
        config["synchronized"] = True
    return layer.__class__.from_config(config)


def sync_batch_norm(model):
    """A copy of functional `model` whose batch-norm layers synchronize statistics across replicas.

    Every `keras.layers.BatchNormalization` becomes `BatchNormalization(synchronized=True)`: in
    training, the mean and variance are all-reduced over the global batch, so R replicas normalize
    as one device would. Weights (moving statistics included) are copied. Call inside the
    strategy's scope. A model without batch norm is returned unchanged.

    Args:
      model: a built functional or sequential `keras.Model`.

    Returns:
      The converted model (or `model` itself when it has no batch-norm layer to convert).
    """
    if not any(isinstance(layer, keras.layers.BatchNormalization) and not layer.synchronized
               for layer in model._flatten_layers(include_self=False)):
        return model
    if not isinstance(model, (keras.Sequential, Functional)):
        raise ValueError(f"sync_batch_norm converts functional or Sequential models; "
                         f"{type(model).__name__} is a subclassed model: build its batch norm "
                         "with synchronized=True instead.")
    clone = keras.models.clone_model(model, clone_function=_synchronized_clone)
    clone.set_weights(model.get_weights())
    return clone
