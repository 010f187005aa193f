"""Multi-replica training equals single-device training: one step on two replicas (two logical
CPUs) gives the weights of one step on one device with the same global batch, with robust
training on; so does the launcher's path through `train` (slow); two local workers hold identical
weights, those of one device on the global batch (slow); without synchronized batch norm each
replica normalizes its own half of the batch; XLA is turned off where the strategy cannot compile
it; `sync_batch_norm` converts batch norm and keeps the weights. Every run trains with plain SGD,
whose step is proportional to the gradient, so a wrong replica divisor changes the weights.

The multi-replica runs need logical devices configured before TensorFlow starts (or a worker
cluster), so they run `tests/distributed_run.py` in fresh processes; this pytest process never
creates a strategy.
"""
import json
import os
import socket
import subprocess
import sys

import keras
import numpy as np
import pytest
import tensorflow as tf

from conftest import tiny_generator
from rgan_tf import compile_mode, distribute

HELPER = os.path.join(os.path.dirname(os.path.abspath(__file__)), "distributed_run.py")
TIMEOUT_S = 240


def _command(out, **flags):
    return [sys.executable, HELPER, f"--out={out}"] + [f"--{k}={v}" for k, v in flags.items()]


def _load(out):
    weights = np.load(out)
    with open(out + ".json") as info:
        return [weights[k] for k in weights.files], json.load(info)


def _wait(process, what):
    stdout, stderr = process.communicate(timeout=TIMEOUT_S)
    assert process.returncode == 0, f"{what} failed:\n{stderr[-4000:]}"
    return stderr


@pytest.fixture(scope="module")
def runs(tmp_path_factory):
    """`runs(name=flags, ...)`: `(weights, info, stderr)` of each named helper run, in the order
    given. Runs not yet made in this module start together (in parallel) and are kept."""
    folder = tmp_path_factory.mktemp("distributed")
    cache = {}

    def run(**specs):
        started = {}
        for name, flags in specs.items():
            if name not in cache:
                out = str(folder / f"{name}.npz")
                started[name] = (out, subprocess.Popen(
                    _command(out, **flags), stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                    text=True))
        for name, (out, process) in started.items():
            stderr = _wait(process, name)
            cache[name] = _load(out) + (stderr,)
        results = [cache[name] for name in specs]
        return results[0] if len(results) == 1 else results

    return run


def assert_same(weights_a, weights_b, rtol=1e-5, atol=1e-6):
    assert len(weights_a) == len(weights_b)
    for a, b in zip(weights_a, weights_b):
        np.testing.assert_allclose(a, b, rtol=rtol, atol=atol)


def assert_same_history(info_a, info_b):
    assert info_a["history"].keys() == info_b["history"].keys()
    for name, values in info_a["history"].items():
        np.testing.assert_allclose(values, info_b["history"][name], rtol=1e-5, atol=1e-6,
                                   err_msg=name)


@pytest.mark.parametrize("setup", ["dcgan", "wgan_gp", "sngan"])
def test_two_replicas_take_the_same_step_as_one_device(runs, setup):
    # dcgan: non-saturating loss, batch norm in both players; wgan_gp: Wasserstein loss, gradient
    # penalty, 2 critic steps per generator step; sngan: hinge loss, 2 critic steps, a spectrally
    # normalized critic (its power-iteration vectors u are among the weights compared). Robust
    # training on both players, no XLA.
    (one, one_info, _), (two, two_info, _) = runs(**{
        f"{setup}_one": dict(setup=setup, strategy="default"),
        f"{setup}_two": dict(setup=setup, strategy="mirrored")})
    assert (one_info["replicas"], two_info["replicas"]) == (1, 2)
    assert_same(one, two)
    assert_same_history(one_info, two_info)  # the logged values are global, not per replica
    assert "d_robust" in two_info["history"] and "g_robust" in two_info["history"]


@pytest.mark.slow  # two more processes, ~25 s
def test_train_entry_on_two_replicas_equals_one_device(runs):
    # The launcher's whole path (gin config -> train -> build_model in the strategy's scope ->
    # data set batched with the global batch -> fit), with build_model.sync_batch_norm = True.
    (one, one_info, _), (two, two_info, _) = runs(
        train_one=dict(via_train=1, steps=2, strategy="default"),
        train_two=dict(via_train=1, steps=2, strategy="mirrored"))
    assert (one_info["replicas"], two_info["replicas"]) == (1, 2)
    assert one_info["steps"] == two_info["steps"] == 2
    assert_same(one, two)


