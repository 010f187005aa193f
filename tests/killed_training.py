"""Trains like `tools/train.py` and SIGKILLs itself at a chosen point (a helper script of
`tests/test_training.py`, run in a fresh process: the kill ends it).

    python tests/killed_training.py <model_dir> <point> <step> <gin binding> ...

The run is the digits RGAN config with the given bindings. Points:

  batch       right after the train batch that reaches generator step <step> (mid-epoch when
              <step> is not a multiple of train.checkpoint_every)
  checkpoint  right after the checkpoint of step <step> is written (`RunCheckpoints.save`)
  sample      inside the sample grids of step <step>: `samples/step_<step>.png` is written,
              `samples/latest.png` not yet

Right before the kill it writes `<point> <step>` to `<model_dir>/killed_at`.
"""
import os
import signal
import sys

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))

import keras  # noqa: E402

from conftest import CONFIG  # noqa: E402
from rgan_tf import config  # noqa: E402
from rgan_tf import images as images_lib  # noqa: E402
from rgan_tf import training  # noqa: E402
from rgan_tf.run import checkpoints as checkpoints_lib  # noqa: E402
from rgan_tf.run import layout  # noqa: E402

POINTS = ("batch", "checkpoint", "sample")


def die(model_dir, point, step):
    with open(os.path.join(model_dir, "killed_at"), "w") as handle:
        handle.write(f"{point} {step}")
        handle.flush()
        os.fsync(handle.fileno())
    os.kill(os.getpid(), signal.SIGKILL)


def arm(model_dir, point, step):
    """Installs the hook that kills this process at `point` of generator step `step`."""
    if point == "batch":
        batch_end = keras.callbacks.CallbackList.on_train_batch_end

        def on_train_batch_end(self, batch, logs=None):
            batch_end(self, batch, logs)
            if int(self.model.g_optimizer.iterations.numpy()) == step:
                die(model_dir, point, step)
        keras.callbacks.CallbackList.on_train_batch_end = on_train_batch_end
    elif point == "checkpoint":
        save = checkpoints_lib.RunCheckpoints.save

        def hooked_save(self):
            path = save(self)
            if self.step() == step:
                die(model_dir, point, step)
            return path
        checkpoints_lib.RunCheckpoints.save = hooked_save
    elif point == "sample":
        save_grid = images_lib.save_grid
        grid = os.path.join(model_dir, layout.SAMPLES_DIR, f"step_{step:07d}.png")

        def hooked_save_grid(images, path, *args, **kwargs):
            if os.path.basename(path) == "latest.png" and os.path.isfile(grid):
                die(model_dir, point, step)
            return save_grid(images, path, *args, **kwargs)
        images_lib.save_grid = hooked_save_grid
    else:
        raise ValueError(f"Unknown point {point!r}; choose one of {POINTS}.")


def main(model_dir, point, step, *bindings):
    arm(model_dir, point, int(step))
    config.parse_gin([CONFIG], list(bindings))
    training.train(model_dir)
    raise SystemExit(f"The kill at {point} {step} did not happen: training ended first.")


if __name__ == "__main__":
    main(*sys.argv[1:])
