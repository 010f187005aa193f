"""Exports a run's generator as a SavedModel that loads with TensorFlow alone (the
`rgan-export` command).

    python tools/export.py --model_dir=runs/digits_dcgan16_rgan --export_dir=exports/digits

Flags and logic: `rgan_tf.cli.export` (needs rgan_tf installed: `pip install -e .`).
"""
from rgan_tf.cli import export

if __name__ == "__main__":
    export.run()
