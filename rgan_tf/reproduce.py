"""The reproduction kit: every run an experiment of the Robust GAN paper needs, trained, evaluated
and summarised beside the paper's numbers (`tools/reproduce.py` is its launcher).

An experiment (`table1`, `table2`, `table3`, `fig2` ... `fig6`) is a list of `Run`s: one
(baseline family, data set, variant, seed), each trained in its own folder
`<output_dir>/runs/<name>` by `rgan_tf.launch.run_training` from gin files plus bindings.
Experiments share runs where they can (fig3 and fig5 read table3's folders). A run is

  * skipped when finished: its `done.json` (the record written after its evaluation) exists;
  * resumed when interrupted: training restarts from the folder's latest checkpoint
    (`rgan_tf.training.train`), the evaluation is redone.

Scales:
  * `paper`: the shipped gin configs as they are (the paper's steps), Inception, 50k samples.
  * `small`: every family mapped onto the offline `digits` source at 32x32x1, shrunk by gin
    bindings (width), a few hundred to a thousand steps, a few thousand samples, a domain
    classifier (run time not measured for every family; see docs/study/README.md for the runs
    that were made).
  * `tiny`: a handful of steps and ~100 samples (CI and the tests).

Outputs in `<output_dir>`: `<experiment>.md` and `<experiment>.csv` (mean and 95% t-interval over
seeds, the paper's number beside it) and figures `<experiment>*.png`.
"""
import collections
import csv
import dataclasses
import json
import math
import os
import shlex
import sys

import numpy as np

from rgan_tf import paper

EXPERIMENTS = ("table1", "table2", "table3", "fig2", "fig3", "fig4", "fig5", "fig6")
SCALES = ("paper", "small", "tiny")
VARIANTS = paper.TABLE3_VARIANTS
VARIANT_NAMES = {"off": "baseline", "random": "+random noise", "generator": "G only",
                 "discriminator": "D only", "both": "both (RGAN)"}
DONE_FILE = "done.json"
DRY_RUN_OUTPUT_DIR = "OUTPUT_DIR"  # the folder a dry run without an output folder names
SMALL_SOURCE = "digits"

# ------------------------------------------------------------------------------------------------
# The paper's numbers (kept once, in rgan_tf.paper), as floats. IS / FID.

PAPER_TABLE1 = {key: tuple(map(paper.score, value)) for key, value in paper.TABLE1.items()}
PAPER_TABLE2 = {key: tuple(map(paper.score, value)) for key, value in paper.TABLE2.items()}
PAPER_TABLE3 = {family: {variant: paper.score(value) for variant, value in scores.items()}
                for family, scores in paper.TABLE3.items()}
FAMILY_NAMES = {"dcgan": "DCGAN", "wgan_gp": "WGAN-GP", "wgan_gp_res": "WGAN-GP ResNet",
                "bwgan": "BWGAN", "sngan": "SNGAN", "sngan_cond": "SNGAN (conditional)"}

# The paper's robust settings (docs/method.md, "Options"): lambda 0.1, eps_z 0.01,
# eps_x 4 on 32x32x3, kept on STL-10 ("the training settings keep the same as those for
# CIFAR-10"); elsewhere eps_x is scaled to keep its per-pixel RMS (the rule of
# gin_configs/digits/dcgan_rgan.gin, 2.3 on 32x32x1, and of the CelebA configs, 8 on 64x64x3).
PAPER_LAM, PAPER_EPS_Z, PAPER_EPS_X = 0.1, 0.01, 4.0
EPS_Z_SWEEP = (0.001, 0.01, 0.1, 0.5, 1.0, 2.0, 4.0, 10.0)
EPS_X_SWEEP = (0.001, 0.01, 0.1, 0.5, 1.0, 2.0, 4.0, 10.0)


def scaled_eps_x(image_size, channels):
    """The paper's eps_x = 4 (32x32x3) at the same per-pixel RMS for another image shape."""
    return round(PAPER_EPS_X * math.sqrt(image_size * image_size * channels / 3072.0), 1)


# ------------------------------------------------------------------------------------------------
# Scales.


@dataclasses.dataclass(frozen=True)
class Scale:
    """What a scale changes: training length, model size, and the evaluation protocol."""
    name: str
    steps: dict            # family -> generator iterations (None: the config's own)
    width: int             # base width of every small model (None: as shipped)
    num_samples: int       # generated and real samples for IS/FID
    checkpoint_every: int  # None: as shipped
    classifier: str        # default --classifier
    eps_z_sweep: tuple = EPS_Z_SWEEP
    eps_x_sweep: tuple = EPS_X_SWEEP
    eval_batch: int = 100
    extra_bindings: tuple = ()
    worst_case_eps_z: float = 1.0  # radius of the worst-case noise in fig3/fig5

    def steps_for(self, family):
        return self.steps.get(family, self.steps.get("default"))


