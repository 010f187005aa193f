"""Installs rgan_tf: robust GAN training (Algorithm 1 of the Robust GAN paper) for Keras 3."""
import setuptools

setuptools.setup(
    name="rgan_tf",
    version="0.1.0",
    description="Robust GAN (RGAN) training for Keras 3 / TensorFlow: worst-case noise and "
    "image perturbations inside model.fit, baselines as gin configs, TF-GAN evaluation.",
    long_description=open("README.md", encoding="utf-8").read(),
    long_description_content_type="text/markdown",
    packages=setuptools.find_packages(include=["rgan_tf", "rgan_tf.*"]),
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
        "pillow>=9.0",
        "matplotlib>=3.5",
    ],
    extras_require={"test": ["pytest>=7", "pytest-xdist>=3"]},
)
