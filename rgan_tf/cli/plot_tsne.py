"""`rgan-plot-tsne` (tools/plot_tsne.py): draws the t-SNE embeddings of paper Fig. 5: normal vs
worst-case noise and worst-case real vs worst-case generated images (first run), and real vs
generated images (every run; `rgan_tf.assess.plot_tsne`).

    rgan-plot-tsne --runs=runs/digits_dcgan,runs/digits_dcgan_rgan \
        --classifier=classifiers/digits --num_points=500 --output=fig5.png
    rgan-plot-tsne --runs=runs/digits_dcgan_rgan --features=pixels --eps_z=0.5
"""
from absl import flags

from rgan_tf import assess
from rgan_tf.cli import common
from rgan_tf.evaluation import embedding

FLAGS = flags.FLAGS


def define_flags():
    flags.DEFINE_list("runs", None, "Run folders.", required=True)
    flags.DEFINE_integer("num_points", 500, "Points per set (the paper: 500).")
    flags.DEFINE_float("eps_z", None, "Worst-case noise radius; default the first run's eps_z.")
    flags.DEFINE_float("eps_x", None, "Worst-case image radius; default the first run's eps_x.")
    flags.DEFINE_enum("features", "classifier", list(embedding.FEATURES),
                      "What represents an image.")
    flags.DEFINE_string("classifier", "inception", "With --features=classifier: 'inception' or "
                        "a path.")
    flags.DEFINE_string("real_source", None, "Real data; default the first run's "
                        "dataset.source.")
    flags.DEFINE_string("real_split", "train", "Real split.")
    flags.DEFINE_integer("seed", 0, "Seed of the noise and of t-SNE.")
    flags.DEFINE_string("output", "tsne.png", "The PNG to write.")


def main(argv):
    del argv
    try:
        path = assess.plot_tsne(
            FLAGS.runs, FLAGS.output, num_points=FLAGS.num_points, eps_z=FLAGS.eps_z,
            eps_x=FLAGS.eps_x, features=FLAGS.features,
            classifier=FLAGS.classifier if FLAGS.features == "classifier" else None,
            real_source=FLAGS.real_source, real_split=FLAGS.real_split, seed=FLAGS.seed)
        print(f"Wrote {path}.")
    except (ValueError, FileNotFoundError) as error:
        common.fail(error)


def run():
    """The `rgan-plot-tsne` command."""
    common.run(define_flags, main)
