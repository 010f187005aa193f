"""Installs rgan_tf: robust GAN training (Algorithm 1 of the Robust GAN paper) for Keras 3.

`pip install .` (or `pip install -e .`) installs the package, its console commands (`rgan-train`,
`rgan-evaluate`, ...; the `tools/` scripts run the same code) and the shipped gin configs as
package data (`rgan_tf/gin_configs/...`), so every config is found by its `gin_configs/...` name
from any working directory.
"""
import setuptools

# The console commands: name -> the `rgan_tf.cli` module whose `run()` it calls.
COMMANDS = {
    "rgan-train": "train",
    "rgan-evaluate": "evaluate",
    "rgan-export": "export",
    "rgan-sample": "sample",
    "rgan-benchmark": "benchmark",
    "rgan-reproduce": "reproduce",
    "rgan-train-classifier": "train_classifier",
    "rgan-plot-metrics": "plot_metrics",
    "rgan-plot-eps-sweep": "plot_eps_sweep",
    "rgan-plot-tsne": "plot_tsne",
    "rgan-config-table": "config_table",
    "rgan-bwgan-constants": "bwgan_constants",
}

setuptools.setup(
    name="rgan_tf",
    version="0.1.0",
    description="Robust GAN (RGAN) training for Keras 3 / TensorFlow: worst-case noise and "
    "image perturbations inside model.fit, baselines as gin configs, TF-GAN evaluation.",
    long_description=open("README.md", encoding="utf-8").read(),
    long_description_content_type="text/markdown",
    packages=setuptools.find_packages(include=["rgan_tf", "rgan_tf.*"]) + ["rgan_tf.gin_configs"],
    # The configs live at the repository's top level (gin_configs/) and install inside the
    # package, where `rgan_tf.config` looks for them.
    package_dir={"rgan_tf.gin_configs": "gin_configs"},
    package_data={"rgan_tf.gin_configs": ["*.gin", "*/*.gin", "*/*/*.gin"]},
    entry_points={"console_scripts": [f"{name} = rgan_tf.cli.{module}:run"
                                      for name, module in COMMANDS.items()]},
    python_requires=">=3.10",
    install_requires=[
        "tensorflow>=2.16",
        "keras>=3.0",
        "tensorflow-gan>=2.1",
        "tensorflow-datasets>=4.9",
        "tensorflow-hub>=0.16",
        "absl-py>=1.0",
        "gin-config>=0.5",
        "numpy",
        "scikit-learn>=1.0",
        "scipy",
        "pillow>=9.0",
        "matplotlib>=3.5",
    ],
    extras_require={"test": ["pytest>=7", "pytest-xdist>=3"]},
)
