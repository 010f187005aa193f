"""What the `tools/` launchers share: parse gin strictly, then hand over to the library."""
import os
import sys

import gin

from rgan_tf import registry  # noqa: F401  (registers every gin configurable)

REPO_ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


def repo_path(relative):
    """A path inside the source checkout (gin configs ship beside the package)."""
    return os.path.join(REPO_ROOT, relative)


def default_model_dir(gin_files):
    """runs/<data set>_<config>, from the last gin file's folder and name."""
    last = os.path.abspath(gin_files[-1])
    name = os.path.splitext(os.path.basename(last))[0]
    return os.path.join("runs", f"{os.path.basename(os.path.dirname(last))}_{name}")


def parse_gin(gin_files, gin_bindings):
    """Parses config files and bindings; an unknown configurable or parameter is an error.

    Raises:
      FileNotFoundError: a config file does not exist.
      ValueError: gin rejected a file or binding (the message names it).
    """
    for path in gin_files:
        if not os.path.isfile(path):
            raise FileNotFoundError(f"Gin config file not found: {path}")
    gin_files = [os.path.abspath(path) for path in gin_files]
    gin.clear_config()
    # Configs include each other as 'gin_configs/...', relative to the repository: parse from
    # there, whatever the caller's working directory.
    caller_directory = os.getcwd()
    os.chdir(REPO_ROOT)
    try:
        gin.parse_config_files_and_bindings(gin_files, gin_bindings, skip_unknown=False)
    except (ValueError, KeyError, TypeError, SyntaxError, OSError) as error:
        raise ValueError(f"Bad gin config: {error}") from error
    finally:
        os.chdir(caller_directory)


def run_training(gin_files, gin_bindings, model_dir):
    """Parses the configs and trains into `model_dir`."""
    from rgan_tf import training
    parse_gin(gin_files, gin_bindings)
    return training.train(model_dir)


def fail(message):
    """Prints one clear error line and exits non-zero (for the launchers)."""
    print(f"error: {message}", file=sys.stderr)
    sys.exit(1)
