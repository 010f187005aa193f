"""Measures BWGAN's data constants (lambda, gamma) on real images, for the gin configs (the
`rgan-bwgan-constants` command).

    python tools/bwgan_constants.py --source=tfds:cifar10
    python tools/bwgan_constants.py --source=folder:../shared/data/cifar10/train --dequantize

Flags and logic: `rgan_tf.cli.bwgan_constants` (needs rgan_tf installed: `pip install -e .`).
"""
from rgan_tf.cli import bwgan_constants

if __name__ == "__main__":
    bwgan_constants.run()
