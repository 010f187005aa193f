"""Draws IS against eps_z and eps_x (paper Fig. 4) over run folders (the `rgan-plot-eps-sweep`
command).

    python tools/plot_eps_sweep.py --runs=runs/ez0.001,runs/ez0.01,runs/ex1 --output=fig4.png

Flags and logic: `rgan_tf.cli.plot_eps_sweep` (needs rgan_tf installed: `pip install -e .`).
"""
from rgan_tf.cli import plot_eps_sweep

if __name__ == "__main__":
    plot_eps_sweep.run()
