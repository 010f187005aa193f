"""Writes N samples of a trained generator as a PNG grid, PNG files or an .npz.

    python tools/sample.py --model_dir=runs/digits_dcgan_rgan --output=grid.png
    python tools/sample.py --export_dir=exports/digits --num_samples=1000 --output=samples.npz
    python tools/sample.py --model_dir=runs/cifar10_cgan --classes=3,5 --output=samples/

The format follows --output (`.png`: one grid, `.npz`: `images` float32 in [-1, 1] and `labels`,
anything else: a folder of PNG files) unless --format says otherwise. The images are those of
`RobustGAN.sample`: z ~ N(0, I) drawn from --seed; a conditional model's labels cycle through
--classes (default: every class).
"""
import os
import sys

from absl import app
from absl import flags

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
from rgan_tf import launch  # noqa: E402

flags.DEFINE_string("model_dir", None, "Run folder written by tools/train.py.")
flags.DEFINE_string("checkpoint", None, "With --model_dir: a step, ckpt-<step> or a path; "
                    "default the latest.")
flags.DEFINE_string("export_dir", None, "A SavedModel written by tools/export.py.")
flags.DEFINE_integer("num_samples", 64, "How many samples.")
flags.DEFINE_integer("seed", 0, "Seed of the noise.")
flags.DEFINE_list("classes", None, "Classes for a conditional model, e.g. 3 or 0,1,2 "
                  "(cycled); default every class.")
flags.DEFINE_string("output", None, "Output: a .png grid, an .npz, or a folder.", required=True)
flags.DEFINE_enum("format", None, ["grid", "files", "npz"], "Overrides the format --output "
                  "implies.")
flags.DEFINE_bool("overwrite", False, "Replace an existing output.")
FLAGS = flags.FLAGS


def main(argv):
    del argv
    from rgan_tf import export
    try:
        if (FLAGS.model_dir is None) == (FLAGS.export_dir is None):
            raise ValueError("Give exactly one of --model_dir and --export_dir.")
        if FLAGS.export_dir is not None and FLAGS.checkpoint is not None:
            raise ValueError("--checkpoint goes with --model_dir, not --export_dir.")
        try:
            classes = [int(c) for c in FLAGS.classes or []]
        except ValueError:
            raise ValueError(f"--classes must be integers, got {FLAGS.classes}.") from None
        fmt = export.sample_format(FLAGS.output, FLAGS.format)
        if fmt == "files":
            export.check_output_dir(FLAGS.output, FLAGS.overwrite)
        elif os.path.exists(FLAGS.output) and not FLAGS.overwrite:
            raise ValueError(f"{FLAGS.output} exists; pass --overwrite to replace it.")
        if FLAGS.model_dir is not None:
            model, step = export.load_run(FLAGS.model_dir, FLAGS.checkpoint)
            sampler = export.Sampler(model=model)
        else:
            sampler = export.Sampler.from_export(FLAGS.export_dir)
        images, labels = sampler.sample(FLAGS.num_samples, FLAGS.seed, classes)
        paths = export.write_samples(images, labels, FLAGS.output, fmt, FLAGS.overwrite)
        print(f"Wrote {len(images)} samples to {FLAGS.output} ({fmt}, {len(paths)} file(s)).")
    except (ValueError, OSError) as error:  # OSError: a failed write (WriteFailedError)
        launch.fail(error)


if __name__ == "__main__":
    app.run(main)
