"""Writing files so that a reader never sees half of one: the one place the library writes to run
folders, exports and caches.

`atomic_path(path)` hands out a temporary sibling path and renames it onto `path` only when the
block ends without an error, so an interrupted write leaves the previous file (or none). The other
helpers are built on it; `append_jsonl` / `read_jsonl` are the JSON-lines records of a run
(`metrics.jsonl`), appended one line at a time.
"""
import contextlib
import json
import os

import numpy as np


@contextlib.contextmanager
def atomic_path(path, suffix=""):
    """Yields a temporary path beside `path`; renames it onto `path` if the block succeeds.

    Args:
      path: the file to write (its folder is created).
      suffix: the temporary file's ending, for writers that choose the format by it (".png",
        ".npz").

    The temporary file is removed if the block raises.
    """
    folder = os.path.dirname(os.path.abspath(path))
    os.makedirs(folder, exist_ok=True)
    temporary = os.path.join(folder, f".{os.path.basename(path)}.tmp-{os.getpid()}{suffix}")
    try:
        yield temporary
        os.replace(temporary, path)
    finally:
        if os.path.exists(temporary):
            os.remove(temporary)


def write_text(path, text):
    """Writes `text` to `path` atomically; returns `path`."""
    with atomic_path(path) as temporary:
        with open(temporary, "w", encoding="utf-8") as handle:
            handle.write(text)
    return path


def write_json(path, value, indent=1):
    """Writes `value` as JSON to `path` atomically; returns `path`."""
    return write_text(path, json.dumps(value, indent=indent, default=_plain))


def read_json(path):
    """The JSON value stored at `path`."""
    with open(path, encoding="utf-8") as handle:
        return json.load(handle)


def _plain(value):
    """numpy scalars and arrays as Python values (for `json.dumps`)."""
    if isinstance(value, np.generic):
        return value.item()
    if isinstance(value, np.ndarray):
        return value.tolist()
    raise TypeError(f"Not JSON serialisable: {type(value).__name__}")


def append_jsonl(path, record):
    """Appends `record` as one JSON line to `path` (folders created); returns `path`."""
    line = json.dumps(record, default=_plain, allow_nan=True)
    os.makedirs(os.path.dirname(os.path.abspath(path)), exist_ok=True)
    with open(path, "a", encoding="utf-8") as handle:
        handle.write(line + "\n")
    return path


def read_jsonl(path):
    """The records of a JSON-lines file (blank and unparsable lines are skipped)."""
    records = []
    with open(path, encoding="utf-8") as handle:
        for line in handle:
            line = line.strip()
            if not line:
                continue
            try:
                records.append(json.loads(line))
            except json.JSONDecodeError:
                continue
    return records