SCALE_SETTINGS = {
    "paper": Scale("paper", steps={}, width=None, num_samples=50000, checkpoint_every=None,
                   classifier="inception"),
    "small": Scale("small", steps={"default": 500}, width=16, num_samples=2000,
                   checkpoint_every=100, classifier=None,
                   eps_z_sweep=(0.01, 0.5, 2.0), eps_x_sweep=(0.5, 2.3, 8.0)),
    "tiny": Scale("tiny", steps={"default": 4}, width=8, num_samples=100, checkpoint_every=2,
                  classifier=None, eps_z_sweep=(0.01, 1.0), eps_x_sweep=(2.3,), eval_batch=50,
                  extra_bindings=("build_model.jit_compile = False",)),
}


def default_classifier(scale, output_dir):
    """`inception` at paper scale; otherwise a domain classifier inside `output_dir`."""
    settings = SCALE_SETTINGS[scale]
    if settings.classifier:
        return settings.classifier
    return os.path.join(output_dir, "classifier_digits32")


def ensure_classifier(spec, scale, log=print):
    """Trains and saves the digits domain classifier at `spec` if it is a missing folder.

    `inception` and TF-Hub handles pass through (loading them is `metrics`' job)."""
    if spec == "inception" or spec.startswith(("http://", "https://", "gs://")):
        return spec
    if os.path.isdir(spec):
        return spec
    if scale == "paper":
        raise ValueError(f"No classifier at {spec!r}; at paper scale pass --classifier=inception "
                         "or a local copy of TF-GAN's Inception module.")
    from rgan_tf import classifiers
    steps = 600 if scale == "small" else 100
    log(f"Training the digits domain classifier ({steps} steps) into {spec}")
    model, accuracy = classifiers.train_domain_classifier(
        source=SMALL_SOURCE, image_size=32, steps=steps, verbose=0)
    classifiers.export_classifier(model, spec)
    with open(os.path.join(spec, "accuracy.json"), "w") as handle:
        json.dump({"test_accuracy": accuracy, "steps": steps, "source": SMALL_SOURCE,
                   "image_size": 32}, handle)
    log(f"  test accuracy {accuracy:.4f}")
    return spec


# ------------------------------------------------------------------------------------------------
# Runs.


@dataclasses.dataclass(frozen=True)
class Run:
    """One training run: a folder name, gin files and bindings, and what it stands for."""
    name: str
    family: str
    dataset: str
    variant: str
    seed: int
    gin_files: tuple
    bindings: tuple
    source: str            # the real data source the evaluation compares with
    image_size: int
    eps_z: float = None    # set on sweep runs (fig4)
    eps_x: float = None
    keep_all_checkpoints: bool = False

    def command(self, output_dir):
        """The equivalent `tools/train.py` command line."""
        parts = ["python", "tools/train.py"]
        parts += [f"--gin_file={path}" for path in self.gin_files]
        parts += [f"--gin_bindings={binding}" for binding in self.bindings]
        parts.append(f"--model_dir={os.path.join(output_dir, 'runs', self.name)}")
        return " ".join(shlex.quote(part) for part in parts)


# Paper scale: the shipped config of each (family, data set). Robust variants add bindings.
PAPER_CONFIGS = {
    ("dcgan", "cifar10"): "gin_configs/cifar10/dcgan.gin",
    ("dcgan", "stl10"): "gin_configs/stl10/dcgan.gin",
    ("dcgan", "celeba"): "gin_configs/celeba/dcgan.gin",
    ("wgan_gp", "cifar10"): "gin_configs/cifar10/wgan_gp.gin",
    ("wgan_gp_res", "cifar10"): "gin_configs/cifar10/wgan_gp_resnet.gin",
    ("wgan_gp_res", "stl10"): "gin_configs/stl10/wgan_gp_resnet.gin",
    ("bwgan", "cifar10"): "gin_configs/cifar10/bwgan.gin",
    ("sngan", "cifar10"): "gin_configs/cifar10/sngan_resnet.gin",  # Table 1's SNGAN is the ResNet
    ("sngan", "stl10"): "gin_configs/stl10/sngan_resnet.gin",
    ("sngan_cond", "cifar10"): "gin_configs/cifar10/sngan_cond.gin",
}
PAPER_SOURCES = {"cifar10": ("tfds:cifar10", 32, 3), "stl10": ("tfds:stl10", 48, 3),
                 "celeba": ("tfds:celeb_a", 64, 3)}


