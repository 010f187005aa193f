"""Reproduces a table or figure of the Robust GAN paper: trains, evaluates and summarises every run.

All logic is in `rgan_tf.reproduce`; runs resume when interrupted and finished runs are skipped.

    python tools/reproduce.py --experiment=table3 --scale=small --seeds=0,1,2 \
        --families=dcgan --output_dir=docs/study
    python tools/reproduce.py --experiment=table1 --scale=paper --seeds=0 \
        --output_dir=repro/table1 --dry_run
    python tools/reproduce.py --experiment=fig3 --scale=small --dry_run   # list the runs
"""
import os
import sys

from absl import app
from absl import flags

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
from rgan_tf import reproduce  # noqa: E402

flags.DEFINE_enum("experiment", None, reproduce.EXPERIMENTS, "Table or figure to reproduce.")
flags.DEFINE_enum("scale", "small", reproduce.SCALES,
                  "paper: shipped configs, Inception, 50k samples; small: every family on the "
                  "offline digits data, CPU-sized; tiny: a few steps (CI).")
flags.DEFINE_string("output_dir", None,
                    "Folder for runs, tables and figures (needed unless --dry_run).")
flags.DEFINE_list("seeds", ["0"], "Training seeds, comma-separated.")
flags.DEFINE_string("classifier", None,
                    "IS/FID classifier: 'inception' (default at paper scale) or a folder; "
                    "default at small/tiny scale: <output_dir>/classifier_digits32, trained if "
                    "missing.")
flags.DEFINE_list("families", None, "table1/table3/figures: only these baseline families "
                  f"(table3: of {', '.join(reproduce.TABLE3_FAMILIES)}).")
flags.DEFINE_boolean("dry_run", False, "Print the runs and their commands; train nothing.")
flags.mark_flags_as_required(["experiment"])
FLAGS = flags.FLAGS


def main(argv):
    del argv
    try:
        summary = reproduce.reproduce(
            FLAGS.experiment, FLAGS.scale, FLAGS.output_dir,
            seeds=[int(seed) for seed in FLAGS.seeds], classifier=FLAGS.classifier,
            dry_run=FLAGS.dry_run, families=FLAGS.families)
    except (ValueError, OSError, FloatingPointError) as error:
        print(f"error: {error}", file=sys.stderr)
        sys.exit(1)
    print(f"{len(summary['trained'])} run(s) trained, {len(summary['skipped'])} skipped.")
    for path in summary["outputs"]:
        print(f"wrote {path}")


if __name__ == "__main__":
    app.run(main)
