"""Saves checkpoints of a tiny RobustGAN with the library's `RunCheckpoints.save` and SIGKILLs
itself at a chosen point inside the third save (a helper script of `tests/test_checkpoints.py`,
run in a fresh process: the kill ends it).

    python tests/killed_save.py <folder> <point>

It trains one step at a time and saves after steps 1, 2 and 3 into `<folder>/checkpoints`
(`max_to_keep=2`, so the third save also deletes ckpt-1). Before the third save it writes every
checkpointed value after steps 1, 2 and 3 to `<folder>/step<k>.npz`. The points, hooked into the
Python functions TensorFlow's checkpoint writing calls between its file operations:

  before_merge  the shards are written to `ckpt-3_temp/`, not yet merged into `ckpt-3.*`
                (`gen_io_ops.merge_v2_checkpoints`)
  before_state  `ckpt-3.index` and its data are complete; the `checkpoint` state file does not
                name them yet (`checkpoint_management.update_checkpoint_state_internal`)
  state_rename  the new state file is written under a temporary name, not yet renamed over the
                old one (`file_io.rename`)
  mid_sweep     the state file names ckpt-3; deleting ckpt-1 has removed its index, not its data
                (`checkpoint_management._delete_file_if_exists`)

Right before the kill it writes the point's name to `<folder>/killed_at`.
"""
import os
import signal
import sys

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))

import keras  # noqa: E402
import numpy as np  # noqa: E402
import tensorflow as tf  # noqa: E402
from tensorflow.python.checkpoint import checkpoint_management  # noqa: E402
from tensorflow.python.lib.io import file_io  # noqa: E402
from tensorflow.python.ops import gen_io_ops  # noqa: E402

from conftest import IMAGE_SHAPE, tiny_discriminator, tiny_generator  # noqa: E402
from rgan_tf import checkpoints as checkpoints_lib  # noqa: E402
from rgan_tf.robust_gan import RobustGAN  # noqa: E402

POINTS = ("before_merge", "before_state", "state_rename", "mid_sweep")


def tiny_gan():
    """The tiny RobustGAN of tests/test_checkpoints.py (conftest's players, Adam, EMA 0.9)."""
    keras.utils.set_random_seed(0)
    model = RobustGAN(tiny_generator(), tiny_discriminator(), robust="both", eps_x=1.0,
                      ema_decay=0.9)
    model.compile(keras.optimizers.Adam(1e-3, beta_1=0.5), keras.optimizers.Adam(1e-3, beta_1=0.5),
                  jit_compile=False)
    return model


def values(model):
    """Every checkpointed value: both players (batch-norm statistics too), both optimizers, the
    generator's moving average and the step counter (as `weights` in tests/test_checkpoints.py)."""
    return [np.asarray(v) for v in model.generator.weights + model.discriminator.weights
            + model.g_optimizer.variables + model.d_optimizer.variables
            + list(model.ema_weights) + [model.step_counter]]


def batches():
    images = np.random.default_rng(0).uniform(-1, 1, (24,) + IMAGE_SHAPE).astype(np.float32)
    return tf.data.Dataset.from_tensor_slices(images).batch(8)


def die(folder, point):
    with open(os.path.join(folder, "killed_at"), "w") as handle:
        handle.write(point)
        handle.flush()
        os.fsync(handle.fileno())
    os.kill(os.getpid(), signal.SIGKILL)


def arm(folder, point):
    """Installs the hook that kills this process at `point` of the next checkpoint write."""
    if point == "before_merge":
        def merge(*args, **kwargs):
            die(folder, point)
        gen_io_ops.merge_v2_checkpoints = merge
    elif point == "before_state":
        def update(*args, **kwargs):
            die(folder, point)
        checkpoint_management.update_checkpoint_state_internal = update
    elif point == "state_rename":
        rename = file_io.rename

        def hooked_rename(old, new, overwrite=False):
            if os.path.basename(str(new)) == "checkpoint":
                die(folder, point)
            return rename(old, new, overwrite)
        file_io.rename = hooked_rename
    elif point == "mid_sweep":
        delete = checkpoint_management._delete_file_if_exists

        def hooked_delete(filespec):
            delete(filespec)
            if filespec.endswith(".index"):
                die(folder, point)
        checkpoint_management._delete_file_if_exists = hooked_delete
    else:
        raise ValueError(f"Unknown point {point!r}; choose one of {POINTS}.")


def main(folder, point):
    model = tiny_gan()
    checkpoints = checkpoints_lib.RunCheckpoints(model, os.path.join(folder, "checkpoints"),
                                                 max_to_keep=2, log=lambda message: None)
    data = iter(batches())
    for step in (1, 2, 3):
        model.fit(tf.data.Dataset.from_tensors(next(data)), verbose=0)
        np.savez(os.path.join(folder, f"step{step}.npz"), *values(model))
        if step == 3:
            arm(folder, point)
        checkpoints.save()
    raise SystemExit(f"The kill at {point} did not happen: the hook was never called.")


if __name__ == "__main__":
    main(*sys.argv[1:])
