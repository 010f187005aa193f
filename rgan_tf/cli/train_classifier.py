"""`rgan-train-classifier` (tools/train_classifier.py): trains a small domain classifier and saves
it in the Inception module's form, for offline IS/FID (`rgan_tf.evaluation.domain_classifiers`).

The saved folder takes images in [-1, 1] and returns `logits` and `pool_3`, like TF-GAN's
Inception module, so evaluation reads it with `--classifier=<output>`. Prints the test accuracy.

    rgan-train-classifier --source=digits --steps=1000 --output=classifiers/digits
    rgan-train-classifier --source=mnist --image_size=32 --epochs=3 --output=classifiers/mnist32
"""
from absl import flags

from rgan_tf.cli import common
from rgan_tf.evaluation import domain_classifiers

FLAGS = flags.FLAGS


def define_flags():
    flags.DEFINE_string("source", "digits", "Labelled data source of rgan_tf.data.dataset.")
    flags.DEFINE_integer("image_size", None, "Image size; default the source's own.")
    flags.DEFINE_integer("steps", 1000, "Training steps (batches); ignored when --epochs is "
                         "given.")
    flags.DEFINE_integer("epochs", None, "Passes over the train split (instead of --steps).")
    flags.DEFINE_integer("batch_size", 64, "Images per step.")
    flags.DEFINE_integer("num_classes", None, "Classes; default the data source's.")
    flags.DEFINE_integer("seed", 0, "Seeds the weights and the data order.")
    flags.DEFINE_string("output", None, "Folder to write the classifier (a SavedModel) to.")
    flags.mark_flag_as_required("output")


def main(argv):
    del argv
    try:
        model, accuracy = domain_classifiers.train_domain_classifier(
            source=FLAGS.source, image_size=FLAGS.image_size,
            steps=None if FLAGS.epochs else FLAGS.steps, epochs=FLAGS.epochs,
            batch_size=FLAGS.batch_size, num_classes=FLAGS.num_classes, seed=FLAGS.seed)
    except (ValueError, FileNotFoundError) as error:
        common.fail(error)
    domain_classifiers.export_classifier(model, FLAGS.output)
    print(f"test accuracy: {accuracy:.4f}")
    print(f"saved {FLAGS.output}; evaluate with --classifier={FLAGS.output}")


def run():
    """The `rgan-train-classifier` command."""
    common.run(define_flags, main)
