"""Draws IS against eps_z and against eps_x (paper Fig. 4) over a list of run folders, reading each
one's operative_config.gin (RobustGAN.eps_z, eps_x, robust) and metrics.jsonl (its latest IS).

    python tools/plot_eps_sweep.py --runs=runs/ez0.001,runs/ez0.01,runs/ex1,runs/ex4 \
        --metric=is5k --output=fig4.png
"""
import os
import sys

from absl import app
from absl import flags

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
from rgan_tf import launch  # noqa: E402

flags.DEFINE_list("runs", None, "Run folders.", required=True)
flags.DEFINE_string("metric", None, "Record field to plot, e.g. is5k; default the IS with the "
                    "most samples.")
flags.DEFINE_string("output", "eps_sweep.png", "The PNG to write.")
FLAGS = flags.FLAGS


def main(argv):
    del argv
    from rgan_tf import figures
    try:
        print(f"Wrote {figures.plot_eps_sweep(FLAGS.runs, FLAGS.output, FLAGS.metric)}.")
    except (ValueError, FileNotFoundError) as error:
        launch.fail(error)


if __name__ == "__main__":
    app.run(main)
