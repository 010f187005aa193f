"""`rgan-plot-eps-sweep` (tools/plot_eps_sweep.py): draws IS against eps_z and against eps_x (paper
Fig. 4) over a list of run folders, reading each one's operative config (RobustGAN.eps_z, eps_x,
robust) and metrics.jsonl (its latest IS; `rgan_tf.assess.plot_eps_sweep`).

    rgan-plot-eps-sweep --runs=runs/ez0.001,runs/ez0.01,runs/ex1,runs/ex4 --metric=is5k \
        --output=fig4.png
"""
from absl import flags

from rgan_tf import assess
from rgan_tf.cli import common

FLAGS = flags.FLAGS


def define_flags():
    flags.DEFINE_list("runs", None, "Run folders.", required=True)
    flags.DEFINE_string("metric", None, "Record field to plot, e.g. is5k; default the IS with "
                        "the most samples.")
    flags.DEFINE_string("output", "eps_sweep.png", "The PNG to write.")


def main(argv):
    del argv
    try:
        print(f"Wrote {assess.plot_eps_sweep(FLAGS.runs, FLAGS.output, FLAGS.metric)}.")
    except (ValueError, FileNotFoundError) as error:
        common.fail(error)


def run():
    """The `rgan-plot-eps-sweep` command."""
    common.run(define_flags, main)
