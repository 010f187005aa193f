"""The Robust GAN paper's numbers, kept once: Tables 1 to 3 as the paper prints them.

Every other place that shows a paper number (`rgan_tf.reproduce`'s tables, `rgan_tf.zoo`'s config
table, hence the README and `docs/configs.md`) reads it from here; `tests/test_paper.py` checks
these values against the paper's text. Values are the printed strings ("21.70", "19.2"), so the
precision the paper gives is kept; `score` turns one into a float.
"""

#: Table 1 (unconditional): (model, data set) -> (Inception Score, FID). A data set the paper
#: gives no number for is absent (BWGAN on STL-10: footnote 3, it did not converge).
TABLE1 = {
    ("dcgan", "cifar10"): ("5.77", "42.18"), ("dcgan", "stl10"): ("7.36", "53.23"),
    ("sngan", "cifar10"): ("8.22", "21.70"), ("sngan", "stl10"): ("9.10", "40.10"),
    ("bwgan", "cifar10"): ("8.08", "25.67"),
    ("wgan_gp_res", "cifar10"): ("7.76", "22.19"), ("wgan_gp_res", "stl10"): ("9.06", "42.60"),
    ("rgan_wgan_gp_res", "cifar10"): ("8.25", "19.79"),
    ("rgan_wgan_gp_res", "stl10"): ("9.16", "39.62"),
}

#: Table 2 (conditional CIFAR-10): model -> (Inception Score, FID).
TABLE2 = {"sngan_cond": ("8.37", "19.2"), "rgan_sngan_cond": ("8.65", "17.2")}

#: Table 3's columns (the ablation on CIFAR-10), as `RobustGAN.robust` values: baseline, baseline
#: with random noise, robust generator only, robust discriminator only, both.
TABLE3_VARIANTS = ("off", "random", "generator", "discriminator", "both")

#: Table 3: baseline family -> {variant: Inception Score}.
TABLE3 = {
    family: dict(zip(TABLE3_VARIANTS, scores)) for family, scores in {
        "wgan_gp": ("5.77", "5.82", "5.89", "5.87", "5.91"),
        "wgan_gp_res": ("7.76", "7.75", "7.86", "8.01", "8.25"),
        "dcgan": ("5.70", "5.76", "5.80", "6.02", "6.11"),
        "bwgan": ("8.08", "8.03", "8.11", "8.23", "8.40"),
    }.items()
}


def score(printed):
    """A printed number as a float (None stays None)."""
    return None if printed is None else float(printed)
