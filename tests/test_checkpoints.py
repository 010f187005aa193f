"""Run checkpoints: a resumed run equals an uninterrupted one, an unreadable checkpoint (also one
cut short by a kill while writing) is skipped for the previous one, and a folder of a different
model is refused."""
import os
import signal
import subprocess
import sys
import time

import keras
import numpy as np
import pytest
import tensorflow as tf

from conftest import IMAGE_SHAPE, copy_model, tiny_discriminator, tiny_generator
from rgan_tf import checkpoints as checkpoints_lib
from rgan_tf.architectures import spectral_norm
from rgan_tf.robust_gan import RobustGAN

BATCH = 8


def batches(seed=0, epochs=3):
    """Seeded, shuffled batches whose order depends on `seed` only (not on TF's global seed)."""
    images = np.random.default_rng(0).uniform(-1, 1, (40,) + IMAGE_SHAPE).astype(np.float32)
    order = np.concatenate([np.random.default_rng([seed, epoch]).permutation(40)
                            for epoch in range(epochs)])
    return tf.data.Dataset.from_tensor_slices(images[order]).batch(BATCH, drop_remainder=True)


def make_gan(models, jit_compile=False, ema_decay=0.9):
    generator, discriminator = models
    model = RobustGAN(copy_model(generator), copy_model(discriminator), robust="both", eps_x=1.0,
                      ema_decay=ema_decay)
    model.compile(keras.optimizers.Adam(1e-3, beta_1=0.5), keras.optimizers.Adam(1e-3, beta_1=0.5),
                  jit_compile=jit_compile)
    return model


def weights(model):
    """Every variable a resume must bring back: players, optimizers, the generator's moving
    average and the step counter."""
    return [np.asarray(v) for v in model.generator.weights + model.discriminator.weights
            + model.g_optimizer.variables + model.d_optimizer.variables
            + list(model.ema_weights) + [model.step_counter]]


def assert_equal_weights(a, b):
    for x, y in zip(weights(a), weights(b), strict=True):
        np.testing.assert_array_equal(x, y)


def fresh_models(seed):
    keras.utils.set_random_seed(seed)
    return tiny_generator(), tiny_discriminator()


def train_to(model, checkpoints, start, steps):
    model.fit(batches().skip(start), steps_per_epoch=steps - start, epochs=1, verbose=0)
    return checkpoints.save()


@pytest.mark.parametrize("jit_compile", [False, True])
def test_resumed_run_equals_uninterrupted_run(tiny_models, tmp_path, jit_compile):
    whole = make_gan(tiny_models, jit_compile)
    whole.fit(batches(), steps_per_epoch=5, epochs=1, verbose=0)

    first = make_gan(tiny_models, jit_compile)
    train_to(first, checkpoints_lib.RunCheckpoints(first, str(tmp_path)), 0, 2)
    # A new process starts with other initial weights and other global RNG state: neither may
    # leak into the resumed run (all training randomness is counter-based).
    tf.random.uniform([3])
    keras.random.normal([3])
    second = make_gan(fresh_models(seed=7), jit_compile)
    checkpoints = checkpoints_lib.RunCheckpoints(second, str(tmp_path), log=lambda _: None)
    start = checkpoints.restore_latest()
    assert start == 2 and checkpoints.restored.endswith("ckpt-2")
    train_to(second, checkpoints, start, 5)
    assert_equal_weights(whole, second)


def test_restore_brings_back_players_optimizers_and_step(tiny_models, tmp_path):
    model = make_gan(tiny_models)
    checkpoints = checkpoints_lib.RunCheckpoints(model, str(tmp_path))
    path = train_to(model, checkpoints, 0, 3)
    other = make_gan(fresh_models(seed=3))
    assert other.g_optimizer.iterations.numpy() == 0
    assert checkpoints_lib.RunCheckpoints(other, str(tmp_path)).restore(path) == 3
    assert_equal_weights(model, other)


def test_an_older_checkpoint_without_step_counter_or_average_restores_with_notes(tiny_models,
                                                                                 tmp_path):
    model = make_gan(tiny_models, ema_decay=None)
    model.fit(batches(), steps_per_epoch=3, epochs=1, verbose=0)
    # As the library wrote it before the step counter and the moving average existed.
    tf.train.CheckpointManager(checkpoints_lib.build_checkpoint(model, without={"step"}),
                               str(tmp_path), 1).save(checkpoint_number=3)
    messages = []
    other = make_gan(fresh_models(seed=3), ema_decay=0.9)
    assert checkpoints_lib.RunCheckpoints(other, str(tmp_path),
                                          log=messages.append).restore_latest() == 3
    assert int(other.step_counter.numpy()) == int(other.g_optimizer.iterations.numpy()) == 3
    assert any("no step counter" in message for message in messages)
    assert any("no moving average" in message for message in messages)
    for average, weight in zip(other.ema_weights, model.generator.trainable_variables):
        np.testing.assert_array_equal(average, weight)


