"""Named points where a training process can be told to wait: a deterministic hook for tests that
send signals to a real training process at a known place.

Off unless the environment sets both

    RGAN_TF_PAUSE_AT=<point>:<step>     e.g. checkpoint_write:4
    RGAN_TF_PAUSE_FILE=<path>

When the process first reaches `<point>` at `<step>`, it creates `<path>` (holding its pid) and waits
until the file is removed (at most `TIMEOUT_S`). A test waits for the file, sends its signals,
then removes the file: the signal is known to have landed at that point. Python runs signal
handlers between bytecodes, so a signal that arrives while TensorFlow runs a step or writes a
checkpoint in C++ is handled just after that call returns: pausing just before or after such a
call reproduces every case. A SIGKILL (or a second SIGINT) ends the process inside the pause.

Points (see `rgan_tf.training`):
  training_start    the run folder is checked and restored, the first step not yet taken
  step_end          the step's computation is done, before its checkpoint, grid and logs
  sample_grid       between the two files of a sample grid (step_<N>.png written, latest.png not)
  checkpoint_write  a checkpoint of the step is about to be written
"""
import os
import time

PAUSE_AT = "RGAN_TF_PAUSE_AT"
PAUSE_FILE = "RGAN_TF_PAUSE_FILE"
TIMEOUT_S = 300
POINTS = ("training_start", "step_end", "sample_grid", "checkpoint_write")

_paused = set()  # points already paused at: each pauses once per process


def pause(point, step):
    """Waits at `point` of step `step` if the environment asks for it (see the module doc)."""
    target = os.environ.get(PAUSE_AT)
    if not target or target != f"{point}:{step}" or target in _paused:
        return
    _paused.add(target)
    path = os.environ[PAUSE_FILE]
    with open(path, "w") as handle:
        handle.write(str(os.getpid()))
    deadline = time.monotonic() + TIMEOUT_S
    while os.path.exists(path) and time.monotonic() < deadline:
        time.sleep(0.01)
