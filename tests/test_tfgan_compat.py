"""tfgan_compat: TF-GAN's eval module imports under TF >= 2.16 without its Estimator code."""
import os
import subprocess
import sys

import numpy as np

from rgan_tf.evaluation import tfgan_compat


def test_imports_eval_module_with_stub_packages():
    eval_lib = tfgan_compat.tfgan_eval()
    assert eval_lib.__name__ == "tensorflow_gan.python.eval"
    assert sys.modules["tensorflow_gan"].__rgan_tf_stub__
    # The stub's path is the installed package folder, so submodules resolve to the real files.
    assert os.path.isfile(os.path.join(sys.modules["tensorflow_gan"].__path__[0], "python",
                                       "eval", "classifier_metrics.py"))
    for name in ("classifier_score_from_logits", "frechet_classifier_distance_from_activations",
                 "kernel_classifier_distance_from_activations"):
        assert callable(getattr(eval_lib, name))


def test_second_call_returns_the_same_module():
    assert tfgan_compat.tfgan_eval() is tfgan_compat.tfgan_eval()
    assert tfgan_compat.eval_lib is tfgan_compat.tfgan_eval()


def test_eval_functions_give_correct_values_eagerly():
    eval_lib = tfgan_compat.tfgan_eval()
    # Confident, uniformly spread predictions over 4 classes: score 4.
    score = float(eval_lib.classifier_score_from_logits(np.eye(4) * 50.0))
    assert abs(score - 4.0) < 1e-6
    # Same covariance, means 1 apart in each of 3 dims: FID = 3.
    rng = np.random.default_rng(0)
    a = rng.normal(size=(200, 3))
    fid = float(eval_lib.frechet_classifier_distance_from_activations(a, a + 1.0))
    assert abs(fid - 3.0) < 1e-6


def test_fresh_process_imports_without_estimator():
    # In a new interpreter, before anything else imported TF-GAN: the package __init__ must not run.
    code = ("from rgan_tf.evaluation import tfgan_compat\n"
            "import tensorflow as tf\n"
            "assert not hasattr(tf, 'estimator')\n"
            "e = tfgan_compat.tfgan_eval()\n"
            "print(float(e.classifier_score_from_logits([[9.0, 0.0], [0.0, 9.0]])) > 1.9)\n")
    env = dict(os.environ, TF_CPP_MIN_LOG_LEVEL="3")
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                            env=env, timeout=120,
                            cwd=os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
    assert result.returncode == 0, result.stderr[-2000:]
    assert result.stdout.strip().endswith("True")
