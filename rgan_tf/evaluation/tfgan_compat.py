"""Imports TF-GAN's evaluation code (`tensorflow_gan.python.eval`) under TensorFlow >= 2.16.

Why this module exists: `import tensorflow_gan` runs the package `__init__`, which imports TF-GAN's
Estimator code, and `tf.estimator` no longer exists in TensorFlow 2.16+ (the import fails with
`AttributeError: module 'tensorflow' has no attribute 'estimator'`). The evaluation maths
(`classifier_score_from_logits`, `frechet_classifier_distance_from_activations`,
`kernel_classifier_distance_from_activations`, ...) needs none of that. So we put empty package
modules for `tensorflow_gan` and `tensorflow_gan.python` into `sys.modules`, with `__path__`
pointing at the installed folders, and import only `tensorflow_gan.python.eval` through them.

Use `tfgan_eval()` (or the module attribute `eval_lib`, resolved lazily) instead of
`tensorflow_gan.eval`. If TF-GAN's real package was importable (old TensorFlow), it is reused.
"""
import importlib
import importlib.machinery
import importlib.util
import os
import sys

_PACKAGES = ("tensorflow_gan", "tensorflow_gan.python")
_EVAL_MODULE = "tensorflow_gan.python.eval"


def _installed_folder(package):
    """The folder of an installed package, found without executing its `__init__`."""
    parent, _, leaf = package.rpartition(".")
    if parent:
        return os.path.join(_installed_folder(parent), leaf)
    module = sys.modules.get(package)
    if module is not None and getattr(module, "__path__", None):
        return list(module.__path__)[0]
    spec = importlib.util.find_spec(package)
    if spec is None or not spec.submodule_search_locations:
        raise ImportError(
            "tensorflow-gan is not installed: `pip install tensorflow-gan` (for IS/FID/KID).")
    return list(spec.submodule_search_locations)[0]


def _register_empty_package(package):
    """Puts an empty module named `package` with the installed `__path__` into `sys.modules`."""
    if package in sys.modules:
        return sys.modules[package]
    folder = _installed_folder(package)
    spec = importlib.machinery.ModuleSpec(package, None, is_package=True)
    spec.submodule_search_locations = [folder]
    module = importlib.util.module_from_spec(spec)
    module.__file__ = os.path.join(folder, "__init__.py")
    # Marks the stub, so that a reader of sys.modules can tell it from TF-GAN's real package.
    module.__rgan_tf_stub__ = True
    sys.modules[package] = module
    parent, _, leaf = package.rpartition(".")
    if parent:
        setattr(sys.modules[parent], leaf, module)
    return module


def tfgan_eval():
    """Returns TF-GAN's `tensorflow_gan.python.eval` module, importing it without Estimator.

    Returns:
      The module: `classifier_score_from_logits`, `frechet_classifier_distance_from_activations`,
      `kernel_classifier_distance_and_std_from_activations`, ... as in `tfgan.eval`.

    Raises:
      ImportError: tensorflow-gan is not installed.
    """
    if _EVAL_MODULE in sys.modules:
        return sys.modules[_EVAL_MODULE]
    for package in _PACKAGES:
        _register_empty_package(package)
    module = importlib.import_module(_EVAL_MODULE)
    setattr(sys.modules["tensorflow_gan.python"], "eval", module)
    return module


def __getattr__(name):
    # `tfgan_compat.eval_lib` imports on first use, so importing rgan_tf stays light.
    if name == "eval_lib":
        return tfgan_eval()
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
