"""Trains a small domain classifier in the Inception module's form, for offline IS/FID (the
`rgan-train-classifier` command).

    python tools/train_classifier.py --source=digits --steps=1000 --output=classifiers/digits

Flags and logic: `rgan_tf.cli.train_classifier` (needs rgan_tf installed: `pip install -e .`).
"""
from rgan_tf.cli import train_classifier

if __name__ == "__main__":
    train_classifier.run()