def _small_family_bindings(family, width):
    """Bindings that turn gin_configs/digits/dcgan.gin into `family` at width `width`."""
    resnet_optimizer = [  # Gulrajani et al.'s ResNet / SNGAN: Adam(2e-4, 0.0, 0.9), 5 critic steps
        "generator/keras.optimizers.Adam.beta_1 = 0.0",
        "generator/keras.optimizers.Adam.beta_2 = 0.9",
        "discriminator/keras.optimizers.Adam.beta_1 = 0.0",
        "discriminator/keras.optimizers.Adam.beta_2 = 0.9",
        "RobustGAN.d_steps = 5",
    ]
    if family == "dcgan":
        return [f"dcgan_generator.width = {width}", f"dcgan_discriminator.width = {width}"]
    if family == "wgan_gp":
        return [
            "build_model.build_generator = @wgan_gp_cnn_generator",
            "build_model.build_discriminator = @wgan_gp_cnn_discriminator",
            "wgan_gp_cnn_generator.latent_dim = 128", f"wgan_gp_cnn_generator.dim = {width}",
            "wgan_gp_cnn_generator.channels = 1",
            f"wgan_gp_cnn_discriminator.dim = {width}", "wgan_gp_cnn_discriminator.channels = 1",
            "RobustGAN.loss = @wasserstein_loss()", "RobustGAN.penalty = @gradient_penalty",
            "gradient_penalty.weight = 10.0", "RobustGAN.d_steps = 5",
            "generator/keras.optimizers.Adam.learning_rate = 1e-4",
            "generator/keras.optimizers.Adam.beta_2 = 0.9",
            "discriminator/keras.optimizers.Adam.learning_rate = 1e-4",
            "discriminator/keras.optimizers.Adam.beta_2 = 0.9",
        ]
    if family in ("wgan_gp_res", "bwgan"):
        bindings = [
            "build_model.build_generator = @wgan_gp_resnet_generator",
            "build_model.build_discriminator = @wgan_gp_resnet_discriminator",
            "wgan_gp_resnet_generator.latent_dim = 128",
            f"wgan_gp_resnet_generator.dim = {width}", "wgan_gp_resnet_generator.channels = 1",
            f"wgan_gp_resnet_discriminator.dim = {width}",
            "wgan_gp_resnet_discriminator.channels = 1",
            "RobustGAN.generator_batch_multiplier = 2",
        ] + resnet_optimizer
        if family == "wgan_gp_res":
            return bindings + ["RobustGAN.loss = @wasserstein_loss()",
                               "RobustGAN.penalty = @gradient_penalty",
                               "gradient_penalty.weight = 10.0"]
        return bindings + ["RobustGAN.loss = @banach_wasserstein_loss()",
                           "RobustGAN.penalty = @bwgan_penalty"]
    if family in ("sngan", "sngan_cond"):
        bindings = [
            "build_model.build_generator = @sngan_resnet_generator",
            "build_model.build_discriminator = @sngan_resnet_discriminator",
            "sngan_resnet_generator.latent_dim = 128", f"sngan_resnet_generator.ch = {width}",
            "sngan_resnet_generator.channels = 1",
            f"sngan_resnet_discriminator.ch = {width}",
            "sngan_resnet_discriminator.channels = 1",
            "RobustGAN.loss = @hinge_loss()",
        ] + resnet_optimizer
        if family == "sngan_cond":
            bindings += ["sngan_resnet_generator.num_classes = 10",
                         "sngan_resnet_discriminator.num_classes = 10",
                         "RobustGAN.num_classes = 10"]
        return bindings
    raise ValueError(f"Unknown family {family!r}.")


def make_run(family, dataset, variant, seed, scale, eps_z=None, eps_x=None,
             keep_all_checkpoints=False):
    """The `Run` of (family, data set, variant, seed) at `scale`.

    At `small`/`tiny` scale every data set maps onto digits 32x32x1 (the folder name keeps the
    paper's data set so that e.g. table1's cifar10 and stl10 rows stay separate runs).
    """
    if variant not in VARIANTS:
        raise ValueError(f"Unknown variant {variant!r}; choose one of {VARIANTS}.")
    settings = SCALE_SETTINGS[scale]
    default_eps_x = (PAPER_EPS_X if scale == "paper" and dataset in ("cifar10", "stl10")
                     else scaled_eps_x(*((32, 1) if scale != "paper"
                                         else PAPER_SOURCES[dataset][1:])))
    # A sweep point at the default radius is the plain run (shared with table3).
    eps_z = None if eps_z is not None and math.isclose(eps_z, PAPER_EPS_Z) else eps_z
    eps_x = None if eps_x is not None and math.isclose(eps_x, default_eps_x) else eps_x
    if scale == "paper":
        key = (family, dataset)
        if key not in PAPER_CONFIGS:
            raise ValueError(f"No paper-scale config for {family} on {dataset}.")
        gin_files = (PAPER_CONFIGS[key],)
        bindings = []
        source, image_size, channels = PAPER_SOURCES[dataset]
    else:
        gin_files = ("gin_configs/digits/dcgan.gin",)
        bindings = _small_family_bindings(family, settings.width)
        source, image_size, channels = SMALL_SOURCE, 32, 1
        bindings.append(f"train.steps = {settings.steps_for(family)}")
        bindings.append(f"train.checkpoint_every = {settings.checkpoint_every}")
        bindings.append(f"train.sample_every = {settings.steps_for(family)}")
    bindings.append(f"train.seed = {seed}")
    bindings.append("train.verbose = 2")
    if keep_all_checkpoints:
        bindings.append("train.keep_checkpoints = 1000")
    bindings.append(f"RobustGAN.robust = '{variant}'")
    if variant != "off":
        bindings.append(f"RobustGAN.lam = {PAPER_LAM}")
        bindings.append(f"RobustGAN.eps_z = {eps_z if eps_z is not None else PAPER_EPS_Z}")
        bindings.append(f"RobustGAN.eps_x = "
                        f"{eps_x if eps_x is not None else default_eps_x}")
    bindings.extend(settings.extra_bindings)
    name = f"{family}_{dataset}_{variant}"
    if eps_z is not None:
        name += f"_epsz{eps_z:g}"
    if eps_x is not None:
        name += f"_epsx{eps_x:g}"
    if keep_all_checkpoints:
        name += "_curve"
    name += f"_s{seed}"
    return Run(name, family, dataset, variant, seed, gin_files, tuple(bindings), source,
               image_size, eps_z, eps_x, keep_all_checkpoints)


