"""Times the baseline and robust train steps of a gin-configured GAN (the `rgan-benchmark`
command).

    python tools/benchmark.py --gin_file=gin_configs/cifar10/dcgan_rgan.gin

Flags and logic: `rgan_tf.cli.benchmark` (needs rgan_tf installed: `pip install -e .`).
"""
from rgan_tf.cli import benchmark

if __name__ == "__main__":
    benchmark.run()
