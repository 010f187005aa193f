"""rgan_tf: Robust GAN (RGAN) training for Keras 3 / TensorFlow.

`RobustGAN` is a `keras.Model` whose `fit` runs Algorithm 1 of the Robust GAN paper; the loss
families, penalties and perturbation directions it uses are pure functions in `losses`,
`penalties` and `perturbations`; `data.dataset` reads the supported data sources.

Importing rgan_tf before TensorFlow turns TensorFlow's oneDNN CPU kernels on unless the
environment says otherwise (`TF_ENABLE_ONEDNN_OPTS=0`): TensorFlow enables them by default
only on CPUs with AVX512-VNNI/BF16 or AMX, and on this project's AVX2 CPU they cut the CPU
time of the DCGAN players' forward/backward passes by about a third (README, "Speed").
"""
import os

os.environ.setdefault("TF_ENABLE_ONEDNN_OPTS", "1")

from rgan_tf import data  # noqa: E402
from rgan_tf import losses  # noqa: E402
from rgan_tf import penalties  # noqa: E402
from rgan_tf import perturbations  # noqa: E402
from rgan_tf.robust_gan import RobustGAN  # noqa: E402

__all__ = ["RobustGAN", "data", "losses", "penalties", "perturbations"]
__version__ = "0.1.0"
