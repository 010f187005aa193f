"""Evaluates a trained generator: IS, FID and KID, appended to metrics.jsonl (the
`rgan-evaluate` command).

    python tools/evaluate.py --model_dir=runs/digits_dcgan_rgan --classifier=classifiers/digits
    python tools/evaluate.py --model_dir=runs/x --robustness --radii=0.01,0.5  # paper Fig. 3

Flags and logic: `rgan_tf.cli.evaluate` (needs rgan_tf installed: `pip install -e .`).
"""
from rgan_tf.cli import evaluate

if __name__ == "__main__":
    evaluate.run()
