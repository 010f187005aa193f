"""The Robust GAN paper's reported numbers and hyperparameters, kept here once (the study's tables
and the config table both read them). Source: the paper's Tables 1-3 and its "Hyperparameters"
section, as summarised in `shared/docs/method.md`.

Scores are strings as the paper prints them (`"19.2"` is not `"19.20"`); `score(text)` gives the
float.
"""
import math

VARIANTS = ("off", "random", "generator", "discriminator", "both")
VARIANT_NAMES = {"off": "baseline", "random": "+random noise", "generator": "G only",
                 "discriminator": "D only", "both": "both (RGAN)"}
FAMILY_NAMES = {"dcgan": "DCGAN", "wgan_gp": "WGAN-GP", "wgan_gp_res": "WGAN-GP ResNet",
                "bwgan": "BWGAN", "sngan": "SNGAN", "sngan_cond": "SNGAN (conditional)"}

#: Table 1: unconditional, (IS, FID) per (model, data set).
TABLE1 = {
    ("dcgan", "cifar10"): ("5.77", "42.18"), ("dcgan", "stl10"): ("7.36", "53.23"),
    ("sngan", "cifar10"): ("8.22", "21.70"), ("sngan", "stl10"): ("9.10", "40.10"),
    ("bwgan", "cifar10"): ("8.08", "25.67"),
    ("wgan_gp_res", "cifar10"): ("7.76", "22.19"), ("wgan_gp_res", "stl10"): ("9.06", "42.60"),
    ("rgan_wgan_gp_res", "cifar10"): ("8.25", "19.79"),
    ("rgan_wgan_gp_res", "stl10"): ("9.16", "39.62"),
}
#: Table 2: conditional CIFAR-10, (IS, FID).
TABLE2 = {"sngan_cond": ("8.37", "19.2"), "rgan_sngan_cond": ("8.65", "17.2")}
#: Table 3: ablation IS on CIFAR-10, per family and variant (`VARIANTS`).
TABLE3 = {
    "wgan_gp": dict(zip(VARIANTS, ("5.77", "5.82", "5.89", "5.87", "5.91"))),
    "wgan_gp_res": dict(zip(VARIANTS, ("7.76", "7.75", "7.86", "8.01", "8.25"))),
    "dcgan": dict(zip(VARIANTS, ("5.70", "5.76", "5.80", "6.02", "6.11"))),
    "bwgan": dict(zip(VARIANTS, ("8.08", "8.03", "8.11", "8.23", "8.40"))),
}

# The robust settings the paper reports: lambda 0.1, eps_z 0.01 (z of dim 128), eps_x 4 on
# 32x32x3 images in [-1, 1].
LAM, EPS_Z, EPS_X = 0.1, 0.01, 4.0


def score(text):
    """A printed score as a float (None for None)."""
    return None if text is None else float(text)


def scaled_eps_x(image_size, channels):
    """The paper's eps_x = 4 (32x32x3) at the same per-pixel RMS for another image shape (the
    rule of gin_configs/digits/dcgan_rgan.gin: 2.3 on 32x32x1)."""
    return round(EPS_X * math.sqrt(image_size * image_size * channels / 3072.0), 1)
