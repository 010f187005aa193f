"""`rgan-plot-metrics` (tools/plot_metrics.py): draws IS and FID against the generator iteration
(paper Fig. 2) from the metrics.jsonl of one or more runs (written by `MetricsCallback` or
tools/evaluate.py; `rgan_tf.assess.plot_metrics`).

    rgan-plot-metrics --runs=runs/digits_dcgan,runs/digits_dcgan_rgan --output=fig2.png
"""
from absl import flags

from rgan_tf import assess
from rgan_tf.cli import common
from rgan_tf.run import layout

FLAGS = flags.FLAGS


def define_flags():
    flags.DEFINE_list("runs", None, "Run folders or metrics.jsonl files.", required=True)
    flags.DEFINE_string("output", layout.METRICS_PLOT, "The PNG to write.")


def main(argv):
    del argv
    try:
        print(f"Wrote {assess.plot_metrics(FLAGS.runs, FLAGS.output)}.")
    except (ValueError, FileNotFoundError) as error:
        common.fail(error)


def run():
    """The `rgan-plot-metrics` command."""
    common.run(define_flags, main)
