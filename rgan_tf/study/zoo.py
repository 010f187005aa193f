"""The baseline zoo: every shipped gin config, the paper row it reproduces, and a Markdown table.

`describe(path)` parses one config, builds both players through gin (`training.build_model`) and
returns what the README's table shows for it; `markdown_table` renders rows; `tools/config_table.py`
prints the table for every config (`docs/configs.md` holds its output). Scores are the Robust GAN
paper's (IS / FID, Tables 1-3, from `rgan_tf.study.paper`); a config without a number in its
tables says why.
"""
import collections
import os

import keras
import numpy as np

from rgan_tf import config
from rgan_tf import training
from rgan_tf.study import paper

DATA_SETS = {
    "cifar10": "CIFAR-10 32x32", "stl10": "STL-10 48x48", "celeba": "CelebA 64x64",
    "mnist": "MNIST 28x28", "digits": "digits (8x8, resized)",
}

# Baseline config -> (model, reference implementation).
BASELINES = {
    "cifar10/dcgan": ("DCGAN (WGAN-GP's CNN, batch-norm critic)",
                      "improved_wgan_training gan_cifar.py, MODE='dcgan'"),
    "cifar10/wgan_gp": ("WGAN-GP CNN", "improved_wgan_training gan_cifar.py"),
    "cifar10/wgan_gp_resnet": ("WGAN-GP ResNet", "improved_wgan_training gan_cifar_resnet.py"),
    "cifar10/sngan": ("SN-DCGAN (SNGAN CNN), the SNGAN paper's variant",
                      "chainer-gan-lib (stdgan, sndcgan); slope 0.1, z ~ N(0, I): SNGAN paper"),
    "cifar10/sngan_resnet": ("SNGAN ResNet", "sngan_projection sn_cifar10_unconditional.yml"),
    "cifar10/bwgan": ("BWGAN", "adler-j/bwgan cifar10_sobolev.py"),
    "cifar10/sngan_cond": ("SNGAN ResNet, projection, 10 classes",
                           "sngan_projection sn_cifar10_conditional.yml"),
    "stl10/dcgan": ("DCGAN (WGAN-GP's CNN, batch-norm critic)",
                    "improved_wgan_training gan_cifar.py, MODE='dcgan'"),
    "stl10/wgan_gp": ("WGAN-GP CNN", "improved_wgan_training gan_cifar.py"),
    "stl10/wgan_gp_resnet": ("WGAN-GP ResNet", "improved_wgan_training gan_cifar_resnet.py"),
    "stl10/sngan": ("SN-DCGAN (SNGAN CNN), the SNGAN paper's variant",
                    "chainer-gan-lib (stdgan, sndcgan); slope 0.1, z ~ N(0, I): SNGAN paper"),
    "stl10/sngan_resnet": ("SNGAN ResNet (48x48 layout)", "SNGAN paper Table 5; compare_gan"),
    "stl10/bwgan": ("BWGAN", "adler-j/bwgan cifar10_sobolev.py"),
    "celeba/dcgan": ("DCGAN", "carpedm20/DCGAN-tensorflow model.py"),
    "celeba/wgan_gp": ("WGAN-GP (DCGAN-64 layers, layer-norm critic)",
                       "improved_wgan_training gan_64x64.py"),
    "mnist/dcgan": ("DCGAN (carpedm20's layers, 7x7 base)",
                    "none: Radford et al.'s layer rules (not carpedm20's MNIST model)"),
    "digits/dcgan": ("DCGAN (carpedm20's layers, 4x4 base, width 16), 32x32",
                     "none: Radford et al.'s layer rules (not carpedm20's 32x32 network)"),
    "digits/dcgan16": ("DCGAN (carpedm20's layers, 4x4 base, width 16), 16x16",
                       "none: Radford et al.'s layer rules (not carpedm20's 32x32 network)"),
}

