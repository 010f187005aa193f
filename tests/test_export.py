"""Exported generators: the SavedModel loads in a Python that has TensorFlow but neither rgan_tf
nor Keras, and its signatures give the library's images, uint8 images, samples and logits; an
export never replaces a non-empty folder unless asked; the tool exports a run's checkpoints."""
import json
import os
import subprocess
import sys
import textwrap

import keras
import numpy as np
import pytest
import tensorflow as tf

from conftest import (IMAGE_SHAPE, LATENT_DIM, run_tool, tiny, tiny_discriminator, tiny_generator,
                      train_tool)
from rgan_tf import export
from rgan_tf import images as images_lib
from rgan_tf.robust_gan import RobustGAN

REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
NUM_CLASSES = 3


def trained_gan(num_classes=None, **kwargs):
    keras.utils.set_random_seed(0)
    model = RobustGAN(tiny_generator(num_classes=num_classes),
                      tiny_discriminator(num_classes=num_classes), num_classes=num_classes,
                      eps_x=1.0, **kwargs)
    model.compile(keras.optimizers.Adam(1e-2), keras.optimizers.Adam(1e-2), jit_compile=False)
    images = np.random.default_rng(0).uniform(-1, 1, (16,) + IMAGE_SHAPE).astype(np.float32)
    data = (images if num_classes is None
            else (images, np.arange(16, dtype=np.int32) % num_classes))
    # Two steps move the weights and the batch-norm statistics away from their initial values.
    model.fit(tf.data.Dataset.from_tensor_slices(data).batch(8), epochs=1, verbose=0)
    return model


def tensorflow_only_python(folder):
    """A `python` command line whose imports see this interpreter's site-packages without Keras,
    rgan_tf (or its editable-install hooks): a user's environment with TensorFlow alone."""
    site_packages = os.path.dirname(os.path.dirname(tf.__file__))
    os.makedirs(folder)
    for name in os.listdir(site_packages):
        lowered = name.lower()
        if (lowered.startswith(("keras", "tf_keras", "rgan", "__editable__"))
                or lowered.endswith(".pth")):
            continue
        os.symlink(os.path.join(site_packages, name), os.path.join(folder, name))
    prelude = ("import sys; sys.path = [p for p in sys.path if 'site-packages' not in p] + "
               f"[{str(folder)!r}]; ")
    return [sys.executable, "-I", "-S", "-c"], prelude


LOADER = textwrap.dedent("""
    import importlib, json, sys
    import numpy as np
    for name in ("rgan_tf", "keras"):
        try:
            importlib.import_module(name)
            raise SystemExit(f"{name} is importable: the check would prove nothing")
        except ImportError:
            pass
    import tensorflow as tf
    for name, folder in json.loads(sys.argv[1]).items():
        inputs = np.load(f"{folder}/inputs.npz")
        loaded = tf.saved_model.load(f"{folder}/export")
        feed = {"z": tf.constant(inputs["z"])}
        images = {"images": tf.constant(inputs["images"])}
        if "label" in inputs:
            feed["label"] = images["label"] = tf.constant(inputs["label"])
        outputs = {
            "float": loaded.signatures["serving_default"](**feed)["images"],
            "uint8": loaded.signatures["generate_uint8"](**feed)["images"],
            "sample": loaded.signatures["sample"](n=tf.constant(5),
                                                  seed=tf.constant(7, tf.int64))["images"],
            "logits": loaded.signatures["discriminate"](**images)["logits"],
            "latent_dim": loaded.latent_dim, "num_classes": loaded.num_classes,
        }
        np.savez(f"{folder}/outputs.npz", **{k: np.asarray(v) for k, v in outputs.items()})
    print("modules:", sorted(m for m in sys.modules if m.startswith(("keras", "rgan_tf"))))
""")


