"""Every shipped gin config parses strictly, each `*_rgan.gin` differs from its baseline only in
robust settings, the reference settings (lengths, critic steps, batch multipliers, learning-rate
decay, robust radii) are the ones the headers cite, and (slow) every config trains two steps
through the launcher on mock data, with its real architecture."""
import glob
import math
import os
import time

import gin
import keras
import pytest

from conftest import REPO, repo_path
from rgan_tf import config
from rgan_tf.study import paper, zoo

CONFIG_DIR = repo_path("gin_configs")
CONFIGS = sorted(os.path.relpath(path, REPO)
                 for path in glob.glob(os.path.join(CONFIG_DIR, "*", "*.gin")))
ROBUST_CONFIGS = [path for path in CONFIGS if path.endswith("_rgan.gin")]


def parsed_lines(path):
    config.parse_gin([repo_path(path)], [])
    return {line.strip() for line in gin.config_str().splitlines()
            if line.strip() and not line.startswith("#")}


def baseline_of(path):
    return path.replace("_rgan.gin", ".gin")


# Baseline -> (train.steps, critic steps, generator batch multiplier, loss, penalty, decayed).
REFERENCE_SETTINGS = {
    "cifar10/dcgan": (200000, 1, 1, "non_saturating_loss", None, False),
    "cifar10/wgan_gp": (200000, 5, 1, "wasserstein_loss", "gradient_penalty", False),
    "cifar10/wgan_gp_resnet": (100000, 5, 2, "wasserstein_loss", "gradient_penalty", True),
    "cifar10/sngan": (100000, 1, 1, "non_saturating_loss", None, False),
    "cifar10/sngan_resnet": (50000, 5, 2, "hinge_loss", None, True),
    "cifar10/bwgan": (100000, 5, 2, "banach_wasserstein_loss", "bwgan_penalty", True),
    "cifar10/sngan_cond": (50000, 5, 2, "hinge_loss", None, True),
    "stl10/dcgan": (200000, 1, 1, "non_saturating_loss", None, False),
    "stl10/wgan_gp": (200000, 5, 1, "wasserstein_loss", "gradient_penalty", False),
    "stl10/wgan_gp_resnet": (100000, 5, 2, "wasserstein_loss", "gradient_penalty", True),
    "stl10/sngan": (100000, 1, 1, "non_saturating_loss", None, False),
    "stl10/sngan_resnet": (50000, 5, 2, "hinge_loss", None, True),
    "stl10/bwgan": (100000, 5, 2, "banach_wasserstein_loss", "bwgan_penalty", True),
    "celeba/dcgan": (200000, 1, 1, "non_saturating_loss", None, False),
    "celeba/wgan_gp": (200000, 5, 1, "wasserstein_loss", "gradient_penalty", False),
}
# Image side of each paper data set: eps_x keeps the paper's per-pixel size there.
IMAGE_SIZES = {"cifar10": 32, "stl10": 48, "celeba": 64}
SOURCES = {"cifar10": ("tfds:cifar10", "train"), "stl10": ("tfds:stl10", "train+unlabelled"),
           "celeba": ("tfds:celeb_a", "train")}


def name_of(path):
    return os.path.splitext(os.path.relpath(path, "gin_configs"))[0]


def query(name, default=None):
    """A bound value (a macro resolved to its value), or `default` if unbound."""
    try:
        value = gin.query_parameter(name)
    except ValueError:
        return default
    if isinstance(value, gin.config.ConfigurableReference) and value.selector == "gin.macro":
        return value.scoped_configurable_fn()
    return value


def test_the_issue_configs_ship():
    for name in ["digits/dcgan", "digits/dcgan_rgan", "digits/dcgan16", "digits/dcgan16_rgan",
                 "mnist/dcgan", "mnist/dcgan_rgan"]:
        assert f"gin_configs/{name}.gin" in CONFIGS
    for name in REFERENCE_SETTINGS:
        assert f"gin_configs/{name}.gin" in CONFIGS
        assert f"gin_configs/{name}_rgan.gin" in CONFIGS


def header_of(path):
    """The comment lines that open a config file."""
    lines = []
    with open(repo_path(path)) as handle:
        for line in handle:
            if not line.startswith("#"):
                break
            lines.append(line.rstrip("\n"))
    return lines