TABLE1_ROWS = (("dcgan", "off"), ("sngan", "off"), ("bwgan", "off"), ("wgan_gp_res", "off"),
               ("wgan_gp_res", "both"))
TABLE3_FAMILIES = ("wgan_gp", "wgan_gp_res", "dcgan", "bwgan")


def experiment_runs(experiment, scale, seeds, families=None):
    """Every `Run` that `experiment` needs at `scale` over `seeds`.

    Args:
      experiment: one of `EXPERIMENTS`.
      scale: one of `SCALES`.
      seeds: a sequence of ints.
      families: table1/table3/fig2-fig5 only: restrict to these baseline families (default: all
        of the table's; figures default to DCGAN).
    """
    if experiment not in EXPERIMENTS:
        raise ValueError(f"Unknown experiment {experiment!r}; choose one of {EXPERIMENTS}.")
    if scale not in SCALES:
        raise ValueError(f"Unknown scale {scale!r}; choose one of {SCALES}.")
    if not seeds:
        raise ValueError("Give at least one seed.")
    known = sorted({family for family, _ in TABLE1_ROWS} | set(TABLE3_FAMILIES))
    unknown = [family for family in families or () if family not in known]
    if unknown:
        raise ValueError(f"Unknown famil{'ies' if len(unknown) > 1 else 'y'} "
                         f"{', '.join(unknown)}; choose among {', '.join(known)}.")
    runs = []
    if experiment == "table1":
        for dataset in ("cifar10", "stl10"):
            for family, variant in TABLE1_ROWS:
                if families and family not in families:
                    continue
                if (family, dataset) == ("bwgan", "stl10"):
                    continue  # the paper reports BWGAN on CIFAR-10 only
                runs += [make_run(family, dataset, variant, s, scale) for s in seeds]
    elif experiment == "table2":
        runs = [make_run("sngan_cond", "cifar10", v, s, scale) for v in ("off", "both")
                for s in seeds]
    elif experiment == "table3":
        # Seed-major: an interrupted study has every variant of its first seeds.
        runs = [make_run(family, "cifar10", v, s, scale) for s in seeds
                for family in families or TABLE3_FAMILIES for v in VARIANTS]
    elif experiment == "fig2":
        runs = [make_run(f, "cifar10", v, s, scale, keep_all_checkpoints=True)
                for f in families or ("dcgan",) for v in ("off", "both") for s in seeds]
    elif experiment in ("fig3", "fig5"):
        runs = [make_run(f, "cifar10", v, s, scale) for f in families or ("dcgan",)
                for v in ("off", "both") for s in seeds]
    elif experiment == "fig4":
        runs = list({run.name: run for run, _, _ in
                     fig4_points(scale, seeds, families)}.values())
    elif experiment == "fig6":
        dataset = "celeba" if scale == "paper" else "cifar10"
        runs = [make_run("dcgan", dataset, v, seeds[0], scale) for v in ("off", "both")]
    if not runs:
        raise ValueError(f"No run of {experiment} is of the families {', '.join(families)}.")
    return runs


def fig4_points(scale, seeds, families=None):
    """`(run, swept, value)` of the eps sweeps: `swept` is "eps_z" or "eps_x". The point at the
    default radius is the plain RGAN run, shared by both sweeps (and with table3)."""
    settings = SCALE_SETTINGS[scale]
    points = []
    for family in families or ("dcgan",):
        for seed in seeds:
            points += [(make_run(family, "cifar10", "both", seed, scale, eps_z=e), "eps_z", e)
                       for e in settings.eps_z_sweep]
            points += [(make_run(family, "cifar10", "both", seed, scale, eps_x=e), "eps_x", e)
                       for e in settings.eps_x_sweep]
    return points


# ------------------------------------------------------------------------------------------------
# Evaluation.


def _noise(n, latent_dim, seed, index):
    import tensorflow as tf
    return tf.random.stateless_normal([n, latent_dim], [seed, index])


def worst_case_noise(model, z, eps_z, labels=None):
    """`z + eps_z * r_z`, r_z the per-sample unit L2 direction that raises the generator's loss
    `L_gen(D(G(z)))` most to first order (`rgan_tf.evaluation.worst_case_noise`)."""
    from rgan_tf import evaluation
    return evaluation.worst_case_noise(model, z, eps_z, labels, norm="l2")