# Config -> (the paper's row, IS, FID; the numbers from rgan_tf.study.paper); "-" where the
# paper gives no such number.
PaperRow = collections.namedtuple("PaperRow", ["row", "inception_score", "fid"])
_NOT_IN_TABLES = PaperRow("not in the paper's tables", "-", "-")
PAPER_ROWS = {
    "cifar10/dcgan": PaperRow(
        f"Table 1 DCGAN (Table 3 baseline: IS {paper.TABLE3['dcgan']['off']})",
        *paper.TABLE1[("dcgan", "cifar10")]),
    "cifar10/dcgan_rgan": PaperRow("Table 3 DCGAN, both robust", paper.TABLE3["dcgan"]["both"],
                                   "-"),
    "cifar10/wgan_gp": PaperRow("Table 3 WGAN-GP baseline", paper.TABLE3["wgan_gp"]["off"], "-"),
    "cifar10/wgan_gp_rgan": PaperRow("Table 3 WGAN-GP, both robust",
                                     paper.TABLE3["wgan_gp"]["both"], "-"),
    "cifar10/wgan_gp_resnet": PaperRow("Table 1 WGAN-GP-res; Table 3 baseline",
                                       *paper.TABLE1[("wgan_gp_res", "cifar10")]),
    "cifar10/wgan_gp_resnet_rgan": PaperRow("Table 1 RGAN (WGAN-GP-res); Table 3 both robust",
                                            *paper.TABLE1[("rgan_wgan_gp_res", "cifar10")]),
    "cifar10/sngan": PaperRow("not in the paper's tables (SNGAN paper, standard CNN: IS 7.42, "
                              "FID 29.3)", "-", "-"),
    "cifar10/sngan_rgan": _NOT_IN_TABLES,
    "cifar10/sngan_resnet": PaperRow("Table 1 SNGAN", *paper.TABLE1[("sngan", "cifar10")]),
    "cifar10/sngan_resnet_rgan": _NOT_IN_TABLES,
    "cifar10/bwgan": PaperRow("Table 1 BWGAN; Table 3 baseline",
                              *paper.TABLE1[("bwgan", "cifar10")]),
    "cifar10/bwgan_rgan": PaperRow("Table 3 BWGAN, both robust", paper.TABLE3["bwgan"]["both"],
                                   "-"),
    "cifar10/sngan_cond": PaperRow("Table 2 SNGAN (conditional)", *paper.TABLE2["sngan_cond"]),
    "cifar10/sngan_cond_rgan": PaperRow("Table 2 RGAN (SNGAN)", *paper.TABLE2["rgan_sngan_cond"]),
    "stl10/dcgan": PaperRow("Table 1 DCGAN, STL-10", *paper.TABLE1[("dcgan", "stl10")]),
    "stl10/dcgan_rgan": _NOT_IN_TABLES,
    "stl10/wgan_gp": _NOT_IN_TABLES,
    "stl10/wgan_gp_rgan": _NOT_IN_TABLES,
    "stl10/wgan_gp_resnet": PaperRow("Table 1 WGAN-GP-res, STL-10",
                                     *paper.TABLE1[("wgan_gp_res", "stl10")]),
    "stl10/wgan_gp_resnet_rgan": PaperRow("Table 1 RGAN (WGAN-GP-res), STL-10",
                                          *paper.TABLE1[("rgan_wgan_gp_res", "stl10")]),
    "stl10/sngan": PaperRow("not in the paper's tables (SNGAN paper, standard CNN: IS 8.28, "
                            "FID 53.1)", "-", "-"),
    "stl10/sngan_rgan": _NOT_IN_TABLES,
    "stl10/sngan_resnet": PaperRow("Table 1 SNGAN, STL-10", *paper.TABLE1[("sngan", "stl10")]),
    "stl10/sngan_resnet_rgan": _NOT_IN_TABLES,
    "stl10/bwgan": PaperRow("not reported (did not converge on STL-10, footnote 3)", "-", "-"),
    "stl10/bwgan_rgan": PaperRow("not reported (did not converge on STL-10, footnote 3)", "-",
                                 "-"),
    "celeba/dcgan": PaperRow("Figure 6 samples only", "-", "-"),
    "celeba/dcgan_rgan": PaperRow("Figure 6 samples only", "-", "-"),
    "celeba/wgan_gp": PaperRow("Figure 6 samples only", "-", "-"),
    "celeba/wgan_gp_rgan": PaperRow("Figure 6 samples only", "-", "-"),
    "mnist/dcgan": PaperRow("not a paper data set", "-", "-"),
    "mnist/dcgan_rgan": PaperRow("not a paper data set", "-", "-"),
    "digits/dcgan": PaperRow("not a paper data set (the digits study's network)", "-", "-"),
    "digits/dcgan_rgan": PaperRow("not a paper data set (the digits study's network)", "-",
                                  "-"),
    "digits/dcgan16": PaperRow("not a paper data set (offline default)", "-", "-"),
    "digits/dcgan16_rgan": PaperRow("not a paper data set (offline default)", "-", "-"),
}

