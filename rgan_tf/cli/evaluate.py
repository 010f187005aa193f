"""`rgan-evaluate` (tools/evaluate.py): IS, FID and KID of a trained generator (TF-GAN's maths),
appended to metrics.jsonl; the logic is `rgan_tf.assess.evaluate_run`.

    rgan-evaluate --model_dir=runs/digits_dcgan_rgan --classifier=classifiers/digits
    rgan-evaluate --model_dir=runs/cifar10_wgan_gp_rgan             # Inception, 50k
    rgan-evaluate --export_dir=exports/digits --num_samples=5000 --classifier=...
    rgan-evaluate --model_dir=runs/x --robustness --radii=0.01,0.5  # paper Fig. 3

Metric names carry the sample count (`is50k`, `is50k_std`, `fid50k`, `kid50k`; with
--robustness also `is50k_worst_eps0.5`, `fid50k_worst_eps0.5`, `g_loss`,
`g_loss_worst_eps0.5`, `g_loss_random_eps0.5`); the record also holds the protocol (sample
counts, real source and split, classifier, resize path), the step, and the evaluation's time and
peak memory. It is printed and appended to `<model_dir>/metrics.jsonl` (or --metrics_file).
"""
import json

from absl import flags

from rgan_tf import assess
from rgan_tf.cli import common

FLAGS = flags.FLAGS


def define_flags():
    flags.DEFINE_string("model_dir", None, "Run folder written by tools/train.py.")
    flags.DEFINE_string("checkpoint", None, "With --model_dir: a step, ckpt-<step> or a path; "
                        "default the latest.")
    flags.DEFINE_string("export_dir", None, "A SavedModel written by tools/export.py (IS/FID/KID "
                        "only: robustness needs the run folder).")
    flags.DEFINE_integer("num_samples", 50000, "Generated images (the count in the metric "
                         "names).")
    flags.DEFINE_integer("num_real", None, "Real images; default --num_samples (or the whole "
                         "split if it holds fewer).")
    flags.DEFINE_string("classifier", "inception", "'inception' (TF-Hub), or a folder holding a "
                        "local copy of it or a classifier from tools/train_classifier.py.")
    flags.DEFINE_string("real_source", None, "Real data source; default the run's "
                        "dataset.source.")
    flags.DEFINE_string("real_split", "test", "Real split the statistics come from.")
    flags.DEFINE_integer("batch_size", 100, "Images per generator and classifier call.")
    flags.DEFINE_list("metrics", ["is", "fid", "kid"], "Any of is, fid, kid.")
    flags.DEFINE_bool("robustness", False, "Also IS/FID on worst-case noise and the generator "
                      "loss under worst-case vs random noise (paper Fig. 3).")
    flags.DEFINE_list("radii", None, "Worst-case noise radii, e.g. 0.01,0.5; default the run's "
                      "eps_z.")
    flags.DEFINE_bool("generalization", False, "Also the discriminator's loss on train vs "
                      "held-out real images (d_gap) and its sensitivity to eps_x perturbations.")
    flags.DEFINE_integer("d_num_images", 5000, "Real images per split for --generalization.")
    flags.DEFINE_integer("seed", 0, "Seed of the generator's noise.")
    flags.DEFINE_string("cache_dir", None, "Cache of real statistics; default "
                        "~/.cache/rgan_tf/real_stats.")
    flags.DEFINE_string("metrics_file", None, "JSON-lines file to append to; default "
                        "<model_dir or export_dir>/metrics.jsonl.")
    flags.DEFINE_bool("verbose", True, "Progress bars.")


def main(argv):
    del argv
    try:
        try:
            radii = None if FLAGS.radii is None else [float(r) for r in FLAGS.radii]
        except ValueError:
            raise ValueError(f"--radii must be numbers, got {FLAGS.radii}.") from None
        record = assess.evaluate_run(
            model_dir=FLAGS.model_dir, export_dir=FLAGS.export_dir, checkpoint=FLAGS.checkpoint,
            num_samples=FLAGS.num_samples, num_real=FLAGS.num_real, classifier=FLAGS.classifier,
            real_source=FLAGS.real_source, real_split=FLAGS.real_split,
            batch_size=FLAGS.batch_size, metrics=tuple(FLAGS.metrics),
            robustness=FLAGS.robustness, radii=radii, generalization=FLAGS.generalization,
            d_num_images=FLAGS.d_num_images, seed=FLAGS.seed, cache_dir=FLAGS.cache_dir,
            metrics_file=FLAGS.metrics_file, verbose=FLAGS.verbose)
    except (ValueError, FileNotFoundError) as error:
        common.fail(error)
    print(json.dumps(record))


def run():
    """The `rgan-evaluate` command."""
    common.run(define_flags, main)
