"""Shared test helpers: tiny generators and discriminators that build and run in milliseconds, and
the tiny digits run that the launcher tests train (its gin bindings, the tools run in a subprocess,
checkpoint comparison)."""
import hashlib
import os
import subprocess
import sys
import time

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
# What `import rgan_tf` sets when it comes before TensorFlow, as in the launchers: the runs trained
# in this process and those in subprocesses then use the same CPU kernels, so their weights can be
# compared bit for bit (oneDNN's kernels round differently from TensorFlow's own).
os.environ.setdefault("TF_ENABLE_ONEDNN_OPTS", "1")

import gin  # noqa: E402
import keras  # noqa: E402
import numpy as np  # noqa: E402
import pytest  # noqa: E402
import tensorflow as tf  # noqa: E402

from rgan_tf import config, training  # noqa: E402
from rgan_tf.run import pause_points  # noqa: E402

LATENT_DIM = 8
IMAGE_SHAPE = (8, 8, 1)
REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
CONFIG = os.path.join(REPO, "gin_configs", "digits", "dcgan_rgan.gin")

# DCGAN on the 8x8 digits with 8 filters: a step takes milliseconds on a CPU.
TINY = [
    "train.batch_size = 16",
    "train.checkpoint_every = 2",
    "train.sample_every = 2",
    "train.verbose = 0",
    "dataset.image_size = 8",
    "dcgan_generator.image_size = 8",
    "dcgan_generator.latent_dim = 16",
    "dcgan_generator.width = 8",
    "dcgan_discriminator.image_size = 8",
    "dcgan_discriminator.width = 8",
    "build_model.jit_compile = False",
]


def repo_path(relative):
    """A path inside this checkout (tools, docs, shipped configs)."""
    return os.path.join(REPO, relative)


def tiny_generator(latent_dim=LATENT_DIM, num_classes=None, batch_norm=True):
    """z [B, latent_dim] (+ label) -> images [B, 8, 8, 1] in [-1, 1]."""
    z = keras.Input((latent_dim,), name="z")
    inputs = [z]
    h = z
    if num_classes is not None:
        label = keras.Input((), dtype="int32", name="label")
        inputs.append(label)
        h = keras.layers.Concatenate()([z, keras.layers.Flatten()(
            keras.layers.Embedding(num_classes, 4)(label))])
    h = keras.layers.Dense(4 * 4 * 8)(h)
    h = keras.layers.Reshape((4, 4, 8))(h)
    if batch_norm:
        h = keras.layers.BatchNormalization()(h)
    h = keras.layers.ReLU()(h)
    h = keras.layers.Conv2DTranspose(1, 3, 2, padding="same")(h)
    out = keras.layers.Activation("tanh", dtype="float32")(h)
    return keras.Model(inputs if num_classes is not None else z, out)


def tiny_discriminator(num_classes=None):
    """images [B, 8, 8, 1] (+ label) -> logits [B, 1]."""
    image = keras.Input(IMAGE_SHAPE, name="image")
    h = keras.layers.Conv2D(8, 3, 2, padding="same")(image)
    h = keras.layers.LeakyReLU(0.2)(h)
    h = keras.layers.Flatten()(h)
    out = keras.layers.Dense(1, dtype="float32")(h)
    if num_classes is None:
        return keras.Model(image, out)
    label = keras.Input((), dtype="int32", name="label")
    projection = keras.layers.Dot(axes=1)([h, keras.layers.Flatten()(
        keras.layers.Embedding(num_classes, h.shape[-1])(label))])
    return keras.Model([image, label], keras.layers.Add(dtype="float32")([out, projection]))


def copy_model(model):
    """A structurally identical model with the same weights."""
    clone = keras.models.clone_model(model)
    clone.set_weights(model.get_weights())
    return clone


@pytest.fixture(autouse=True)
def fresh_gin_config():
    """Each test starts and ends with an empty, unlocked gin config (`config.parse_gin` locks
    the config it parses, and bindings must not leak from one test into another)."""
    gin.clear_config()
    yield
    gin.clear_config()


@pytest.fixture
def tiny_models():
    keras.utils.set_random_seed(0)
    return tiny_generator(), tiny_discriminator()


# ------------------------------------------------------------------------------------------------
# The tiny digits run and the tools.


def tiny(steps, *extra):
    """The tiny run's bindings for `steps` generator iterations, plus `extra` bindings."""
    return TINY + [f"train.steps = {steps}"] + list(extra)


def train_in_process(model_dir, bindings):
    """Trains the tiny digits run of `bindings` in this process, through the gin entry."""
    config.parse_gin([CONFIG], bindings)
    return training.train(str(model_dir))


def tool_command(tool, *args):
    return [sys.executable, os.path.join(REPO, "tools", tool)] + list(args)


