"""Trains a GAN from gin configs (the `rgan-train` command).

    python tools/train.py                                    # RGAN(DCGAN) on digits, offline
    python tools/train.py --gin_file=gin_configs/cifar10/wgan_gp_rgan.gin \
        --gin_bindings='train.steps=200' --model_dir=runs/wgan_gp_rgan

Exit status: 0 trained (or nothing left to train); 1 an error (one `error:` line); 75 stopped by
SIGTERM or SIGINT after writing a checkpoint of the last step (run the same command to resume;
docs/workflow.md, "Interruptions").

Flags and logic: `rgan_tf.cli.train` (needs rgan_tf installed: `pip install -e .`).
"""
from rgan_tf.cli import train

if __name__ == "__main__":
    train.run()