def generate_fn(model, seed=12345, worst_case_eps_z=None):
    """`generate_fn(n) -> images` for `metrics.evaluate`: fresh noise each call (counter-based),
    optionally moved to its worst case; conditional models cycle the labels."""
    import tensorflow as tf
    calls = [0]

    def generate(n):
        calls[0] += 1
        z = _noise(n, model.latent_dim, seed, calls[0])
        labels = None
        if model.num_classes is not None:
            labels = tf.range(n, dtype=tf.int32) % model.num_classes
        if worst_case_eps_z:
            z = worst_case_noise(model, z, worst_case_eps_z, labels)
        return model.generate(z, labels)

    return generate


def evaluate_model(model, run, classifier, settings, cache_dir, worst_case_eps_z=None):
    """IS and FID of `model` with `settings.num_samples` generated and real samples (and how
    the images were made: `rgan_tf.evaluation.sampling_fields`)."""
    from rgan_tf import evaluation
    from rgan_tf import metrics
    record = metrics.evaluate(
        generate_fn(model, worst_case_eps_z=worst_case_eps_z), classifier, source=run.source,
        split="train", num_fake=settings.num_samples, num_real=settings.num_samples,
        batch_size=settings.eval_batch, metrics=("is", "fid"), image_size=run.image_size,
        cache_dir=cache_dir, verbose=False)
    record.update(evaluation.sampling_fields(
        model, min(settings.eval_batch, settings.num_samples)))
    return record


def _is_key(record):
    return next(k for k in record if k.startswith("is") and not k.endswith("_std")
                and k != "is_splits")


def _fid_key(record):
    return next(k for k in record if k.startswith("fid"))


def run_folder(output_dir, run):
    return os.path.join(output_dir, "runs", run.name)


def is_done(output_dir, run):
    return os.path.isfile(os.path.join(run_folder(output_dir, run), DONE_FILE))


def read_done(output_dir, run):
    with open(os.path.join(run_folder(output_dir, run), DONE_FILE)) as handle:
        return json.load(handle)


def train_and_evaluate(run, output_dir, scale, classifier, log=print):
    """Trains `run` (resuming from its checkpoints), evaluates it and writes its `done.json`.

    The record holds `is`/`fid` (normal noise), `is_worst`/`fid_worst` (worst-case noise of
    radius `Scale.worst_case_eps_z`) and, for fig2 runs, `curve`: IS at every checkpoint.
    """
    from rgan_tf import checkpoints as checkpoints_lib
    from rgan_tf import export
    from rgan_tf import launch
    from rgan_tf import metrics
    settings = SCALE_SETTINGS[scale]
    folder = run_folder(output_dir, run)
    gin_files = [launch.repo_path(path) for path in run.gin_files]
    missing = [path for path in gin_files if not os.path.isfile(path)]
    if missing:
        raise FileNotFoundError(f"{run.name} needs {missing[0]}, which is not in this checkout.")
    log(f"[train] {run.name}")
    launch.run_training(gin_files, list(run.bindings), folder)
    cache_dir = os.path.join(output_dir, "real_stats")
    log(f"[evaluate] {run.name}")
    model, step = export.load_run(folder, log=lambda message: None)
    normal = evaluate_model(model, run, classifier, settings, cache_dir)
    worst = evaluate_model(model, run, classifier, settings, cache_dir,
                           worst_case_eps_z=settings.worst_case_eps_z)
    record = {"run": run.name, "family": run.family, "dataset": run.dataset,
              "variant": run.variant, "seed": run.seed, "step": int(step), "scale": scale,
              "eps_z": run.eps_z, "eps_x": run.eps_x,
              "is": normal[_is_key(normal)], "fid": normal[_fid_key(normal)],
              "is_worst": worst[_is_key(worst)], "fid_worst": worst[_fid_key(worst)],
              "worst_case_eps_z": settings.worst_case_eps_z,
              "num_samples": settings.num_samples, "classifier": normal["classifier"]}
    if run.keep_all_checkpoints:
        curve = []
        for path in checkpoints_lib.list_checkpoints(os.path.join(folder, "checkpoints")):
            model, step = export.load_run(folder, checkpoint=path, log=lambda message: None)
            result = evaluate_model(model, run, classifier, settings, cache_dir)
            curve.append((int(step), result[_is_key(result)]))
        record["curve"] = sorted(curve)
    metrics.append_jsonl(os.path.join(folder, "metrics.jsonl"), dict(normal, noise="normal"))
    metrics.append_jsonl(os.path.join(folder, "metrics.jsonl"),
                         dict(worst, noise=f"worst_case_eps_z{settings.worst_case_eps_z:g}"))
    temporary = os.path.join(folder, DONE_FILE + ".tmp")
    with open(temporary, "w") as handle:
        json.dump(record, handle, indent=1)
    os.replace(temporary, os.path.join(folder, DONE_FILE))
    return record


