"""Counter-based randomness for the training step.

Every random tensor of a train step is a pure function of `(seed, counter, stream)`: `counter` is
the generator's iteration count and `stream` names the draw (noise, interpolation weights, ...).
Nothing random lives in hidden state, so a run resumed from a checkpoint draws exactly what the
uninterrupted run would have, and XLA compiles the draws.

Under `tf.distribute`, each replica draws the tensor for the *global* batch and keeps its own
contiguous slice, so one step on R replicas sees the same numbers as one step on one device with
the R-times larger batch.
"""
import tensorflow as tf

# Named explicitly so the draws do not depend on a default. Note: XLA's kernels for stateless
# random ops (any algorithm) give other numbers than TensorFlow's own kernels for a seed computed
# at run time, so the same step draws the same numbers every time *within* one compile mode
# (jit_compile on or off), but not across the two.
ALGORITHM = "philox"


def replica_position():
    """Returns `(replica_id, num_replicas)` of the calling replica; `(0, 1)` outside a replica."""
    context = tf.distribute.get_replica_context()
    if context is None:
        return 0, 1
    return context.replica_id_in_sync_group, context.num_replicas_in_sync


def stream_seed(seed, counter, stream):
    """A stateless-RNG seed of shape `[2]` (int64) for draw number `stream` at step `counter`."""
    seed = tf.cast(seed, tf.int64)
    counter = tf.cast(counter, tf.int64)
    return tf.stack([seed * 4096 + stream, counter])


def _replica_draw(draw_fn, local_shape, seed, counter, stream):
    replica_id, num_replicas = replica_position()
    local_batch = local_shape[0]
    global_shape = [local_batch * num_replicas] + list(local_shape[1:])
    values = draw_fn(global_shape, stream_seed(seed, counter, stream))
    if num_replicas == 1:
        return values
    start = tf.cast(replica_id, tf.int32) * local_batch
    return values[start:start + local_batch]


def normal(local_shape, seed, counter, stream):
    """Standard normal float32 tensor of `local_shape`, this replica's slice of the global draw."""
    return _replica_draw(
        lambda shape, s: tf.random.stateless_normal(shape, s, dtype=tf.float32, alg=ALGORITHM),
        local_shape, seed, counter, stream)


def uniform(local_shape, seed, counter, stream):
    """U[0, 1) float32 tensor of `local_shape`, this replica's slice of the global draw."""
    return _replica_draw(
        lambda shape, s: tf.random.stateless_uniform(shape, s, dtype=tf.float32, alg=ALGORITHM),
        local_shape, seed, counter, stream)


def categorical(local_batch, num_classes, seed, counter, stream):
    """Uniform int32 class labels `[local_batch]` in `[0, num_classes)`."""
    return _replica_draw(
        lambda shape, s: tf.random.stateless_uniform(
            shape, s, minval=0, maxval=num_classes, dtype=tf.int32, alg=ALGORITHM),
        [local_batch], seed, counter, stream)
