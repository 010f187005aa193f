"""What the study runs: its scales, and for each experiment of the paper the list of `Run`s.

An experiment (`table1`, `table2`, `table3`, `fig2` ... `fig6`) is a list of `Run`s: one
(baseline family, data set, variant, seed), each trained in its own folder
`<output_dir>/runs/<name>` from gin files plus a few run bindings (length, seed, robust settings).
Experiments share runs where they can (fig3 and fig5 read table3's folders).

Scales:
  * `paper`: the shipped gin configs as they are (the paper's steps), Inception, 50k samples.
  * `small`: every family on the offline `digits` source at 32x32x1, width 16
    (`gin_configs/study/small/<family>.gin`), 500 steps, 2000 samples, a domain classifier (run
    time not measured for every family; see docs/study/README.md for the runs that were made).
  * `tiny`: a handful of steps at width 8 (`gin_configs/study/tiny/width8.gin`) and ~100 samples
    (CI and the tests).
"""
import dataclasses
import math
import os
import shlex

from rgan_tf.study import paper

EXPERIMENTS = ("table1", "table2", "table3", "fig2", "fig3", "fig4", "fig5", "fig6")
SCALES = ("paper", "small", "tiny")
VARIANTS = paper.TABLE3_VARIANTS
SMALL_SOURCE = "digits"
FAMILIES = ("dcgan", "wgan_gp", "wgan_gp_res", "bwgan", "sngan", "sngan_cond")
EPS_SWEEP = (0.001, 0.01, 0.1, 0.5, 1.0, 2.0, 4.0, 10.0)


@dataclasses.dataclass(frozen=True)
class Scale:
    """What a scale changes: training length, model size, and the evaluation protocol."""
    name: str
    steps: dict            # family -> generator iterations (None: the config's own)
    num_samples: int       # generated and real samples for IS/FID
    checkpoint_every: int  # None: as shipped
    classifier: str        # default --classifier
    eps_z_sweep: tuple = EPS_SWEEP
    eps_x_sweep: tuple = EPS_SWEEP
    eval_batch: int = 100
    gin_files: tuple = ()  # added after each family's config (e.g. a smaller width)
    extra_bindings: tuple = ()
    worst_case_eps_z: float = 1.0  # radius of the worst-case noise in fig3/fig5

    def steps_for(self, family):
        return self.steps.get(family, self.steps.get("default"))


SCALE_SETTINGS = {
    "paper": Scale("paper", steps={}, num_samples=50000, checkpoint_every=None,
                   classifier="inception"),
    "small": Scale("small", steps={"default": 500}, num_samples=2000, checkpoint_every=100,
                   classifier=None, eps_z_sweep=(0.01, 0.5, 2.0), eps_x_sweep=(0.5, 2.3, 8.0)),
    "tiny": Scale("tiny", steps={"default": 4}, num_samples=100, checkpoint_every=2,
                  classifier=None, eps_z_sweep=(0.01, 1.0), eps_x_sweep=(2.3,), eval_batch=50,
                  gin_files=("gin_configs/study/tiny/width8.gin",),
                  extra_bindings=("build_model.jit_compile = False",)),
}


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
        return train_command(self, output_dir)


def run_folder(output_dir, run):
    """`<output_dir>/runs/<run name>`."""
    return os.path.join(output_dir, "runs", run.name)


def train_command(run, output_dir):
    """The `tools/train.py` command line of any run with a `name`, `gin_files` and `bindings`."""
    parts = ["python", "tools/train.py"]
    parts += [f"--gin_file={path}" for path in run.gin_files]
    parts += [f"--gin_bindings={binding}" for binding in run.bindings]
    parts.append(f"--model_dir={run_folder(output_dir, run)}")
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


def small_config(family):
    """The gin file of `family` at the small scale: `gin_configs/study/small/<family>.gin`."""
    if family not in FAMILIES:
        raise ValueError(f"Unknown family {family!r}; choose one of {FAMILIES}.")
    return f"gin_configs/study/small/{family}.gin"


def default_eps_x(scale, dataset):
    """The paper's eps_x for the images of `dataset` at `scale`: 4 on CIFAR-10 and STL-10 as the
    paper trains them; elsewhere 4 at the same per-pixel RMS (small/tiny: digits 32x32x1, 2.3;
    CelebA 64x64x3, 8)."""
    if scale == "paper" and dataset in ("cifar10", "stl10"):
        return paper.EPS_X
    return paper.scaled_eps_x(*((32, 1) if scale != "paper" else PAPER_SOURCES[dataset][1:]))


def make_run(family, dataset, variant, seed, scale, eps_z=None, eps_x=None,
             keep_all_checkpoints=False):
    """The `Run` of (family, data set, variant, seed) at `scale`.

    At `small`/`tiny` scale every data set maps onto digits 32x32x1 (the folder name keeps the
    paper's data set so that e.g. table1's cifar10 and stl10 rows stay separate runs).
    """
    if variant not in VARIANTS:
        raise ValueError(f"Unknown variant {variant!r}; choose one of {VARIANTS}.")
    settings = SCALE_SETTINGS[scale]
    # A sweep point at the default radius is the plain run (shared with table3).
    eps_z = None if eps_z is not None and math.isclose(eps_z, paper.EPS_Z) else eps_z
    eps_x = (None if eps_x is not None and math.isclose(eps_x, default_eps_x(scale, dataset))
             else eps_x)
    bindings = []
    if scale == "paper":
        key = (family, dataset)
        if key not in PAPER_CONFIGS:
            raise ValueError(f"No paper-scale config for {family} on {dataset}.")
        gin_files = (PAPER_CONFIGS[key],)
        source, image_size, _ = PAPER_SOURCES[dataset]
    else:
        gin_files = (small_config(family),) + settings.gin_files
        source, image_size = SMALL_SOURCE, 32
        bindings.append(f"train.steps = {settings.steps_for(family)}")
        bindings.append(f"train.checkpoint_every = {settings.checkpoint_every}")
        bindings.append(f"train.sample_every = {settings.steps_for(family)}")
    bindings.append(f"train.seed = {seed}")
    bindings.append("train.verbose = 2")
    if keep_all_checkpoints:
        bindings.append("train.keep_checkpoints = 1000")
    bindings.append(f"RobustGAN.robust = '{variant}'")
    if variant != "off":
        bindings.append(f"RobustGAN.lam = {paper.LAM}")
        bindings.append(f"RobustGAN.eps_z = {eps_z if eps_z is not None else paper.EPS_Z}")
        eps_x_value = eps_x if eps_x is not None else default_eps_x(scale, dataset)
        bindings.append(f"RobustGAN.eps_x = {eps_x_value}")
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