# ------------------------------------------------------------------------------------------------
# Summaries.


def mean_interval(values):
    """Mean and half-width of the 95% t-interval (nan half-width for a single value)."""
    values = np.asarray([v for v in values if v is not None and np.isfinite(v)], np.float64)
    if values.size == 0:
        return float("nan"), float("nan")
    if values.size == 1:
        return float(values[0]), float("nan")
    from scipy import stats
    half = stats.t.ppf(0.975, values.size - 1) * values.std(ddof=1) / math.sqrt(values.size)
    return float(values.mean()), float(half)


def _fmt(mean, half, digits=2):
    if not np.isfinite(mean):
        return "-"
    if not np.isfinite(half):
        return f"{mean:.{digits}f}"
    return f"{mean:.{digits}f} ± {half:.{digits}f}"


def _paper(value):
    return "-" if value is None else f"{value:.2f}"


def summarise(experiment, records, scale):
    """Rows `(label fields..., metric means/intervals, paper numbers)` of `experiment`."""
    groups = collections.OrderedDict()
    for record in records:
        if experiment == "table1":
            row = "rgan_" + record["family"] if record["variant"] == "both" else record["family"]
            key = (row, record["dataset"])
        elif experiment == "table2":
            key = ("rgan_" + record["family"] if record["variant"] == "both"
                   else record["family"],)
        elif experiment == "fig4":
            key = (record["family"], record["swept"], record["value"])
        else:
            key = (record["family"], record["variant"])
        groups.setdefault(key, []).append(record)
    rows = []
    for key, group in groups.items():
        row = {"n": len(group)}
        if experiment == "table1":
            row.update(model=key[0], dataset=key[1])
            paper = PAPER_TABLE1.get(key, (None, None))
            row.update(paper_is=paper[0], paper_fid=paper[1])
        elif experiment == "table2":
            row.update(model=key[0])
            paper = PAPER_TABLE2.get(key[0], (None, None))
            row.update(paper_is=paper[0], paper_fid=paper[1])
        elif experiment == "fig4":
            row.update(family=key[0], swept=key[1], value=key[2])
        else:
            row.update(family=key[0], variant=key[1])
            if experiment == "table3":
                row.update(paper_is=PAPER_TABLE3.get(key[0], {}).get(key[1]))
        for metric in ("is", "fid", "is_worst", "fid_worst"):
            row[metric], row[metric + "_ci95"] = mean_interval([r[metric] for r in group])
        rows.append(row)
    return rows


def write_table(experiment, rows, scale, output_dir, note=""):
    """Writes `<experiment>.csv` and `<experiment>.md`; returns their paths."""
    if not rows:
        return []
    label_fields = [k for k in ("model", "dataset", "family", "variant", "swept", "value")
                    if k in rows[0]]
    metric_fields = ["is", "is_ci95", "fid", "fid_ci95", "is_worst", "is_worst_ci95",
                     "fid_worst", "fid_worst_ci95"]
    paper_fields = [k for k in ("paper_is", "paper_fid")
                    if any(row.get(k) is not None for row in rows) or k in rows[0]]
    fields = label_fields + ["n"] + metric_fields + paper_fields
    csv_path = os.path.join(output_dir, f"{experiment}.csv")
    with open(csv_path, "w", newline="") as handle:
        writer = csv.DictWriter(handle, fieldnames=fields, extrasaction="ignore")
        writer.writeheader()
        for row in rows:
            writer.writerow({k: ("" if row.get(k) is None else row.get(k)) for k in fields})

    def label(row, field):
        value = row[field]
        if field == "variant":
            return VARIANT_NAMES.get(value, value)
        if field in ("family",):
            return FAMILY_NAMES.get(value, value)
        if field == "model":
            return (f"RGAN ({FAMILY_NAMES.get(value[5:], value[5:])})"
                    if value.startswith("rgan_") else FAMILY_NAMES.get(value, value))
        return f"{value:g}" if isinstance(value, float) else str(value)

    headers = ([f.replace("_", " ") for f in label_fields] + ["seeds", "IS", "FID",
               "IS (worst-case z)", "FID (worst-case z)"]
               + [{"paper_is": "paper IS", "paper_fid": "paper FID"}[f] for f in paper_fields])
    lines = [f"# {experiment} at scale `{scale}`", ""]
    if note:
        lines += [note, ""]
    lines += ["| " + " | ".join(headers) + " |", "|" + "---|" * len(headers)]
    for row in rows:
        cells = [label(row, f) for f in label_fields] + [str(row["n"])]
        cells += [_fmt(row["is"], row["is_ci95"]), _fmt(row["fid"], row["fid_ci95"], 1),
                  _fmt(row["is_worst"], row["is_worst_ci95"]),
                  _fmt(row["fid_worst"], row["fid_worst_ci95"], 1)]
        cells += [_paper(row.get(f)) for f in paper_fields]
        lines.append("| " + " | ".join(cells) + " |")
    lines += ["", "Mean ± half-width of the 95% t-interval over seeds (one seed: the value "
              "alone). Worst-case z: the noise moved by the first-order worst-case direction "
              "of the generator's loss."]
    md_path = os.path.join(output_dir, f"{experiment}.md")
    with open(md_path, "w") as handle:
        handle.write("\n".join(lines) + "\n")
    return [md_path, csv_path]


