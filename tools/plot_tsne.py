"""Draws the t-SNE embeddings of paper Fig. 5 for run folders (the `rgan-plot-tsne` command).

    python tools/plot_tsne.py --runs=runs/digits_dcgan,runs/digits_dcgan_rgan \
        --classifier=classifiers/digits --output=fig5.png

Flags and logic: `rgan_tf.cli.plot_tsne` (needs rgan_tf installed: `pip install -e .`).
"""
from rgan_tf.cli import plot_tsne

if __name__ == "__main__":
    plot_tsne.run()