def test_without_sync_batch_norm_each_replica_normalizes_its_own_slice(runs):
    # Two replicas without synchronized batch norm take the step of one device whose batch norm
    # normalizes each half of the batch on its own; that step is measurably not the plain one.
    (one, _, _), (per_replica, _, _), (split, _, _) = runs(
        dcgan_one=dict(setup="dcgan", strategy="default"),
        dcgan_two_local_bn=dict(setup="dcgan", strategy="mirrored", sync_bn=0),
        dcgan_one_split_bn=dict(setup="dcgan", strategy="default", sync_bn=0, split_bn=2))
    assert_same(split, per_replica)
    assert max(np.max(np.abs(a - b)) for a, b in zip(one, per_replica)) > 1e-3


def test_xla_is_turned_off_for_two_replicas_with_a_log_line(runs):
    # MirroredStrategy over two CPUs cannot run an XLA-compiled step (rgan_tf.distribute): the
    # step runs without XLA, so it equals the single-device step without XLA.
    (one, _, _), (two, info, stderr) = runs(
        dcgan_one=dict(setup="dcgan", strategy="default"),
        dcgan_two_jit=dict(setup="dcgan", strategy="mirrored", jit=1))
    assert info["jit_compile"] is False
    assert "XLA off: MirroredStrategy with 2 replicas cannot compile the step" in stderr
    assert_same(one, two)


def _free_ports(count):
    sockets = [socket.socket() for _ in range(count)]
    for s in sockets:
        s.bind(("127.0.0.1", 0))
    ports = [s.getsockname()[1] for s in sockets]
    for s in sockets:
        s.close()
    return ports


@pytest.mark.slow  # three processes, two of them a gRPC cluster over loopback, ~35 s
def test_two_local_workers_hold_identical_weights(runs, tmp_path):
    steps = 3
    cluster = {"worker": [f"127.0.0.1:{port}" for port in _free_ports(2)]}
    processes, outs = [], []
    for index in range(2):
        out = str(tmp_path / f"worker{index}.npz")
        env = dict(os.environ, TF_CONFIG=json.dumps(
            {"cluster": cluster, "task": {"type": "worker", "index": index}}))
        processes.append(subprocess.Popen(
            _command(out, setup="wgan_gp", strategy="multi_worker", steps=steps), env=env,
            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True))
        outs.append(out)
    try:
        for index, process in enumerate(processes):
            _wait(process, f"worker {index}")
    finally:
        for process in processes:
            if process.poll() is None:
                process.kill()
    (chief, chief_info), (other, other_info) = (_load(out) for out in outs)
    assert chief_info["replicas"] == other_info["replicas"] == 2
    assert_same(chief, other, rtol=0, atol=0)
    assert_same_history(chief_info, other_info)
    # ... and they trained as one device would on the global batch.
    single, _, _ = runs(wgan_gp_one_3_steps=dict(setup="wgan_gp", strategy="default",
                                                 steps=steps))
    assert_same(single, chief)


def test_sync_batch_norm_converts_every_batch_norm_and_keeps_the_weights():
    keras.utils.set_random_seed(0)
    generator = tiny_generator()
    synced = distribute.sync_batch_norm(generator)
    norms = [layer for layer in synced.layers if isinstance(layer, keras.layers.BatchNormalization)]
    assert norms and all(layer.synchronized for layer in norms)
    z = np.random.default_rng(0).normal(size=(4, 8)).astype(np.float32)
    np.testing.assert_allclose(synced(z, training=True), generator(z, training=True), atol=1e-6)
    np.testing.assert_array_equal(synced(z), generator(z))
    plain = tiny_generator(batch_norm=False)
    assert distribute.sync_batch_norm(plain) is plain


def test_one_replica_keeps_xla():
    assert distribute.xla_supported(tf.distribute.get_strategy())
    assert compile_mode.resolve(True).jit_compile is True
    assert compile_mode.resolve(False).jit_compile is False


def test_logs_pass_unchanged_outside_a_multi_worker_strategy():
    logs = {"d_loss": tf.constant(1.0)}
    assert distribute.reducible_logs(logs) is logs


def test_unknown_strategy_is_refused():
    with pytest.raises(ValueError, match="Unknown strategy 'parameter_server'"):
        distribute.make_strategy("parameter_server")