Row = collections.namedtuple("Row", [
    "config", "data_set", "model", "robust", "reference", "generator_params",
    "discriminator_params", "paper_row", "inception_score", "fid"])


def shipped_configs():
    """Names `<data set>/<config>` of every gin file directly under `gin_configs/<data set>/`
    (the study's own families under `gin_configs/study/<scale>/` are not baselines): data sets
    and baselines in the order of `DATA_SETS` and `BASELINES` (unknown ones last, by name), each
    robust config right after its baseline."""
    prefix = config.CONFIG_DIR + "/"
    names = [os.path.splitext(path[len(prefix):])[0]
             for path in config.shipped_configs("*/*.gin")]
    data_sets, baselines = list(DATA_SETS), list(BASELINES)

    def order(name):
        data_set, baseline = name.split("/")[0], baseline_name(name)
        return (data_sets.index(data_set) if data_set in data_sets else len(data_sets),
                baselines.index(baseline) if baseline in baselines else len(baselines),
                baseline, name != baseline)

    return sorted(names, key=order)


def baseline_name(name):
    """`cifar10/dcgan_rgan` -> `cifar10/dcgan`; a baseline is its own baseline."""
    return name[:-len("_rgan")] if name.endswith("_rgan") else name


def trainable_count(model):
    """Number of trainable parameters (batch-norm statistics and SN vectors are not)."""
    return int(sum(np.prod(weight.shape) for weight in model.trainable_weights))


def describe(name):
    """Parses config `name` (`<data set>/<config>`), builds its players and returns its `Row`.

    Raises:
      ValueError: `name` is not a shipped config or has no entry in the tables above.
    """
    try:
        path = config.find_config(f"{config.CONFIG_DIR}/{name}.gin")
    except FileNotFoundError:
        raise ValueError(f"No gin config {name!r} under {config.CONFIG_DIR}/ (known: "
                         f"{', '.join(shipped_configs())}).") from None
    baseline = baseline_name(name)
    if baseline not in BASELINES or name not in PAPER_ROWS:
        raise ValueError(f"{name} has no entry in rgan_tf.study.zoo.BASELINES / PAPER_ROWS; add "
                         "one.")
    config.parse_gin([path], ["build_model.jit_compile = False"])
    keras.backend.clear_session()
    model = training.build_model()
    robust = model.robust
    generator, discriminator = (trainable_count(model.generator),
                                trainable_count(model.discriminator))
    del model
    keras.backend.clear_session()
    model_name, reference = BASELINES[baseline]
    row = PAPER_ROWS[name]
    return Row(name, DATA_SETS[name.split("/")[0]], model_name,
               "no" if robust == "off" else robust, reference, generator, discriminator,
               row.row, row.inception_score, row.fid)


def markdown_table(rows):
    """A Markdown table of `Row`s, one line per config; parameter counts are exact."""
    lines = ["| Config | Data set | Baseline | Robust | Reference | G params | D params | "
             "Paper row | IS | FID |",
             "| --- | --- | --- | --- | --- | ---: | ---: | --- | ---: | ---: |"]
    for row in rows:
        lines.append(
            f"| `{row.config}` | {row.data_set} | {row.model} | {row.robust} | {row.reference} "
            f"| {row.generator_params:,} | {row.discriminator_params:,} | {row.paper_row} "
            f"| {row.inception_score} | {row.fid} |")
    return "\n".join(lines) + "\n"