def test_a_checkpoint_with_an_average_is_refused_by_a_model_without(tiny_models, tmp_path):
    model = make_gan(tiny_models, ema_decay=0.9)
    train_to(model, checkpoints_lib.RunCheckpoints(model, str(tmp_path)), 0, 1)
    with pytest.raises(checkpoints_lib.CheckpointError, match="bind RobustGAN.ema_decay"):
        checkpoints_lib.RunCheckpoints(make_gan(tiny_models, ema_decay=None),
                                       str(tmp_path)).restore_latest()


def test_saving_the_same_step_twice_writes_once(tiny_models, tmp_path):
    model = make_gan(tiny_models)
    checkpoints = checkpoints_lib.RunCheckpoints(model, str(tmp_path))
    train_to(model, checkpoints, 0, 1)
    stamp = os.path.getmtime(os.path.join(tmp_path, "ckpt-1.index"))
    time.sleep(0.01)
    checkpoints.save()
    assert os.path.getmtime(os.path.join(tmp_path, "ckpt-1.index")) == stamp
    assert [os.path.basename(p) for p in checkpoints.all()] == ["ckpt-1"]


def corrupt(prefix, how):
    if how == "truncated data":
        data = prefix + ".data-00000-of-00001"
        with open(data, "r+b") as handle:
            handle.truncate(os.path.getsize(data) // 2)
    elif how == "flipped bytes":
        data = prefix + ".data-00000-of-00001"
        with open(data, "r+b") as handle:
            content = bytearray(handle.read())
            content[len(content) // 2:len(content) // 2 + 8] = b"\xff" * 8
            handle.seek(0)
            handle.write(bytes(content))
    elif how == "garbage index":
        with open(prefix + ".index", "wb") as handle:
            handle.write(b"not a checkpoint index")


@pytest.mark.parametrize("how", ["truncated data", "flipped bytes", "garbage index"])
def test_unreadable_latest_checkpoint_falls_back_to_the_previous(tiny_models, tmp_path, how):
    model = make_gan(tiny_models)
    checkpoints = checkpoints_lib.RunCheckpoints(model, str(tmp_path))
    train_to(model, checkpoints, 0, 2)
    expected = weights(model)
    latest = train_to(model, checkpoints, 2, 3)
    corrupt(latest, how)

    messages = []
    other = make_gan(fresh_models(seed=5))
    resumed = checkpoints_lib.RunCheckpoints(other, str(tmp_path), log=messages.append)
    assert resumed.restore_latest() == 2
    assert "ckpt-3 is unreadable" in messages[0] and "falling back to" in messages[0]
    assert messages[0].rstrip(".").endswith("ckpt-2")
    for x, y in zip(expected, weights(other), strict=True):
        np.testing.assert_array_equal(x, y)
    # The next save at step 3 replaces the unreadable files with a good checkpoint.
    other.fit(batches().skip(2), steps_per_epoch=1, epochs=1, verbose=0)
    assert checkpoints_lib.verify_checkpoint(resumed.save()) is None


def test_a_half_written_checkpoint_the_state_file_does_not_name_is_skipped(tiny_models, tmp_path):
    model = make_gan(tiny_models)
    checkpoints = checkpoints_lib.RunCheckpoints(model, str(tmp_path))
    train_to(model, checkpoints, 0, 2)
    with open(os.path.join(tmp_path, "ckpt-4.index"), "wb") as handle:
        handle.write(b"\x00" * 10)
    messages = []
    other = make_gan(fresh_models(seed=5))
    assert checkpoints_lib.RunCheckpoints(other, str(tmp_path),
                                          log=messages.append).restore_latest() == 2
    assert "ckpt-4 is unreadable" in messages[0]


def test_no_readable_checkpoint_is_an_error_not_a_fresh_start(tiny_models, tmp_path):
    model = make_gan(tiny_models)
    checkpoints = checkpoints_lib.RunCheckpoints(model, str(tmp_path))
    corrupt(train_to(model, checkpoints, 0, 1), "garbage index")
    with pytest.raises(checkpoints_lib.CheckpointError, match="None of the 1 checkpoints"):
        checkpoints_lib.RunCheckpoints(make_gan(tiny_models), str(tmp_path),
                                       log=lambda _: None).restore_latest()


def test_checkpoint_of_another_architecture_is_refused(tiny_models, tmp_path):
    model = make_gan(tiny_models, ema_decay=None)
    train_to(model, checkpoints_lib.RunCheckpoints(model, str(tmp_path)), 0, 1)
    keras.utils.set_random_seed(0)
    other = RobustGAN(tiny_generator(latent_dim=4), tiny_discriminator(), robust="off")
    other.compile(keras.optimizers.Adam(), keras.optimizers.Adam(), jit_compile=False)
    with pytest.raises(checkpoints_lib.CheckpointError, match="does not fit this model"):
        checkpoints_lib.RunCheckpoints(other, str(tmp_path)).restore_latest()


def sn_discriminator(old_layout):
    """The tiny discriminator with spectrally normalized layers: Keras' `SpectralNormalization`
    wrapper (rgan_tf 0.1's layout) or `rgan_tf`'s own SN layers."""
    image = keras.Input(IMAGE_SHAPE)
    if old_layout:
        conv = keras.layers.SpectralNormalization(keras.layers.Conv2D(8, 3, 2, padding="same"))
        logits = keras.layers.SpectralNormalization(keras.layers.Dense(1, dtype="float32"))
    else:
        conv, logits = spectral_norm.SNConv2D(8, 3, 2), spectral_norm.SNDense(1, dtype="float32")
    h = keras.layers.Flatten()(keras.layers.LeakyReLU(0.2)(conv(image)))
    return keras.Model(image, logits(h))


def test_checkpoint_of_keras_spectral_normalization_is_refused_with_one_message(tmp_path):
    keras.utils.set_random_seed(0)
    old = make_gan((tiny_generator(), sn_discriminator(old_layout=True)))
    train_to(old, checkpoints_lib.RunCheckpoints(old, str(tmp_path)), 0, 1)
    keras.utils.set_random_seed(0)
    new = make_gan((tiny_generator(), sn_discriminator(old_layout=False)))
    checkpoints = checkpoints_lib.RunCheckpoints(new, str(tmp_path), log=lambda _: None)
    message = "written with Keras' SpectralNormalization layer"
    with pytest.raises(checkpoints_lib.CheckpointError, match=message):
        checkpoints.restore_latest()  # resume, and export's and evaluation's load_run
    with pytest.raises(checkpoints_lib.CheckpointError, match=message):
        checkpoints.restore(str(tmp_path / "ckpt-1"))  # load_run with an explicit checkpoint
    assert checkpoints.restored is None and checkpoints.step() == 0
    # The new layout itself round-trips.
    train_to(new, checkpoints_lib.RunCheckpoints(new, str(tmp_path / "new")), 0, 1)
    keras.utils.set_random_seed(1)
    again = make_gan((tiny_generator(), sn_discriminator(old_layout=False)))
    assert checkpoints_lib.RunCheckpoints(again, str(tmp_path / "new")).restore_latest() == 1
    assert_equal_weights(new, again)


KILLED_SAVE = os.path.join(os.path.dirname(os.path.abspath(__file__)), "killed_save.py")


def state_file_names(folder):
    """The checkpoint the `checkpoint` state file names, as a file name."""
    return os.path.basename(tf.train.get_checkpoint_state(folder).model_checkpoint_path)


# Kill point -> (the step the next run resumes from, what the folder shows of the cut write).
KILL_POINTS = {
    "before_merge": (2, lambda folder: os.path.isdir(os.path.join(folder, "ckpt-3_temp"))
                     and not os.path.exists(os.path.join(folder, "ckpt-3.index"))
                     and state_file_names(folder) == "ckpt-2"),
    "before_state": (3, lambda folder: os.path.isfile(os.path.join(folder, "ckpt-3.index"))
                     and state_file_names(folder) == "ckpt-2"),
    "state_rename": (3, lambda folder: any(name.startswith("checkpoint.tmp")
                                           for name in os.listdir(folder))
                     and state_file_names(folder) == "ckpt-2"),
    "mid_sweep": (3, lambda folder: state_file_names(folder) == "ckpt-3"
                  and not os.path.exists(os.path.join(folder, "ckpt-1.index"))
                  and os.path.exists(os.path.join(folder, "ckpt-1.data-00000-of-00001"))),
}


@pytest.mark.parametrize("point", list(KILL_POINTS))
def test_a_kill_inside_the_librarys_save_leaves_a_readable_latest_checkpoint(tmp_path, point):
    # RunCheckpoints.save of step 3 is killed (SIGKILL) at `point`, between two of TensorFlow's
    # file operations; the folder then resumes from the newest complete checkpoint, with exactly
    # the values of that step, and the run can save again.
    process = subprocess.run([sys.executable, KILLED_SAVE, str(tmp_path), point],
                             capture_output=True, text=True, timeout=300)
    assert process.returncode == -signal.SIGKILL, process.stderr[-3000:]
    assert (tmp_path / "killed_at").read_text() == point  # the kill landed inside the write
    folder = str(tmp_path / "checkpoints")
    expected_step, shows_the_cut_write = KILL_POINTS[point]
    assert shows_the_cut_write(folder), sorted(os.listdir(folder))

    model = make_gan(fresh_models(seed=5))
    checkpoints = checkpoints_lib.RunCheckpoints(model, folder, max_to_keep=2,
                                                 log=lambda message: None)
    assert checkpoints.restore_latest() == expected_step
    with np.load(tmp_path / f"step{expected_step}.npz") as stored:
        for got, want in zip(weights(model), [stored[k] for k in stored.files], strict=True):
            np.testing.assert_array_equal(got, want)
    model.fit(batches(), steps_per_epoch=1, epochs=1, verbose=0)
    assert checkpoints_lib.verify_checkpoint(checkpoints.save()) is None


# ------------------------------------------------------------------------------------------------
# Same run?

SAVED = """
train.steps = 100
train.seed = 0
RobustGAN.eps_x = 2.3
RobustGAN.loss = @non_saturating_loss()
build_model.build_generator = @dcgan_generator
generator/keras.optimizers.Adam.learning_rate = 0.0002
"""


def test_config_differences_name_each_changed_binding_and_ignore_run_control():
    current = (SAVED.replace("train.steps = 100", "train.steps = 500")
               .replace("eps_x = 2.3", "eps_x = 1.0")
               .replace("@non_saturating_loss()", "@hinge_loss()")
               .replace("0.0002", "0.001"))
    assert checkpoints_lib.config_differences(SAVED, current) == [
        "RobustGAN.eps_x: 2.3 (saved) -> 1.0 (now)",
        "RobustGAN.loss: @non_saturating_loss() (saved) -> @hinge_loss() (now)",
        "generator/Adam.learning_rate: 0.0002 (saved) -> 0.001 (now)",
    ]
    assert checkpoints_lib.config_differences(SAVED, SAVED + "train.verbose = 0\n") == []
    sampled = SAVED + "RobustGAN.sampling = 'batch_stats'\n"
    assert checkpoints_lib.config_differences(SAVED, sampled) == []
    evaluation_on = SAVED + "train.callbacks = [@MetricsCallback]\nMetricsCallback.every = 100\n"
    assert checkpoints_lib.config_differences(SAVED, evaluation_on) == []
    assert checkpoints_lib.config_differences(SAVED, SAVED + "RobustGAN.lam = 0.5\n") == [
        "RobustGAN.lam: (not set) (saved) -> 0.5 (now)"]
    # A parameter the saved run did not list (added to the library since) is a difference only
    # when it is not at its default.
    assert checkpoints_lib.config_differences(SAVED, SAVED + "RobustGAN.norm = 'l2'\n") == []
    assert checkpoints_lib.config_differences(SAVED, SAVED + "RobustGAN.norm = 'linf'\n") == [
        "RobustGAN.norm: (not set) (saved) -> 'linf' (now)"]


def test_check_same_run_refuses_only_a_folder_with_checkpoints_of_another_config(tmp_path):
    with open(tmp_path / "operative_config.gin", "w") as handle:
        handle.write(SAVED)
    other = SAVED.replace("eps_x = 2.3", "eps_x = 1.0")
    checkpoints_lib.check_same_run(str(tmp_path), other)  # no checkpoints yet: nothing to guard
    os.makedirs(tmp_path / "checkpoints")
    (tmp_path / "checkpoints" / "ckpt-5.index").write_bytes(b"")
    checkpoints_lib.check_same_run(str(tmp_path), SAVED.replace("= 100", "= 900"))
    with pytest.raises(checkpoints_lib.RunMismatchError, match=r"RobustGAN.eps_x: 2.3 \(saved\)"):
        checkpoints_lib.check_same_run(str(tmp_path), other)