def _pyplot():
    import matplotlib
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    return plt


def _save_figure(plt, figure, output_dir, name):
    """Writes `figure` as `output_dir/name` (tight layout, 120 dpi), closes it, returns the path."""
    figure.tight_layout()
    path = os.path.join(output_dir, name)
    figure.savefig(path, dpi=120)
    plt.close(figure)
    return path


def plot_fig2(records, output_dir):
    """IS vs generator iteration, mean over seeds, baseline vs RGAN."""
    plt = _pyplot()
    figure, axis = plt.subplots(figsize=(5, 3.5))
    curves = collections.defaultdict(lambda: collections.defaultdict(list))
    for record in records:
        for step, value in record.get("curve", []):
            curves[(record["family"], record["variant"])][step].append(value)
    for (family, variant), by_step in curves.items():
        steps = sorted(by_step)
        axis.plot(steps, [np.mean(by_step[s]) for s in steps], marker="o",
                  label=f"{FAMILY_NAMES.get(family, family)} {VARIANT_NAMES[variant]}")
    axis.set_xlabel("generator iteration")
    axis.set_ylabel("Inception score")
    axis.legend()
    return [_save_figure(plt, figure, output_dir, "fig2_is_vs_iteration.png")]


def plot_fig3(rows, output_dir):
    """IS on normal vs worst-case noise per variant (bars with 95% intervals)."""
    plt = _pyplot()
    figure, axis = plt.subplots(figsize=(max(4, 1.3 * len(rows)), 3.5))
    x = np.arange(len(rows))
    labels = [f"{FAMILY_NAMES.get(r['family'], r['family'])}\n{VARIANT_NAMES[r['variant']]}"
              for r in rows]
    for offset, metric, name in ((-0.2, "is", "normal z"), (0.2, "is_worst", "worst-case z")):
        errors = [0 if not np.isfinite(r[metric + "_ci95"]) else r[metric + "_ci95"]
                  for r in rows]
        axis.bar(x + offset, [r[metric] for r in rows], 0.4, yerr=errors, capsize=3, label=name)
    axis.set_xticks(x, labels, fontsize=8)
    axis.set_ylabel("Inception score")
    axis.legend()
    return [_save_figure(plt, figure, output_dir, "fig3_worst_case_noise.png")]


def plot_fig4(rows, output_dir):
    """IS vs eps_z and vs eps_x (log x axis), with 95% intervals."""
    plt = _pyplot()
    figure, axes = plt.subplots(1, 2, figsize=(8, 3.2), sharey=True)
    for axis, which, name in ((axes[0], "eps_z", "eps_z (noise)"),
                              (axes[1], "eps_x", "eps_x (images)")):
        part = sorted((r for r in rows if r["swept"] == which), key=lambda r: r["value"])
        if part:
            errors = [0 if not np.isfinite(r["is_ci95"]) else r["is_ci95"] for r in part]
            axis.errorbar([r["value"] for r in part], [r["is"] for r in part], yerr=errors,
                          marker="o", capsize=3)
            axis.set_xscale("log")
            axis.minorticks_off()
            axis.set_xticks([r["value"] for r in part], [f"{r['value']:g}" for r in part])
        axis.set_xlabel(name)
    axes[0].set_ylabel("Inception score")
    return [_save_figure(plt, figure, output_dir, "fig4_eps_sweep.png")]


