"""rgan_tf: Robust GAN (RGAN) training for Keras 3 / TensorFlow.

`RobustGAN` is a `keras.Model` whose `fit` runs Algorithm 1 of the Robust GAN paper; the loss
families, penalties and perturbation directions it uses are pure functions in `losses`,
`penalties` and `perturbations`; `data.dataset` reads the supported data sources.
"""
from rgan_tf import data
from rgan_tf import losses
from rgan_tf import penalties
from rgan_tf import perturbations
from rgan_tf.robust_gan import RobustGAN

__all__ = ["RobustGAN", "data", "losses", "penalties", "perturbations"]
__version__ = "0.1.0"
