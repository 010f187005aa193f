"""Reproduces a table or figure of the Robust GAN paper (the `rgan-reproduce` command).

    python tools/reproduce.py --experiment=table3 --scale=small --seeds=0,1,2 \
        --families=dcgan --output_dir=docs/study
    python tools/reproduce.py --experiment=fig3 --scale=small --dry_run   # list the runs

Flags and logic: `rgan_tf.cli.reproduce` (needs rgan_tf installed: `pip install -e .`).
"""
from rgan_tf.cli import reproduce

if __name__ == "__main__":
    reproduce.run()