def expected_paper_row(name):
    """`<row>; IS <x>, FID <y>` from rgan_tf.study.zoo's table (its numbers are
    rgan_tf.study.paper's)."""
    row = zoo.PAPER_ROWS[name]
    scores = [f"IS {row.inception_score}"] if row.inception_score != "-" else []
    scores += [f"FID {row.fid}"] if row.fid != "-" else []
    return row.row + ("; " + ", ".join(scores) if scores else "")


@pytest.mark.parametrize("path", CONFIGS)
def test_config_parses_and_names_its_reference_and_paper_row(path):
    lines = parsed_lines(path)
    assert any(line.startswith("build_model.build_generator") for line in lines)
    assert any(line.startswith("dataset.source") for line in lines)
    # The header says, each on its own line, which reference code the config follows and which
    # row of the paper's tables it reproduces, with the paper's numbers (or that it is none).
    name = name_of(path)
    header = header_of(path)
    references = [line for line in header if line.startswith("# Reference: ")]
    rows = [line for line in header if line.startswith("# Paper row: ")]
    assert references == [f"# Reference: {zoo.BASELINES[zoo.baseline_name(name)][1]}"], header
    assert rows == [f"# Paper row: {expected_paper_row(name)}"], header


@pytest.mark.parametrize("path", ROBUST_CONFIGS)
def test_robust_config_adds_only_robust_settings(path):
    with open(repo_path(path)) as handle:
        assert f"include '{baseline_of(path)}'" in handle.read()
    baseline = parsed_lines(baseline_of(path))
    robust = parsed_lines(path)
    assert "RobustGAN.robust = 'off'" in baseline
    assert "RobustGAN.robust = 'both'" in robust
    changed = (robust - baseline) | (baseline - robust)
    assert changed and all(line.startswith("RobustGAN.") for line in changed), changed


def test_cifar10_robust_settings_are_the_papers():
    for path in ["gin_configs/cifar10/dcgan_rgan.gin", "gin_configs/cifar10/wgan_gp_rgan.gin"]:
        config.parse_gin([repo_path(path)], [])
        assert gin.query_parameter("RobustGAN.lam") == 0.1
        assert gin.query_parameter("RobustGAN.eps_z") == 0.01
        assert gin.query_parameter("RobustGAN.eps_x") == 4.0


@pytest.mark.parametrize("path", [p for p in ROBUST_CONFIGS if p.split("/")[1] in IMAGE_SIZES])
def test_robust_radii_are_the_papers(path):
    # CIFAR-10: lambda 0.1, eps_z 0.01, eps_x 4. STL-10: the same ("The training settings keep the
    # same as those for CIFAR-10"). CelebA (samples only, no stated settings): eps_x at the
    # CIFAR-10 per-pixel size, 4 / sqrt(3072) per entry, i.e. 4 sqrt(64*64*3 / 3072) = 8.
    data_set = path.split("/")[1]
    side = IMAGE_SIZES[data_set]
    config.parse_gin([repo_path(path)], [])
    assert gin.query_parameter("RobustGAN.lam") == 0.1
    assert gin.query_parameter("RobustGAN.eps_z") == 0.01
    expected = 8.0 if data_set == "celeba" else 4.0
    assert gin.query_parameter("RobustGAN.eps_x") == expected
    if data_set == "celeba":
        assert expected == pytest.approx(4.0 * math.sqrt(side * side * 3 / 3072))


@pytest.mark.parametrize("path", ["gin_configs/digits/dcgan_rgan.gin",
                                  "gin_configs/digits/dcgan16_rgan.gin"])
def test_digits_radii_are_the_papers_per_pixel(path):
    # The bundled digits (one channel, resized): eps_x at CIFAR-10's per-pixel size for the
    # config's own image size (2.3 at 32x32, 1.2 at 16x16), lambda and eps_z as the paper.
    config.parse_gin([repo_path(path)], [])
    size = gin.query_parameter("dataset.image_size")
    assert gin.query_parameter("dcgan_generator.image_size") == size
    assert gin.query_parameter("dcgan_discriminator.image_size") == size
    assert (gin.query_parameter("RobustGAN.lam"), gin.query_parameter("RobustGAN.eps_z")) == (
        paper.LAM, paper.EPS_Z)
    assert gin.query_parameter("RobustGAN.eps_x") == paper.scaled_eps_x(size, 1)