def run_tool(tool, *args, cwd=None, env=None, timeout=900):
    """Runs `tools/<tool>` in a subprocess; returns the CompletedProcess (text output)."""
    environment = dict(os.environ, TF_CPP_MIN_LOG_LEVEL="2", **(env or {}))
    return subprocess.run(tool_command(tool, *args), capture_output=True, text=True, cwd=cwd,
                          env=environment, timeout=timeout)


def train_tool(model_dir, bindings, *args, **kwargs):
    """`tools/train.py` on the digits RGAN config with `bindings`, in a subprocess."""
    flags = [f"--gin_bindings={binding}" for binding in bindings]
    return run_tool("train.py", f"--gin_file={CONFIG}", f"--model_dir={model_dir}", *flags,
                    *args, **kwargs)


def checkpoint_values(prefix):
    """Every tensor of a checkpoint (players, optimizer slots, step counter) by name.

    Leaves out `save_counter`, the number of saves made so far: bookkeeping of
    `tf.train.Checkpoint`, not training state (an interrupted run writes one checkpoint more).
    """
    reader = tf.train.load_checkpoint(str(prefix))
    return {name: reader.get_tensor(name) for name in reader.get_variable_to_shape_map()
            if not name.startswith(("_CHECKPOINTABLE_OBJECT_GRAPH", "save_counter"))}


def assert_same_checkpoints(a, b):
    """Two checkpoints hold the same tensors, bit for bit."""
    values_a, values_b = checkpoint_values(a), checkpoint_values(b)
    assert values_a.keys() == values_b.keys()
    for name in values_a:
        np.testing.assert_array_equal(values_a[name], values_b[name], err_msg=name)


def numpy_inception_score(logits, num_splits):
    """exp(E_x KL(p(y|x) || p(y))) per contiguous split, in numpy: mean and population std."""
    logits = np.asarray(logits, np.float64)
    probabilities = np.exp(logits - logits.max(1, keepdims=True))
    probabilities /= probabilities.sum(1, keepdims=True)
    scores = []
    for part in np.array_split(probabilities, num_splits):
        marginal = part.mean(0, keepdims=True)
        scores.append(np.exp(np.mean(np.sum(part * (np.log(part) - np.log(marginal)), 1))))
    return float(np.mean(scores)), float(np.std(scores))


def listing(folder):
    """Relative paths of every file under `folder`, sorted."""
    return sorted(os.path.relpath(os.path.join(root, name), folder)
                  for root, _, names in os.walk(folder) for name in names)


def snapshot(folder):
    """{relative path: (size, mtime, sha1)} of every file under `folder`."""
    files = {}
    for root, _, names in os.walk(folder):
        for name in names:
            path = os.path.join(root, name)
            with open(path, "rb") as handle:
                digest = hashlib.sha1(handle.read()).hexdigest()
            stat = os.stat(path)
            files[os.path.relpath(path, folder)] = (stat.st_size, stat.st_mtime_ns, digest)
    return files


def assert_refused(result, *fragments):
    """Exit status 1, one `error:` line naming every fragment, no Python traceback."""
    assert result.returncode == 1, (result.stdout[-2000:], result.stderr[-3000:])
    assert "Traceback" not in result.stderr, result.stderr[-3000:]
    errors = [line for line in result.stderr.splitlines() if line.startswith("error: ")]
    assert len(errors) == 1, result.stderr[-3000:]
    message = result.stderr[result.stderr.index("error: "):]
    for fragment in fragments:
        assert fragment in message, message
    return message


# The preemption tests' run: checkpoints (and fit epochs) every 4 steps, grids every 2, so 6 is
# a grid step mid-epoch and 8 a checkpoint step at an epoch's end.
PREEMPTION_STEPS = 12
PREEMPTION_BINDINGS = ["train.checkpoint_every = 4", "train.sample_every = 2"]
PAUSE_WAIT_S = 240


def preemption_bindings(steps=PREEMPTION_STEPS):
    """The tiny run's bindings with the preemption tests' checkpoint and grid intervals."""
    return tiny(steps, *PREEMPTION_BINDINGS)


def start_paused(model_dir, point, tmp_path, steps=PREEMPTION_STEPS, extra_env=None, tool_args=()):
    """Starts tools/train.py told to wait at `point` ("<name>:<step>"); returns the process
    once it waits there."""
    pause = tmp_path / f"pause-{os.path.basename(model_dir)}"
    env = dict(os.environ, TF_CPP_MIN_LOG_LEVEL="2", **{
        pause_points.PAUSE_AT: point, pause_points.PAUSE_FILE: str(pause)}, **(extra_env or {}))
    command = tool_command("train.py", f"--gin_file={CONFIG}", f"--model_dir={model_dir}",
                           *[f"--gin_bindings={b}" for b in preemption_bindings(steps)], *tool_args)
    process = subprocess.Popen(command, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                               text=True, env=env)
    process.pause_file = pause
    deadline = time.monotonic() + PAUSE_WAIT_S
    while not pause.exists():
        assert process.poll() is None, process.communicate()[1][-3000:]
        assert time.monotonic() < deadline, "the trainer never reached " + point
        time.sleep(0.01)
    return process
