"""The Robust GAN paper's numbers, kept once: Tables 1 to 3 as the paper prints them, and the
robust settings it reports.

Every other place that shows a paper number (the study's tables, `rgan_tf.study.zoo`'s config
table, hence the README and `docs/configs.md`) reads it from here; `tests/test_paper.py` checks
these values against the paper's text. Values are the printed strings ("21.70", "19.2"), so the
precision the paper gives is kept; `score` turns one into a float.
"""
import math

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

#: How the study's tables name the paper's rows.
VARIANT_NAMES = {"off": "baseline", "random": "+random noise", "generator": "G only",
                 "discriminator": "D only", "both": "both (RGAN)"}
FAMILY_NAMES = {"dcgan": "DCGAN", "wgan_gp": "WGAN-GP", "wgan_gp_res": "WGAN-GP ResNet",
                "bwgan": "BWGAN", "sngan": "SNGAN", "sngan_cond": "SNGAN (conditional)"}

# The robust settings the paper reports ("Hyperparameters"): lambda 0.1, eps_z 0.01 (z of dim
# 128), eps_x 4 on CIFAR-10's 32x32x3 images in [-1, 1], kept on STL-10 ("the training settings
# keep the same as those for CIFAR-10").
LAM, EPS_Z, EPS_X = 0.1, 0.01, 4.0


def score(printed):
    """A printed number as a float (None stays None)."""
    return None if printed is None else float(printed)


def scaled_eps_x(image_size, channels):
    """The paper's eps_x = 4 (32x32x3) at the same per-pixel RMS for another image shape (the
    rule of the digits configs, 2.3 on 32x32x1 and 1.2 on 16x16x1, and of the CelebA configs, 8
    on 64x64x3)."""
    return round(EPS_X * math.sqrt(image_size * image_size * channels / 3072.0), 1)