@pytest.mark.parametrize("name", sorted(REFERENCE_SETTINGS))
def test_baseline_matches_its_reference_settings(name):
    steps, d_steps, multiplier, loss, penalty, _ = REFERENCE_SETTINGS[name]
    config.parse_gin([repo_path(f"gin_configs/{name}.gin")], [])
    assert gin.query_parameter("train.steps") == steps
    assert gin.query_parameter("train.batch_size") == 64
    assert query("RobustGAN.d_steps", 1) == d_steps
    assert query("RobustGAN.generator_batch_multiplier", 1) == multiplier
    assert gin.query_parameter("RobustGAN.loss").selector.endswith(loss)
    bound_penalty = query("RobustGAN.penalty")
    assert (bound_penalty.selector if bound_penalty else None) == penalty
    source, split = SOURCES[name.split("/")[0]]
    assert gin.query_parameter("dataset.source") == source
    assert query("dataset.split", "train") == split


@pytest.mark.parametrize("path", CONFIGS)
def test_learning_rate_decays_to_zero_over_each_optimizers_updates(path):
    # A Keras schedule counts its own optimizer's updates: the discriminator's optimizer updates
    # d_steps times per generator iteration, so its linear decay spans steps * d_steps updates.
    config.parse_gin([repo_path(path)], [])
    steps = gin.query_parameter("train.steps")
    d_steps = query("RobustGAN.d_steps", 1)
    decayed = []
    for scope, updates in (("generator", steps), ("discriminator", steps * d_steps)):
        rate = gin.query_parameter(f"{scope}/keras.optimizers.Adam.learning_rate")
        if not isinstance(rate, gin.config.ConfigurableReference):
            continue
        schedule = f"{scope}/keras.optimizers.schedules.PolynomialDecay"
        assert rate.scoped_selector == schedule and rate.evaluate, rate
        assert gin.query_parameter(f"{schedule}.decay_steps") == updates
        assert gin.query_parameter(f"{schedule}.end_learning_rate") == 0.0
        assert gin.query_parameter(f"{schedule}.power") == 1.0
        assert gin.query_parameter(f"{schedule}.initial_learning_rate") == 2e-4
        decayed.append(scope)
    assert decayed in ([], ["generator", "discriminator"])
    name = name_of(path)
    if name.split("/")[0] in IMAGE_SIZES:
        assert bool(decayed) == REFERENCE_SETTINGS[name.replace("_rgan", "")][5]


def test_bwgan_binds_one_data_constant_to_loss_and_penalty():
    # CIFAR-10: measured on the 50,000 training images, dequantized (the header's command);
    # STL-10: estimated from published channel statistics (no copy of the data here).
    for data_set, norm in (("cifar10", 27.01), ("stl10", 44.0)):
        config.parse_gin([repo_path(f"gin_configs/{data_set}/bwgan.gin")], [])
        assert query("banach_wasserstein_loss.gamma") == norm
        assert query("bwgan_penalty.gamma") == norm
        assert query("bwgan_penalty.weight") == norm
        assert (gin.query_parameter("bwgan_penalty.p"), gin.query_parameter("bwgan_penalty.s"),
                gin.query_parameter("bwgan_penalty.c")) == (2.0, 0.0, 5.0)


def test_bwgan_critic_starts_with_a_fan_in_convolution():
    for data_set in ("cifar10", "stl10"):
        config.parse_gin([repo_path(f"gin_configs/{data_set}/bwgan_rgan.gin")], [])
        assert gin.query_parameter(
            "wgan_gp_resnet_discriminator.first_initializer") == "he_uniform"


# Baselines whose reference dequantizes its 8-bit images (x / 128 - 1 + U(0, 1/128)):
# gan_cifar_resnet.py lines 194-195, sngan_projection datasets/cifar10.py lines 20-21,
# adler-j/tensordata cifar10.py lines 163-164 (BWGAN); on STL-10 as on CIFAR-10. Not: gan_cifar.py
# (WGAN-GP CNN and DCGAN, line 92), chainer-gan-lib's loader (SN-DCGAN), gan_64x64.py, carpedm20.
DEQUANTIZED = {"cifar10/wgan_gp_resnet", "cifar10/sngan_resnet", "cifar10/sngan_cond",
               "cifar10/bwgan", "stl10/wgan_gp_resnet", "stl10/sngan_resnet", "stl10/bwgan"}


@pytest.mark.parametrize("path", CONFIGS)
def test_data_is_dequantized_where_the_reference_dequantizes(path):
    config.parse_gin([repo_path(path)], [])
    expected = name_of(path).replace("_rgan", "") in DEQUANTIZED
    assert query("dataset.dequantize", False) is expected


