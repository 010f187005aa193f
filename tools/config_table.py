"""Prints the Markdown table of the shipped gin configs (the `rgan-config-table` command).

    python tools/config_table.py --output=docs/configs.md

Flags and logic: `rgan_tf.cli.config_table` (needs rgan_tf installed: `pip install -e .`).
"""
from rgan_tf.cli import config_table

if __name__ == "__main__":
    config_table.run()
