"""tools/sample.py and the sampling helpers: N samples from a run folder or an export, as a PNG
grid, PNG files or an .npz; the two sources give the same images; conditional models take
classes; existing output is never replaced without --overwrite."""
import os

import keras
import numpy as np
import pytest
from PIL import Image

from conftest import LATENT_DIM, run_tool, tiny, tiny_discriminator, tiny_generator, train_tool
from rgan_tf import export
from rgan_tf.robust_gan import RobustGAN


@pytest.fixture(scope="module")
def run_and_export(tmp_path_factory):
    folder = tmp_path_factory.mktemp("sample")
    result = train_tool(folder / "run", tiny(2))
    assert result.returncode == 0, result.stderr[-3000:]
    result = run_tool("export.py", f"--model_dir={folder / 'run'}",
                      f"--export_dir={folder / 'export'}")
    assert result.returncode == 0, result.stderr[-3000:]
    return folder / "run", folder / "export"


def test_npz_from_a_run_and_from_its_export_are_the_same_samples(run_and_export, tmp_path):
    run, exported = run_and_export
    for name, source in [("run", f"--model_dir={run}"), ("export", f"--export_dir={exported}")]:
        result = run_tool("sample.py", source, "--num_samples=10", "--seed=5",
                          f"--output={tmp_path / name}.npz")
        assert result.returncode == 0, result.stderr[-3000:]
        assert "Wrote 10 samples" in result.stdout
    from_run, from_export = np.load(tmp_path / "run.npz"), np.load(tmp_path / "export.npz")
    assert from_run["images"].shape == (10, 8, 8, 1) and from_run["images"].dtype == np.float32
    assert "labels" not in from_run
    np.testing.assert_allclose(from_run["images"], from_export["images"], atol=1e-6)
    assert -1 <= from_run["images"].min() and from_run["images"].max() <= 1
    assert not np.allclose(from_run["images"][0], from_run["images"][1])


def test_grid_and_files(run_and_export, tmp_path):
    run, _ = run_and_export
    result = run_tool("sample.py", f"--model_dir={run}", "--checkpoint=2", "--num_samples=6",
                      f"--output={tmp_path / 'grid.png'}")
    assert result.returncode == 0, result.stderr[-3000:]
    assert Image.open(tmp_path / "grid.png").size[0] >= 512  # small images are enlarged
    result = run_tool("sample.py", f"--model_dir={run}", "--num_samples=3",
                      f"--output={tmp_path / 'files'}")
    assert result.returncode == 0, result.stderr[-3000:]
    assert sorted(os.listdir(tmp_path / "files")) == [
        "sample_00000.png", "sample_00001.png", "sample_00002.png"]
    assert Image.open(tmp_path / "files" / "sample_00000.png").size == (8, 8)


def test_existing_output_is_kept_unless_overwrite(run_and_export, tmp_path):
    run, exported = run_and_export
    target = tmp_path / "grid.png"
    target.write_bytes(b"mine")
    result = run_tool("sample.py", f"--export_dir={exported}", f"--output={target}")
    assert result.returncode == 1 and "error: " in result.stderr
    assert "exists; pass --overwrite" in result.stderr and target.read_bytes() == b"mine"
    result = run_tool("sample.py", f"--export_dir={exported}", f"--output={target}",
                      "--overwrite")
    assert result.returncode == 0 and target.read_bytes()[:4] == b"\x89PNG"


@pytest.mark.parametrize("args,message", [
    (["--classes=1"], "unconditional; it takes no classes"),
    (["--checkpoint=7"], "No checkpoint 'ckpt-7'"),
    (["--export_dir=somewhere"], "exactly one of --model_dir and --export_dir"),
])
def test_bad_sample_requests_are_refused(run_and_export, tmp_path, args, message):
    run, _ = run_and_export
    result = run_tool("sample.py", f"--model_dir={run}", f"--output={tmp_path / 'out.npz'}",
                      *args)
    assert result.returncode == 1 and message in result.stderr, result.stderr[-2000:]
    assert "Traceback" not in result.stderr and not os.path.exists(tmp_path / "out.npz")


# ------------------------------------------------------------------------------------------------
# Library level: conditional models, formats.

def conditional_gan(num_classes=4):
    keras.utils.set_random_seed(0)
    model = RobustGAN(tiny_generator(num_classes=num_classes),
                      tiny_discriminator(num_classes=num_classes), num_classes=num_classes)
    model.compile(keras.optimizers.Adam(), keras.optimizers.Adam(), jit_compile=False)
    return model


def test_conditional_samples_cycle_through_the_requested_classes(tmp_path):
    sampler = export.Sampler(conditional_gan())
    images, labels = sampler.sample(5, seed=1, classes=[3, 1])
    np.testing.assert_array_equal(labels, [3, 1, 3, 1, 3])
    _, every_class = sampler.sample(6, seed=1)
    np.testing.assert_array_equal(every_class, [0, 1, 2, 3, 0, 1])
    # Same z, other labels: other images.
    other, _ = sampler.sample(5, seed=1, classes=[0])
    assert not np.allclose(images, other)
    paths = export.write_samples(images, labels, str(tmp_path / "files"))
    assert os.path.basename(paths[0]) == "sample_00000_class3.png"
    export.write_samples(images, labels, str(tmp_path / "s.npz"))
    np.testing.assert_array_equal(np.load(tmp_path / "s.npz")["labels"], labels)
    with pytest.raises(ValueError, match=r"Classes \[4\] are outside \[0, 4\)"):
        sampler.sample(2, classes=[4])


def test_samples_are_robust_gan_sample(tmp_path):
    model = conditional_gan()
    images, labels = export.Sampler(model).sample(8, seed=2)
    np.testing.assert_allclose(images, model.sample(8, seed=2), atol=1e-6)
    assert images.shape == (8, 8, 8, 1) and LATENT_DIM == model.latent_dim


def test_sample_format_follows_the_output_name():
    assert export.sample_format("a/b.png") == "grid"
    assert export.sample_format("a/b.NPZ") == "npz"
    assert export.sample_format("a/b") == "files"
    assert export.sample_format("a/b.png", "files") == "files"
    with pytest.raises(ValueError, match="Unknown sample format"):
        export.sample_format("a", "gif")