@pytest.mark.parametrize("data_set,size", [("cifar10", 32), ("stl10", 48)])
def test_papers_dcgan_is_gan_cifars_dcgan_mode(data_set, size):
    # gan_cifar.py MODE='dcgan': the WGAN-GP CNN (DIM 128, z 128) with a batch-norm critic,
    # sigmoid cross-entropy with the critic's cost halved, Adam(2e-4, 0.5), one critic step.
    config.parse_gin([repo_path(f"gin_configs/{data_set}/dcgan_rgan.gin")], [])
    assert gin.query_parameter("build_model.build_generator").selector == "wgan_gp_cnn_generator"
    assert gin.query_parameter(
        "build_model.build_discriminator").selector == "wgan_gp_cnn_discriminator"
    for name in ("wgan_gp_cnn_generator", "wgan_gp_cnn_discriminator"):
        assert gin.query_parameter(f"{name}.image_size") == size
        assert gin.query_parameter(f"{name}.dim") == 128
    assert gin.query_parameter("wgan_gp_cnn_generator.latent_dim") == 128
    assert gin.query_parameter("wgan_gp_cnn_discriminator.normalization") == "batch"
    assert gin.query_parameter("non_saturating_loss.discriminator_scale") == 0.5
    assert query("RobustGAN.penalty") is None and query("RobustGAN.d_steps", 1) == 1
    for scope in ("generator", "discriminator"):
        assert gin.query_parameter(f"{scope}/keras.optimizers.Adam.learning_rate") == 2e-4
        assert gin.query_parameter(f"{scope}/keras.optimizers.Adam.beta_1") == 0.5
        assert query(f"{scope}/keras.optimizers.Adam.beta_2") is None  # Keras' and TF1's 0.999


def test_conditional_sngan_binds_ten_classes_everywhere():
    config.parse_gin([repo_path("gin_configs/cifar10/sngan_cond_rgan.gin")], [])
    for name in ("RobustGAN", "sngan_resnet_generator", "sngan_resnet_discriminator"):
        assert query(f"{name}.num_classes") == 10


def test_celeba_wgan_gp_uses_a_layer_norm_critic():
    config.parse_gin([repo_path("gin_configs/celeba/wgan_gp.gin")], [])
    assert gin.query_parameter("dcgan_discriminator.normalization") == "layer"
    assert gin.query_parameter("dcgan_generator.latent_dim") == 128
    assert gin.query_parameter("discriminator/keras.optimizers.Adam.beta_1") == 0.0


def test_wgan_gp_matches_its_reference_settings():
    config.parse_gin([repo_path("gin_configs/cifar10/wgan_gp.gin")], [])
    assert gin.query_parameter("RobustGAN.d_steps") == 5
    assert gin.query_parameter("gradient_penalty.weight") == 10.0
    assert gin.query_parameter("generator/keras.optimizers.Adam.learning_rate") == 1e-4
    assert gin.query_parameter("discriminator/keras.optimizers.Adam.beta_2") == 0.9


@pytest.mark.parametrize("path", CONFIGS)
def test_sampling_and_weight_average_follow_the_reference(path):
    # Gulrajani et al.'s tflib batch norm uses batch statistics also for samples (all WGAN-GP
    # configs, and the paper's DCGAN on CIFAR-10 and STL-10, their gan_cifar.py in DCGAN mode);
    # adler-j/bwgan evaluates a 0.99 moving average of the weights, with moving statistics; the
    # other references sample with moving statistics and no average.
    config.parse_gin([repo_path(path)], [])
    data_set, family = name_of(path).split("/")
    family = family.replace("_rgan", "")
    batch_stats = family in ("wgan_gp", "wgan_gp_resnet") or (
        family == "dcgan" and data_set in ("cifar10", "stl10"))
    assert query("RobustGAN.sampling", "moving_average") == (
        "batch_stats" if batch_stats else "moving_average")
    assert query("RobustGAN.ema_decay") == (0.99 if family == "bwgan" else None)


def test_unknown_parameter_is_an_error():
    with pytest.raises(ValueError, match="no_such_parameter"):
        config.parse_gin([repo_path("gin_configs/digits/dcgan.gin")],
                         ["train.no_such_parameter = 3"])


def test_missing_config_file_is_an_error():
    with pytest.raises(FileNotFoundError, match="not_there.gin"):
        config.parse_gin(["gin_configs/not_there.gin"], [])


# Small enough to run every config's real architecture on two CPU cores: a real batch of 2 per
# critic update; no XLA (compiling would dominate); no intermediate sample grid.
SMOKE_BINDINGS = ["train.steps = 2", "train.batch_size = 2", "train.checkpoint_every = 2",
                  "train.sample_every = 0", "train.verbose = 0",
                  "build_model.jit_compile = False"]


