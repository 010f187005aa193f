"""gin for the whole package: every configurable registered, configs found by name, parsed
strictly.

Importing this module imports every module that registers gin configurables (architectures,
losses, penalties, `RobustGAN`, the data set, the `train` entry, `MetricsCallback`), so any config
can name them.

Configs are found through gin's own search path, never by changing the working directory. A
config file given to `parse_gin` is taken as it is when it exists, else looked up as a shipped
name (`gin_configs/cifar10/dcgan.gin`) under `config_roots()`, the folders that hold the shipped
`gin_configs/`: the installed package (`pip install .` copies them into `rgan_tf/gin_configs/`)
and, in a source checkout, the checkout's root. A config's `include` lines resolve against the
same roots first, then against the working directory.

This module and `rgan_tf.training` (which saves the operative config with a run) are the only ones
that read or change gin's global config.
"""
import glob
import os

import gin

from rgan_tf import architectures  # noqa: F401  (registers the builders)
from rgan_tf import configurables  # noqa: F401  (registers Keras optimizers)
from rgan_tf import data  # noqa: F401  (registers `dataset`)
from rgan_tf import losses  # noqa: F401
from rgan_tf import penalties  # noqa: F401
from rgan_tf import robust_gan  # noqa: F401
from rgan_tf import training
from rgan_tf.run import metrics_callback  # noqa: F401  (registers `MetricsCallback`)

#: The folder of the shipped configs; their names start with it (`gin_configs/digits/...`).
CONFIG_DIR = "gin_configs"
#: The job `tools/train.py` runs without `--gin_file`.
DEFAULT_CONFIG = f"{CONFIG_DIR}/digits/dcgan16_rgan.gin"

_PACKAGE_DIR = os.path.dirname(os.path.abspath(__file__))
_SEARCH_PATHS_ADDED = set()


def config_roots():
    """The folders holding the shipped `gin_configs/`: the installed package's own copy, and the
    source checkout's root when the package runs from one."""
    candidates = (_PACKAGE_DIR, os.path.dirname(_PACKAGE_DIR))
    return [folder for folder in candidates if os.path.isdir(os.path.join(folder, CONFIG_DIR))]


def _add_search_paths():
    """Puts `config_roots()` at the front of gin's search path (once per process).

    At the front, not at the end where `gin.add_config_file_search_path` puts them: gin tries its
    paths in order, the working directory first, and for a name not found there its
    package-resource reader looks the name's folder up as a Python package, which fails with a
    TypeError when that folder is a namespace package, e.g. a checkout's `gin_configs/` while the
    checkout is on `sys.path` and the working directory is elsewhere (gin-config 0.5.0,
    `resource_reader._parse_config_path` reads `spec.origin`, None for a namespace package).
    With the roots first, every shipped name is found before that reader runs.
    """
    prefixes = gin.config._LOCATION_PREFIXES  # pylint: disable=protected-access
    for root in reversed(config_roots()):
        if root not in _SEARCH_PATHS_ADDED:
            prefixes.insert(0, root)
            _SEARCH_PATHS_ADDED.add(root)


def find_config(path):
    """The config file `path` names: the file itself, or a shipped config's name
    (`gin_configs/...`) under `config_roots()`.

    Returns:
      An absolute path.

    Raises:
      FileNotFoundError: no such file (the message lists where it was looked for).
    """
    if os.path.isfile(path):
        return os.path.abspath(path)
    places = ["the working directory"]
    if not os.path.isabs(path):
        for root in config_roots():
            candidate = os.path.join(root, path)
            if os.path.isfile(candidate):
                return candidate
            places.append(root)
    raise FileNotFoundError(f"Gin config file not found: {path} (looked in "
                            f"{', '.join(places)}).")


def shipped_configs(pattern="**/*.gin"):
    """Names (`gin_configs/<...>.gin`) of the shipped configs matching `pattern` (under
    `gin_configs/`), sorted; the first root that holds the folder wins."""
    for root in config_roots():
        folder = os.path.join(root, CONFIG_DIR)
        paths = glob.glob(os.path.join(folder, pattern), recursive=True)
        return sorted(os.path.relpath(path, root).replace(os.sep, "/") for path in paths)
    return []


def parse_gin(gin_files, gin_bindings):
    """Parses config files (paths or shipped names) and bindings; an unknown configurable or
    parameter is an error. Replaces the global config.

    Raises:
      FileNotFoundError: a config file does not exist.
      ValueError: gin rejected a file or binding (the message names it).
    """
    gin_files = [find_config(path) for path in gin_files]
    _add_search_paths()
    gin.clear_config()
    try:
        gin.parse_config_files_and_bindings(gin_files, gin_bindings, skip_unknown=False)
    except (ValueError, KeyError, TypeError, SyntaxError, OSError) as error:
        raise ValueError(f"Bad gin config: {error}") from error


def query(name, default=None):
    """The value bound to `name` (e.g. "train.batch_size") in the parsed config, or `default`."""
    try:
        return gin.query_parameter(name)
    except ValueError:
        return default


def default_model_dir(gin_files):
    """runs/<data set>_<config>, from the last gin file's folder and name."""
    last = os.path.abspath(gin_files[-1])
    name = os.path.splitext(os.path.basename(last))[0]
    return os.path.join("runs", f"{os.path.basename(os.path.dirname(last))}_{name}")


def run_training(gin_files, gin_bindings, model_dir):
    """Parses the configs and trains into `model_dir` (`rgan_tf.training.train`)."""
    parse_gin(gin_files, gin_bindings)
    return training.train(model_dir)