def test_export_loads_with_tensorflow_only_and_matches_the_library(tmp_path):
    folders, expected = {}, {}
    rng = np.random.default_rng(1)
    for name, num_classes, settings in [
            ("unconditional", None, {}), ("conditional", NUM_CLASSES, {}),
            ("batch_stats_ema", None, dict(sampling="batch_stats", ema_decay=0.5))]:
        model = trained_gan(num_classes, **settings)
        folder = tmp_path / name
        export.save_module(export.ServingModule(model, step=2, with_discriminator=True),
                           str(folder / "export"))
        inputs = {"z": rng.normal(size=(6, LATENT_DIM)).astype(np.float32),
                  "images": rng.uniform(-1, 1, (6,) + IMAGE_SHAPE).astype(np.float32)}
        labels = None
        if num_classes:
            labels = inputs["label"] = np.array([0, 1, 2, 2, 1, 0], np.int32)
        np.savez(folder / "inputs.npz", **inputs)
        images = np.asarray(model.generate(inputs["z"], labels))
        expected[folder.name] = {
            "float": images, "uint8": images_lib.to_uint8(images),
            "sample": np.asarray(model.sample(5, seed=7)),
            "logits": np.asarray(model.discriminate(inputs["images"], labels)),
            "latent_dim": LATENT_DIM, "num_classes": num_classes or 0}
        folders[folder.name] = str(folder)

    command, prelude = tensorflow_only_python(tmp_path / "site")
    result = subprocess.run(command + [prelude + LOADER, json.dumps(folders)], cwd=tmp_path,
                            capture_output=True, text=True, timeout=300)
    assert result.returncode == 0, result.stderr[-3000:]
    assert "modules: []" in result.stdout  # neither Keras nor rgan_tf was loaded
    for name, folder in folders.items():
        outputs = np.load(os.path.join(folder, "outputs.npz"))
        for key, value in expected[name].items():
            assert outputs[key].dtype == np.asarray(value).dtype or key in ("latent_dim",
                                                                             "num_classes")
            np.testing.assert_allclose(outputs[key], value, rtol=1e-5, atol=1e-6,
                                       err_msg=f"{name} {key}")
        assert outputs["float"].min() >= -1 and outputs["float"].max() <= 1


def test_sample_signature_draws_robust_gan_sample(tmp_path):
    model = trained_gan(NUM_CLASSES)
    path = export.save_module(export.ServingModule(model), str(tmp_path / "export"))
    loaded = tf.saved_model.load(path)
    outputs = loaded.signatures["sample"](n=tf.constant(7), seed=tf.constant(3, tf.int64))
    np.testing.assert_allclose(outputs["images"], model.sample(7, seed=3), atol=1e-6)
    np.testing.assert_array_equal(outputs["labels"], np.arange(7) % NUM_CLASSES)
    assert "discriminate" not in loaded.signatures
    sampler = export.Sampler.from_export(path)
    images, labels = sampler.sample(4, seed=3, classes=[2])
    np.testing.assert_array_equal(labels, [2, 2, 2, 2])
    np.testing.assert_allclose(images, export.Sampler(model).sample(4, 3, [2])[0], atol=1e-6)


def test_batch_stats_export_computes_as_the_model_and_writes_no_variable(tmp_path):
    model = trained_gan(sampling="batch_stats", ema_decay=0.5)
    module = export.ServingModule(model)
    path = export.save_module(module, str(tmp_path / "export"))
    loaded = tf.saved_model.load(path)
    assert loaded.sampling.numpy() == b"batch_stats"
    z = np.random.default_rng(0).normal(size=(6, LATENT_DIM)).astype(np.float32)
    def values():
        return [np.asarray(v) for v in tf.train.TrackableView(loaded).descendants()
                if isinstance(v, tf.Variable) and v.dtype != tf.string]

    before = values()
    images = np.asarray(loaded.signatures["serving_default"](z=tf.constant(z))["images"])
    np.testing.assert_allclose(images, model.generate(z), rtol=1e-5, atol=1e-6)
    # Batch statistics: an image depends on its batch; the moving average's weights are used.
    alone = loaded.signatures["serving_default"](z=tf.constant(z[:2]))["images"]
    assert np.abs(np.asarray(alone)[0] - images[0]).max() > 1e-3
    assert np.abs(images - np.asarray(model.generator(z, training=True))).max() > 1e-4
    samples = loaded.signatures["sample"](n=tf.constant(150), seed=tf.constant(2, tf.int64))
    np.testing.assert_allclose(samples["images"], model.sample(150, seed=2), rtol=1e-5,
                               atol=1e-6)
    assert len(before) > 10
    for a, b in zip(before, values(), strict=True):
        np.testing.assert_array_equal(a, b)
    for signature in ("serving_default", "sample"):
        graph = loaded.signatures[signature].graph
        ops = {op.type for op in graph.get_operations()}
        for function in graph.as_graph_def().library.function:
            ops |= {node.op for node in function.node_def}
        assert not {op for op in ops if op.startswith("Assign")}, (signature, ops)


