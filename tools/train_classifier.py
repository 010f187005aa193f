"""Trains a small domain classifier and saves it in the Inception module's form, for offline IS/FID.

The saved folder takes images in [-1, 1] and returns `logits` and `pool_3`, like TF-GAN's
Inception module, so evaluation reads it with `--classifier=<output>`
(`rgan_tf.classifiers.load_classifier(<output>)`). Prints the test accuracy.

    python tools/train_classifier.py --source=digits --steps=1000 --output=classifiers/digits
    python tools/train_classifier.py --source=mnist --image_size=32 --epochs=3 \
        --output=classifiers/mnist32
"""
import os
import sys

from absl import app
from absl import flags

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
from rgan_tf import classifiers  # noqa: E402

flags.DEFINE_string("source", "digits", "Labelled data source of rgan_tf.data.dataset.")
flags.DEFINE_integer("image_size", None, "Image size; default the source's own.")
flags.DEFINE_integer("steps", 1000, "Training steps (batches); ignored when --epochs is given.")
flags.DEFINE_integer("epochs", None, "Passes over the train split (instead of --steps).")
flags.DEFINE_integer("batch_size", 64, "Images per step.")
flags.DEFINE_integer("num_classes", None, "Classes; default the data source's.")
flags.DEFINE_integer("seed", 0, "Seeds the weights and the data order.")
flags.DEFINE_string("output", None, "Folder to write the classifier (a SavedModel) to.")
flags.mark_flag_as_required("output")
FLAGS = flags.FLAGS


def main(argv):
    del argv
    try:
        model, accuracy = classifiers.train_domain_classifier(
            source=FLAGS.source, image_size=FLAGS.image_size,
            steps=None if FLAGS.epochs else FLAGS.steps, epochs=FLAGS.epochs,
            batch_size=FLAGS.batch_size, num_classes=FLAGS.num_classes, seed=FLAGS.seed)
    except (ValueError, FileNotFoundError) as error:
        print(f"error: {error}", file=sys.stderr)
        sys.exit(1)
    classifiers.export_classifier(model, FLAGS.output)
    print(f"test accuracy: {accuracy:.4f}")
    print(f"saved {FLAGS.output}; evaluate with --classifier={FLAGS.output}")


if __name__ == "__main__":
    app.run(main)
