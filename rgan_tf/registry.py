"""Imports every module that registers gin configurables, so any config can name them."""
from rgan_tf import architectures  # noqa: F401
from rgan_tf import configurables  # noqa: F401
from rgan_tf import data  # noqa: F401
from rgan_tf import evaluation  # noqa: F401
from rgan_tf import losses  # noqa: F401
from rgan_tf import penalties  # noqa: F401
from rgan_tf import robust_gan  # noqa: F401
from rgan_tf import training  # noqa: F401