def plot_fig5(runs, output_dir, classifier, scale, num_points=None):
    """t-SNE of classifier features: real vs generated, normal vs worst-case noise, per run."""
    from sklearn.manifold import TSNE

    from rgan_tf import classifiers as classifiers_lib
    from rgan_tf import data as data_lib
    from rgan_tf import export
    from rgan_tf import metrics
    settings = SCALE_SETTINGS[scale]
    num_points = num_points or min(settings.num_samples, 500)
    classifier = classifiers_lib.load_classifier(classifier)
    plt = _pyplot()
    figure, axes = plt.subplots(1, len(runs), figsize=(4 * len(runs), 4), squeeze=False)
    for axis, run in zip(axes[0], runs):
        model, _ = export.load_run(run_folder(output_dir, run), log=lambda message: None)
        real_batches = data_lib.dataset(source=run.source, batch_size=settings.eval_batch,
                                        image_size=run.image_size, repeat=False,
                                        drop_remainder=False, dequantize=False)
        _, real = metrics.collect_activations(real_batches, classifier, num_points, False)
        sets = {"real": real}
        for name, eps in (("generated, normal z", None),
                          ("generated, worst-case z", settings.worst_case_eps_z)):
            _, sets[name] = metrics.generated_activations(
                generate_fn(model, worst_case_eps_z=eps), num_points, settings.eval_batch,
                classifier, False)
        stacked = np.concatenate(list(sets.values()))
        embedded = TSNE(2, init="pca", perplexity=min(30, len(stacked) // 4),
                        random_state=0).fit_transform(stacked)
        start = 0
        for name, features in sets.items():
            part = embedded[start:start + len(features)]
            axis.scatter(part[:, 0], part[:, 1], s=4, alpha=0.6, label=name)
            start += len(features)
        axis.set_title(f"{FAMILY_NAMES.get(run.family, run.family)} "
                       f"{VARIANT_NAMES[run.variant]}", fontsize=9)
        axis.set_xticks([])
        axis.set_yticks([])
    axes[0][0].legend(fontsize=7, markerscale=3)
    return [_save_figure(plt, figure, output_dir, "fig5_tsne.png")]


def plot_fig6(runs, output_dir):
    """A sample grid per run (fixed noise), `fig6_<variant>.png`."""
    from rgan_tf import export
    from rgan_tf import images as images_lib
    paths = []
    for run in runs:
        model, _ = export.load_run(run_folder(output_dir, run), log=lambda message: None)
        path = os.path.join(output_dir, f"fig6_{run.family}_{run.variant}.png")
        images_lib.save_grid(np.asarray(model.sample(64, seed=1234)), path)
        paths.append(path)
    return paths


# ------------------------------------------------------------------------------------------------
# The entry.


def reproduce(experiment, scale, output_dir, seeds=(0,), classifier=None, dry_run=False,
              families=None, log=print):
    """Runs (or resumes) every run of `experiment`, then writes its table and figures.

    Args:
      experiment: one of `EXPERIMENTS`.
      scale: one of `SCALES`.
      output_dir: where runs (`runs/<name>`), the classifier (small/tiny) and outputs go; a dry
        run may pass None (its commands then name the folder `OUTPUT_DIR`).
      seeds: training seeds.
      classifier: the IS/FID classifier spec; None: `default_classifier(scale, output_dir)`
        (trained there if missing).
      dry_run: only print the runs and their `tools/train.py` commands.
      families: restrict the tables (but table2) and the figures to these baseline families.
      log: where progress lines go.

    Returns:
      A dict: `runs` (names), `trained` (names trained and evaluated by this call), `skipped`
      (names already done), `outputs` (paths written).
    """
    runs = experiment_runs(experiment, scale, list(seeds), families)
    summary = {"runs": [r.name for r in runs], "trained": [], "skipped": [], "outputs": []}
    if dry_run:
        for run in runs:
            state = "done" if output_dir and is_done(output_dir, run) else "to run"
            from rgan_tf import launch
            missing = [p for p in run.gin_files if not os.path.isfile(launch.repo_path(p))]
            if missing:
                state += f"; {missing[0]} is not in this checkout yet"
            log(f"# {run.name} ({state})\n{run.command(output_dir or DRY_RUN_OUTPUT_DIR)}")
        return summary
    if not output_dir:
        raise ValueError("An output folder is needed to run an experiment (--output_dir); only "
                         "a dry run can do without one.")
    os.makedirs(output_dir, exist_ok=True)
    classifier = ensure_classifier(classifier or default_classifier(scale, output_dir), scale,
                                   log)
    records = []
    for run in runs:
        if is_done(output_dir, run):
            summary["skipped"].append(run.name)
            records.append(read_done(output_dir, run))
            log(f"[skip] {run.name} (done)")
            continue
        records.append(train_and_evaluate(run, output_dir, scale, classifier, log))
        summary["trained"].append(run.name)
    if experiment == "fig4":
        by_name = {record["run"]: record for record in records}
        records = [dict(by_name[run.name], swept=which, value=value)
                   for run, which, value in fig4_points(scale, list(seeds), families)]
    count = SCALE_SETTINGS[scale].num_samples
    note = (f"Scale `{scale}`: {count} generated samples per metric against up to {count} real "
            f"images of the `train` split, classifier "
            f"`{os.path.basename(str(classifier).rstrip('/'))}`.")
    if scale != "paper":
        note += (" Every data set is mapped onto the offline `digits` source at 32x32x1, so "
                 "the numbers are not comparable with the paper's (CIFAR-10/STL-10, Inception, "
                 "50k samples); compare the ordering of rows only.")
    rows = summarise(experiment, records, scale)
    outputs = write_table(experiment, rows, scale, output_dir, note)
    if experiment == "fig2":
        outputs += plot_fig2(records, output_dir)
    elif experiment == "fig3":
        outputs += plot_fig3(rows, output_dir)
    elif experiment == "fig4":
        outputs += plot_fig4(rows, output_dir)
    elif experiment == "fig5":
        firsts = [r for r in runs if r.seed == runs[0].seed]
        outputs += plot_fig5(firsts, output_dir, classifier, scale)
    elif experiment == "fig6":
        outputs += plot_fig6(runs, output_dir)
    summary["outputs"] = outputs
    with open(os.path.join(output_dir, f"{experiment}_records.json"), "w") as handle:
        json.dump(records, handle, indent=1)
    return summary
