"""`rgan-train-classifier` (tools/train_classifier.py): trains a classifier and saves it in the
Inception module's form, for offline IS/FID.

The saved folder takes images in [-1, 1] and returns `logits` and `pool_3`, like TF-GAN's
Inception module, so evaluation reads it with `--classifier=<output>`; the folder's name names
the metrics' network. Beside the SavedModel, `accuracy.json` records the test accuracy, the
training time, the settings and the weights' hash (the evaluation's classifier fingerprint).

Two architectures:
  * `small` (`rgan_tf.evaluation.domain_classifiers`): two conv blocks, for digits and MNIST;
  * `residual` (`rgan_tf.evaluation.residual_classifier`): the CIFAR-10 network `c10net`,
    deterministic by seed (op determinism is switched on).

    rgan-train-classifier --source=digits --steps=1000 --output=classifiers/digits
    rgan-train-classifier --architecture=residual --source=folder:../shared/data/cifar10 \\
        --epochs=16 --width=0.25 --output=classifiers/c10net
"""
import tensorflow as tf
from absl import flags

from rgan_tf.cli import common
from rgan_tf.evaluation import domain_classifiers
from rgan_tf.evaluation import residual_classifier

FLAGS = flags.FLAGS


def define_flags():
    flags.DEFINE_enum("architecture", "small", ["small", "residual"],
                      "small: two conv blocks (digits, MNIST); residual: the CIFAR-10 network.")
    flags.DEFINE_string("source", "digits", "Labelled data source of rgan_tf.data.dataset.")
    flags.DEFINE_integer("image_size", None, "Image size; default the source's own.")
    flags.DEFINE_integer("steps", 1000, "small: training steps (batches); ignored when --epochs "
                         "is given.")
    flags.DEFINE_integer("epochs", None, "Passes over the train split (residual: default "
                         f"{residual_classifier.DEFAULT_EPOCHS}).")
    flags.DEFINE_integer("batch_size", None, "Images per step (default: small 64, residual 512).")
    flags.DEFINE_float("width", 0.25, "residual: width multiplier of the (64, 128, 256, 512) "
                       "stages.")
    flags.DEFINE_integer("num_classes", None, "Classes; default the data source's.")
    flags.DEFINE_integer("seed", 0, "Seeds the weights, the data order and the augmentation.")
    flags.DEFINE_string("output", None, "Folder to write the classifier (a SavedModel) to.")
    flags.mark_flag_as_required("output")


def main(argv):
    del argv
    try:
        if FLAGS.architecture == "residual":
            tf.config.experimental.enable_op_determinism()
            data = {"image_size": FLAGS.image_size} if FLAGS.image_size else {}
            model, record = residual_classifier.train_residual_classifier(
                FLAGS.source, epochs=FLAGS.epochs or residual_classifier.DEFAULT_EPOCHS,
                batch_size=FLAGS.batch_size or 512,
                width=FLAGS.width, seed=FLAGS.seed, **data)
        else:
            model, accuracy = domain_classifiers.train_domain_classifier(
                source=FLAGS.source, image_size=FLAGS.image_size,
                steps=None if FLAGS.epochs else FLAGS.steps, epochs=FLAGS.epochs,
                batch_size=FLAGS.batch_size or 64, num_classes=FLAGS.num_classes,
                seed=FLAGS.seed)
            record = {"architecture": "small", "test_accuracy": accuracy, "seed": FLAGS.seed,
                      "source": FLAGS.source, "steps": None if FLAGS.epochs else FLAGS.steps,
                      "epochs": FLAGS.epochs}
    except (ValueError, FileNotFoundError) as error:
        common.fail(error)
    record = domain_classifiers.save_with_card(model, record, FLAGS.output)
    print(f"test accuracy: {record['test_accuracy']:.4f}")
    print(f"saved {FLAGS.output} (fingerprint {record['fingerprint']}); evaluate with "
          f"--classifier={FLAGS.output}")


def run():
    """The `rgan-train-classifier` command."""
    common.run(define_flags, main)
