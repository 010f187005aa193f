"""`rgan-reproduce` (tools/reproduce.py): reproduces a table or figure of the Robust GAN paper:
trains, evaluates and summarises every run (`rgan_tf.study.reproduce`); runs resume when
interrupted and finished runs are skipped.

    rgan-reproduce --experiment=table3 --scale=small --seeds=0,1,2 \
        --families=dcgan --output_dir=docs/study
    rgan-reproduce --experiment=table1 --scale=paper --seeds=0 --output_dir=repro/table1 \
        --dry_run
    rgan-reproduce --experiment=fig3 --scale=small --dry_run   # list the runs
"""
from absl import flags

from rgan_tf.cli import common
from rgan_tf.study import plans
from rgan_tf.study import reproduce

FLAGS = flags.FLAGS


def define_flags():
    flags.DEFINE_enum("experiment", None, plans.EXPERIMENTS, "Table or figure to reproduce.")
    flags.DEFINE_enum("scale", "small", plans.SCALES,
                      "paper: shipped configs, Inception, 50k samples; small: every family on "
                      "the offline digits data, CPU-sized; tiny: a few steps (CI).")
    flags.DEFINE_string("output_dir", None,
                        "Folder for runs, tables and figures (needed unless --dry_run).")
    flags.DEFINE_list("seeds", ["0"], "Training seeds, comma-separated.")
    flags.DEFINE_string("classifier", None,
                        "IS/FID classifier: 'inception' (default at paper scale) or a folder; "
                        "default at small/tiny scale: <output_dir>/classifier_digits32, trained "
                        "if missing.")
    flags.DEFINE_list("families", None, "table1/table3/figures: only these baseline families "
                      f"(table3: of {', '.join(plans.TABLE3_FAMILIES)}).")
    flags.DEFINE_boolean("dry_run", False, "Print the runs and their commands; train nothing.")
    flags.mark_flags_as_required(["experiment"])


def main(argv):
    del argv
    try:
        summary = reproduce.reproduce(
            FLAGS.experiment, FLAGS.scale, FLAGS.output_dir,
            seeds=[int(seed) for seed in FLAGS.seeds], classifier=FLAGS.classifier,
            dry_run=FLAGS.dry_run, families=FLAGS.families)
    except (ValueError, OSError, FloatingPointError) as error:
        common.fail(error)
    print(f"{len(summary['trained'])} run(s) trained, {len(summary['skipped'])} skipped.")
    for path in summary["outputs"]:
        print(f"wrote {path}")


def run():
    """The `rgan-reproduce` command."""
    common.run(define_flags, main)