@pytest.fixture
def without_graph_optimizer():
    """Turns Grappler off for the test: two steps never repay its graph rewrites (a quarter of
    the time of a traced robust ResNet step here); the previous options come back after."""
    import tensorflow as tf
    previous = tf.config.optimizer.get_experimental_options()
    tf.config.optimizer.set_experimental_options({"disable_meta_optimizer": True})
    yield
    tf.config.optimizer.set_experimental_options(
        {"disable_meta_optimizer": previous.get("disable_meta_optimizer", False)})


def test_conditional_config_trains_on_labelled_data_through_the_launcher(
        tmp_path, without_graph_optimizer):
    # The shipped conditional config, narrowed to the bundled digits (10 classes, labelled) and
    # one critic step so it runs in seconds: train() must ask the data set for labels
    # (RobustGAN.num_classes is set), the robust step must take them, and the sample grid (labels
    # cycling through the classes, RobustGAN.sample) must be written. (The slow test below runs
    # the config at full size on mock CIFAR-10.)
    bindings = SMOKE_BINDINGS + [
        "dataset.source = 'digits'", "dataset.image_size = 32", "RobustGAN.d_steps = 1",
        "dataset.dequantize = False",  # the config's CIFAR-10 dequantization: not for digits
        "sngan_resnet_generator.channels = 1", "sngan_resnet_discriminator.channels = 1",
        "sngan_resnet_generator.ch = 8", "sngan_resnet_discriminator.ch = 8"]
    model_dir = str(tmp_path / "run")
    model = config.run_training([repo_path("gin_configs/cifar10/sngan_cond_rgan.gin")],
                                bindings, model_dir)
    assert model.num_classes == 10 and model.robust == "both"
    assert int(model.d_optimizer.iterations.numpy()) == 2
    assert os.path.isfile(os.path.join(model_dir, "samples", "latest.png"))
    z = keras.random.normal([2, model.latent_dim], seed=0)
    one = model.generate(z, keras.ops.convert_to_tensor([3, 3], "int32"))
    other = model.generate(z, keras.ops.convert_to_tensor([4, 7], "int32"))
    assert float(keras.ops.max(keras.ops.abs(one - other))) > 1e-6  # class embeddings trained
    keras.backend.clear_session()


# Robust configs only: each includes its baseline config and adds only RobustGAN bindings
# (test_robust_config_adds_only_robust_settings), so training it builds and runs all that the
# baseline binds, with the robust step on top; the baselines' own step (robust='off') is the plain
# GAN step of test_robust_gan.py. Of STL-10, the two CNN configs train (STL-10's data path at 48
# px); its ResNet, WGAN-GP and BWGAN configs are their CIFAR-10 configs at 48 px, whose players
# test_zoo.py builds. This keeps the slow suite inside CI's hour.
STL10_UNTRAINED = ("bwgan", "sngan_resnet", "wgan_gp", "wgan_gp_resnet")
TRAINED_CONFIGS = [path for path in ROBUST_CONFIGS if path not in
                   [f"gin_configs/stl10/{family}_rgan.gin" for family in STL10_UNTRAINED]]


@pytest.mark.slow
@pytest.mark.parametrize("path", TRAINED_CONFIGS)
def test_config_trains_two_steps_through_the_launcher(path, tmp_path, without_graph_optimizer):
    import tensorflow_datasets as tfds
    model_dir = str(tmp_path / "run")
    start, cpu = time.perf_counter(), time.process_time()
    keras.backend.clear_session()
    with tfds.testing.mock_data(num_examples=16):
        model = config.run_training([repo_path(path)], SMOKE_BINDINGS, model_dir)
    print(f"{path}: two steps in {time.perf_counter() - start:.1f} s "
          f"({time.process_time() - cpu:.1f} s CPU)")
    assert int(model.g_optimizer.iterations.numpy()) == 2
    assert int(model.d_optimizer.iterations.numpy()) == 2 * model.d_steps
    assert model.robust == ("both" if path.endswith("_rgan.gin") else "off")
    assert (model.num_classes == 10) == ("sngan_cond" in path)
    for name in ("operative_config.gin", os.path.join("samples", "latest.png")):
        assert os.path.isfile(os.path.join(model_dir, name)), name
    assert os.listdir(os.path.join(model_dir, "checkpoints"))
    keras.backend.clear_session()
