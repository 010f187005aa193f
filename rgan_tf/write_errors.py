"""A failed write (full disk, no permission, read-only folder) as one message naming the path and
the free space.

Every file a run writes goes through `reporting(path)`: checkpoints, sample grids, TensorBoard
logs, the operative config, metrics, exports, samples and the run lock. Python reports such a
failure as an `OSError` (ENOSPC, EACCES, EROFS, ...); TensorFlow's file system layer as a
`tf.errors.OpError` (e.g. `ResourceExhaustedError`, `PermissionDeniedError`). Both become a
`WriteFailedError`, an `OSError` whose text is one line:

    Could not write runs/x/checkpoints/ckpt-4 ([Errno 28] No space left on device); 0 B free on
    its disk (runs/x/checkpoints).

A failing write stops the run: nothing written earlier is changed (checkpoints are written under
a new name and the previous ones are removed only after a complete save), so every earlier
checkpoint stays readable and the same command resumes once there is room.
"""
import contextlib
import os
import re
import shutil

import tensorflow as tf

_FUNCTION_NODE = re.compile(r"\{\{function_node [^}]*\}\}\s*")


class WriteFailedError(OSError):
    """A file of a run (or an export) could not be written.

    Attributes:
      path: what was being written.
      cause: the original `OSError` or `tf.errors.OpError`.
      free_bytes: free bytes on the disk holding `path` (None if unknown).
    """

    def __init__(self, path, cause, hint=""):
        self.path, self.cause = path, cause
        self.free_bytes, where = free_space(path)
        free = "unknown space" if self.free_bytes is None else format_bytes(self.free_bytes)
        message = (f"Could not write {path} ({describe(cause)}); {free} free on its disk "
                   f"({where}).")
        super().__init__(message + (f" {hint}" if hint else ""))

    def __str__(self):
        return self.args[0]

    def with_hint(self, hint):
        """The same error with `hint` appended to its message."""
        return WriteFailedError(self.path, self.cause, hint)


def describe(error):
    """A one-line reason: `[Errno 28] No space left on device` or a TensorFlow error's first
    line without its `{{function_node ...}}` prefix."""
    if isinstance(error, tf.errors.OpError):
        text = _FUNCTION_NODE.sub("", error.message or "").strip()
        text = text.splitlines()[0] if text else type(error).__name__
        return f"{type(error).__name__}: {text}"
    if isinstance(error, OSError) and error.strerror:
        return f"[Errno {error.errno}] {error.strerror}" if error.errno else error.strerror
    return f"{type(error).__name__}: {error}"


def free_space(path):
    """`(free bytes, folder measured)` of the disk holding `path` (its nearest existing folder);
    `(None, folder)` if it cannot be measured."""
    folder = os.path.abspath(path)
    while not os.path.isdir(folder):
        parent = os.path.dirname(folder)
        if parent == folder:
            break
        folder = parent
    try:
        return shutil.disk_usage(folder).free, folder
    except OSError:
        return None, folder


def format_bytes(count):
    """`1536` -> `1.5 KB` (powers of 1024)."""
    for unit in ("B", "KB", "MB", "GB", "TB"):
        if count < 1024 or unit == "TB":
            return f"{count} {unit}" if unit == "B" else f"{count:.1f} {unit}"
        count /= 1024


@contextlib.contextmanager
def reporting(path):
    """Turns an `OSError` or TensorFlow `OpError` raised inside the block into a
    `WriteFailedError` naming `path` (a `WriteFailedError` passes unchanged)."""
    try:
        yield
    except WriteFailedError:
        raise
    except (OSError, tf.errors.OpError) as error:
        raise WriteFailedError(path, error) from error
