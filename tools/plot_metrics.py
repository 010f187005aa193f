"""Draws IS and FID against the generator iteration (paper Fig. 2) from the metrics.jsonl of one
or more runs (written by `rgan_tf.evaluation.MetricsCallback` or tools/evaluate.py).

    python tools/plot_metrics.py --runs=runs/digits_dcgan,runs/digits_dcgan_rgan --output=fig2.png
"""
import os
import sys

from absl import app
from absl import flags

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
from rgan_tf import launch  # noqa: E402

flags.DEFINE_list("runs", None, "Run folders or metrics.jsonl files.", required=True)
flags.DEFINE_string("output", "metrics.png", "The PNG to write.")
FLAGS = flags.FLAGS


def main(argv):
    del argv
    from rgan_tf import figures
    try:
        print(f"Wrote {figures.plot_metrics(FLAGS.runs, FLAGS.output)}.")
    except (ValueError, FileNotFoundError) as error:
        launch.fail(error)


if __name__ == "__main__":
    app.run(main)
