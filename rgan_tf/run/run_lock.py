"""One trainer per run folder: an advisory lock file, `<model_dir>/train.lock`.

`rgan_tf.training.train` takes the lock before it writes anything into the folder (and before it
compares the folder's config with its own), and removes it when it ends, however it ends short of
a SIGKILL. A second trainer on the same folder is refused with one message naming the holder.
Evaluation, export and sampling only read a run folder and never look at the lock.

How it is held: the file holds the holder's pid, host, start time and command (JSON), and the
holder keeps an exclusive `flock` on it, which the kernel drops when the process dies, however it
dies. A trainer that finds the file

  - locked: refused (the holder is alive);
  - unlocked but naming a process on this host that no longer runs (a SIGKILL, a crash, a
    reboot; a reused pid is told apart by the process's start time): takes it over, with a
    warning naming the dead holder;
  - unlocked but naming a process on another host: refused, since it cannot tell whether that
    process is alive (a file system without cross-host locks gives no answer); the message says
    to remove the file once that trainer is known to be gone.

Releasing removes the file while still holding the lock; a trainer that opened the old file just
before that finds it gone after locking, and starts again on a new file.
"""
import datetime
import errno
import fcntl
import json
import os
import socket
import sys
import time

from rgan_tf import write_errors
from rgan_tf.run import layout

LOCK_FILE = layout.LOCK_FILE
# How long a refused trainer waits for the holder's record in a file locked a moment ago.
HOLDER_WAIT_SECONDS = 5.0


class RunFolderBusyError(OSError):
    """Another trainer holds (or may hold) the run folder's lock."""

    def __str__(self):
        return self.args[0]


def _process_start_ticks(pid):
    """The start time of process `pid` in clock ticks since boot (Linux), or None."""
    try:
        with open(f"/proc/{pid}/stat") as handle:
            fields = handle.read().rsplit(")", 1)[1].split()
        return int(fields[19])  # field 22 of /proc/<pid>/stat; fields[0] is field 3
    except (OSError, IndexError, ValueError):
        return None


def _alive(pid, start_ticks):
    """Whether the process `pid` on this host runs and is the one that started at
    `start_ticks` (when known)."""
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        pass  # another user's process: it exists
    if start_ticks is None:
        return True
    current = _process_start_ticks(pid)
    return current is None or current == start_ticks


def describe_holder(holder):
    """`pid 123 on host vm, started 2026-11-29 14:50:01` (or what is known of it)."""
    if not holder:
        return "an unknown process (the lock file is empty or unreadable)"
    return (f"pid {holder.get('pid', '?')} on host {holder.get('host', '?')}, started "
            f"{holder.get('started', '?')}")


