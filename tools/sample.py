"""Writes N samples of a trained generator as a PNG grid, PNG files or an .npz (the
`rgan-sample` command).

    python tools/sample.py --model_dir=runs/digits_dcgan16_rgan --output=grid.png

Flags and logic: `rgan_tf.cli.sample` (needs rgan_tf installed: `pip install -e .`).
"""
from rgan_tf.cli import sample

if __name__ == "__main__":
    sample.run()
