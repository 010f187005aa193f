"""What the command-line tools share: running `main` under absl with the tool's flags, and one
clear error line on a bad input."""
import sys

from absl import app
from absl import flags

FLAGS = flags.FLAGS

#: The `tf.distribute` strategies a tool's `--strategy` accepts.
STRATEGIES = ["default", "mirrored", "multi_worker", "tpu"]


def fail(message):
    """Prints one clear error line and exits non-zero."""
    print(f"error: {message}", file=sys.stderr)
    sys.exit(1)


def run(define_flags, main):
    """Defines the tool's flags (once per process) and runs `main` under absl."""
    if not getattr(define_flags, "defined", False):
        define_flags()
        define_flags.defined = True
    app.run(main)
