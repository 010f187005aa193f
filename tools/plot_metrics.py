"""Draws IS and FID against the generator iteration (paper Fig. 2) from runs' metrics.jsonl
(the `rgan-plot-metrics` command).

    python tools/plot_metrics.py --runs=runs/digits_dcgan,runs/digits_dcgan_rgan --output=fig2.png

Flags and logic: `rgan_tf.cli.plot_metrics` (needs rgan_tf installed: `pip install -e .`).
"""
from rgan_tf.cli import plot_metrics

if __name__ == "__main__":
    plot_metrics.run()