def test_export_refuses_a_non_empty_folder_unless_overwrite(tmp_path):
    module = export.ServingModule(trained_gan())
    target = tmp_path / "export"
    target.mkdir()
    (target / "notes.txt").write_text("mine")
    with pytest.raises(ValueError, match="not empty; pass --overwrite"):
        export.save_module(module, str(target))
    assert os.listdir(target) == ["notes.txt"]
    export.save_module(module, str(target), overwrite=True)
    assert sorted(os.listdir(target)) == ["assets", "assets.extra", "fingerprint.pb",
                                          "saved_model.pb", "variables"]
    assert not [name for name in os.listdir(tmp_path) if name.startswith(".export")]


def test_export_into_an_empty_folder(tmp_path):
    (tmp_path / "export").mkdir()
    path = export.save_module(export.ServingModule(trained_gan()), str(tmp_path / "export"))
    assert os.path.isfile(os.path.join(path, "saved_model.pb"))


# ------------------------------------------------------------------------------------------------
# tools/export.py on a run folder.

@pytest.fixture(scope="module")
def trained_run(tmp_path_factory):
    folder = tmp_path_factory.mktemp("export") / "run"
    result = train_tool(folder, tiny(4))
    assert result.returncode == 0, result.stderr[-3000:]
    return folder


def test_tool_exports_the_latest_or_a_named_checkpoint(trained_run, tmp_path):
    result = run_tool("export.py", f"--model_dir={trained_run}", f"--export_dir={tmp_path / 'a'}",
                      "--with_discriminator")
    assert result.returncode == 0, result.stderr[-3000:]
    result = run_tool("export.py", f"--model_dir={trained_run}", "--checkpoint=ckpt-2",
                      f"--export_dir={tmp_path / 'b'}")
    assert result.returncode == 0, result.stderr[-3000:]
    latest, second = (tf.saved_model.load(str(tmp_path / name)) for name in "ab")
    assert int(latest.step.numpy()) == 4 and int(second.step.numpy()) == 2
    assert "discriminate" in latest.signatures and "discriminate" not in second.signatures
    with open(tmp_path / "a" / export.EXPORT_INFO) as handle:
        info = json.load(handle)
    assert info["step"] == 4 and info["image_shape"] == [8, 8, 1]
    assert info["sampling"] == "moving_average" and info["ema_decay"] is None
    assert os.path.isfile(tmp_path / "a" / "assets.extra" / "operative_config.gin")

    model, step = export.load_run(str(trained_run), checkpoint=2, log=lambda _: None)
    assert step == 2
    z = np.random.default_rng(0).normal(size=(4, model.latent_dim)).astype(np.float32)
    np.testing.assert_allclose(second.signatures["serving_default"](z=tf.constant(z))["images"],
                               model.generate(z), atol=1e-6)
    samples = second.signatures["sample"](n=tf.constant(3), seed=tf.constant(9, tf.int64))
    np.testing.assert_allclose(samples["images"], model.sample(3, seed=9), atol=1e-6)


def test_tool_refuses_a_non_empty_export_dir_and_bad_checkpoints(trained_run, tmp_path):
    target = tmp_path / "export"
    target.mkdir()
    (target / "keep.txt").write_text("mine")
    result = run_tool("export.py", f"--model_dir={trained_run}", f"--export_dir={target}")
    assert result.returncode == 1 and "not empty; pass --overwrite" in result.stderr
    assert os.listdir(target) == ["keep.txt"]
    result = run_tool("export.py", f"--model_dir={trained_run}", "--checkpoint=3",
                      f"--export_dir={tmp_path / 'other'}")
    assert result.returncode == 1 and "No checkpoint 'ckpt-3'" in result.stderr
    assert "available: ckpt-2, ckpt-4" in result.stderr
    result = run_tool("export.py", f"--model_dir={tmp_path}", f"--export_dir={tmp_path / 'x'}")
    assert result.returncode == 1 and "operative_config.gin is missing" in result.stderr
    assert not os.path.exists(tmp_path / "other") and not os.path.exists(tmp_path / "x")