class RunLock:
    """The lock of one run folder (a context manager: acquire on entry, release on exit).

    Args:
      model_dir: the run folder (created if missing, as the first thing written).
      log: where the take-over warning goes (default `print`).
    """

    def __init__(self, model_dir, log=print):
        self.model_dir = model_dir
        self.path = layout.lock_file(model_dir)
        self.log = log
        self._fd = None
        self._created_folder = False

    def __enter__(self):
        self.acquire()
        return self

    def __exit__(self, *exc_info):
        self.release()
        return False

    @property
    def held(self):
        return self._fd is not None

    def acquire(self):
        """Takes the lock; returns self.

        Raises:
          RunFolderBusyError: another trainer holds it (or one on another host may).
          WriteFailedError: the folder or the lock file cannot be written.
        """
        if self._fd is not None:
            return self
        with write_errors.reporting(self.path):
            self._created_folder = not os.path.isdir(self.model_dir)
            os.makedirs(self.model_dir, exist_ok=True)
        fd = self._open_locked()
        try:
            previous = self._read(fd)
            if previous:
                self._check_stale(previous)
            with write_errors.reporting(self.path):
                self._write(fd, self._holder())
        except BaseException:
            os.close(fd)
            raise
        self._fd = fd
        return self

    def release(self):
        """Removes the lock file and drops the lock (no-op if not held); removes the run
        folder too if `acquire` created it and nothing else was written into it."""
        if self._fd is None:
            return
        try:
            os.unlink(self.path)
        except FileNotFoundError:
            pass
        finally:
            os.close(self._fd)
            self._fd = None
        if self._created_folder:
            try:
                os.rmdir(self.model_dir)  # only if empty
            except OSError:
                pass

    # --------------------------------------------------------------------------------------

    def _open_locked(self):
        """Opens the lock file and locks it; refuses if another process holds it."""
        while True:
            with write_errors.reporting(self.path):
                fd = os.open(self.path, os.O_RDWR | os.O_CREAT, 0o644)
            try:
                fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
            except OSError as error:
                holder = self._read_holder_of_locked_file(fd)
                os.close(fd)
                if error.errno in (errno.EWOULDBLOCK, errno.EAGAIN, errno.EACCES):
                    raise RunFolderBusyError(
                        f"{self.model_dir} is in use by another trainer: "
                        f"{describe_holder(holder)} (lock {self.path}). Wait for it to end or "
                        "stop it, or train into another --model_dir.") from None
                raise
            try:
                same_file = os.fstat(fd).st_ino == os.stat(self.path).st_ino
            except FileNotFoundError:
                same_file = False
            if same_file:
                return fd
            os.close(fd)  # released (removed) between our open and our lock: try again

    def _check_stale(self, previous):
        """The file names a holder but is not locked: take it over if that process is gone."""
        here = socket.gethostname()
        if previous.get("host") != here:
            raise RunFolderBusyError(
                f"{self.model_dir} may be in use by another trainer: {describe_holder(previous)} "
                f"(lock {self.path}); from host {here} it cannot be told whether that process "
                "still runs. Remove the lock file once it is known to be gone.")
        pid = previous.get("pid")
        # A pid of this very process (a restarted container keeps its host name and pids)
        # is told apart by its start time, as any reused pid.
        if isinstance(pid, int) and not _alive(pid, previous.get("process_start_ticks")):
            self.log(f"Warning: taking over the lock {self.path} of "
                     f"{describe_holder(previous)}, which no longer runs.")
            return
        raise RunFolderBusyError(
            f"{self.model_dir} is in use by another trainer: {describe_holder(previous)} "
            f"(lock {self.path}, not locked: a file system without locks?). Wait for it to end "
            "or stop it, or train into another --model_dir.")

    @staticmethod
    def _holder():
        return {
            "pid": os.getpid(),
            "host": socket.gethostname(),
            "started": datetime.datetime.now().astimezone().isoformat(timespec="seconds"),
            "process_start_ticks": _process_start_ticks(os.getpid()),
            "command": " ".join(sys.argv)[:1000],
        }

    def _read_holder_of_locked_file(self, fd):
        """The holder of a file another process has locked. The holder locks the file before
        it writes its record, so a trainer started at the same moment can find it empty or
        half written: wait for the record a little (`HOLDER_WAIT_SECONDS`) before calling the
        holder unknown."""
        deadline = time.monotonic() + HOLDER_WAIT_SECONDS
        holder = self._read(fd)
        while not holder and time.monotonic() < deadline:
            time.sleep(0.05)
            holder = self._read(fd)
        return holder

    @staticmethod
    def _read(fd):
        try:
            os.lseek(fd, 0, os.SEEK_SET)
            text = os.read(fd, 1 << 16).decode("utf-8", "replace")
            return json.loads(text) if text.strip() else None
        except (OSError, ValueError):
            return {}

    @staticmethod
    def _write(fd, holder):
        data = (json.dumps(holder, indent=1) + "\n").encode()
        os.ftruncate(fd, 0)
        os.lseek(fd, 0, os.SEEK_SET)
        os.write(fd, data)
        os.fsync(fd)


def read_holder(model_dir):
    """The holder recorded in `model_dir`'s lock file, or None if there is none (it may be
    stale: only `RunLock.acquire` tells)."""
    try:
        with open(layout.lock_file(model_dir)) as handle:
            text = handle.read()
        return json.loads(text) if text.strip() else None
    except (OSError, ValueError):
        return None
