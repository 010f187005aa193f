"""`rgan-reproduce` (tools/reproduce.py): reproduces a table or figure of the Robust GAN paper:
trains, evaluates and summarises every run (`rgan_tf.study.reproduce`); runs resume when
interrupted and finished runs are skipped.

    rgan-reproduce --experiment=table3 --scale=small --seeds=0,1,2 \
        --families=dcgan --output_dir=docs/study
    rgan-reproduce --experiment=table1 --scale=paper --seeds=0 --output_dir=repro/table1 \
        --dry_run
    rgan-reproduce --experiment=fig3 --scale=small --dry_run   # list the runs
    rgan-reproduce --experiment=cifar10 --scale=cpu --output_dir=study_c10 --shard=0/2
    rgan-reproduce --experiment=cifar10 --scale=cpu --output_dir=study_c10 --report_only
"""
from absl import flags

from rgan_tf.cli import common
from rgan_tf.study import cifar10
from rgan_tf.study import plans
from rgan_tf.study import reproduce

FLAGS = flags.FLAGS


def define_flags():
    flags.DEFINE_enum("experiment", None, plans.EXPERIMENTS + (cifar10.EXPERIMENT,),
                      "Table or figure to reproduce; cifar10: the Table 3 DCGAN ablation on real "
                      "CIFAR-10 with paired seeds, Fig. 2 and Fig. 3 (scales cpu, gpu10, tiny).")
    flags.DEFINE_enum("scale", None, sorted(set(plans.SCALES) | set(cifar10.SCALES)),
                      "paper: shipped configs, Inception, 50k samples; small: every family on "
                      "the offline digits data, CPU-sized; tiny: a few steps (CI); cifar10 "
                      "only: cpu (DCGAN at width 32, two CPU cores), gpu10 (full width, one "
                      "GPU, ~10 minutes). Default: small, or cpu for cifar10.")
    flags.DEFINE_string("source", cifar10.OFFLINE_SOURCE, "cifar10: the CIFAR-10 source (train "
                        "and test splits), e.g. tfds:cifar10.")
    flags.DEFINE_string("shard", None, "cifar10: k/n trains only every n-th run from the k-th, "
                        "so processes or machines split the study (run folders are "
                        "independent).")
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
    flags.DEFINE_boolean("report_only", False, "cifar10: write the tables and figures from the "
                         "runs finished so far; train and evaluate nothing (e.g. while shards "
                         "run).")
    flags.mark_flags_as_required(["experiment"])


def main(argv):
    del argv
    try:
        if FLAGS.experiment == cifar10.EXPERIMENT:
            summary = reproduce.reproduce_cifar10(
                FLAGS.scale or "cpu", FLAGS.output_dir, source=FLAGS.source,
                classifier=FLAGS.classifier, dry_run=FLAGS.dry_run,
                report_only=FLAGS.report_only,
                shard=cifar10.parse_shard(FLAGS.shard) if FLAGS.shard else None)
        else:
            if FLAGS.report_only:
                raise ValueError("--report_only is a flag of the cifar10 experiment.")
            if FLAGS.scale not in (None,) + plans.SCALES:
                raise ValueError(f"--scale={FLAGS.scale} is a scale of the cifar10 experiment; "
                                 f"{FLAGS.experiment} has {', '.join(plans.SCALES)}.")
            summary = reproduce.reproduce(
                FLAGS.experiment, FLAGS.scale or "small", FLAGS.output_dir,
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
