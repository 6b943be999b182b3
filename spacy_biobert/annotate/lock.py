"""One writer per OUTPUT: an exclusive `fcntl` lock held for the whole of a run.

Two runs on the same OUTPUT would share its manifest and shards: one could merge and remove the shards
while the other still writes them, and OUTPUT could end up empty. So a run first takes an exclusive,
non-blocking `flock` on `.OUTPUT.lock` (beside the shards) and holds it until it returns; a second run
fails at once, naming the process that holds it (its pid is written into the lock file just after the
lock is taken, so a run refused in that instant waits up to `HOLDER_PID_WAIT` seconds for it). The kernel
releases the lock when its process ends, however it ends (SIGKILL included), so a killed run never
leaves a stale lock behind. The lock file itself is left in place: removing it could let two runs lock
two different files of the same name.
"""
import errno
import fcntl
import os
import time
from pathlib import Path
from types import TracebackType
from typing import Optional, Type

from ..errors import AnnotateError, Errors

# Seconds a refused run waits for the holder's pid to appear in the lock file (it is written just after the
# lock is taken), and how often it looks.
HOLDER_PID_WAIT = 1.0
HOLDER_PID_POLL = 0.01


def lock_path(output: Path) -> Path:
    """The lock file of a run on OUTPUT."""
    return output.with_name(f".{output.name}.lock")


class OutputLock:
    """`with OutputLock(output):` — the exclusive right to write OUTPUT, its manifest, shards and errors file."""

    def __init__(self, output: Path) -> None:
        self.output = output
        self.path = lock_path(output)
        self._fd: Optional[int] = None

    def __enter__(self) -> "OutputLock":
        self.acquire()
        return self

    def __exit__(self, exc_type: Optional[Type[BaseException]], exc: Optional[BaseException],
                 tb: Optional[TracebackType]) -> None:
        self.release()

    def acquire(self) -> None:
        """Take the lock or raise `AnnotateError`: E515 when another process holds it, E516 when OUTPUT's
        folder cannot be written."""
        try:
            if self.output.is_dir():
                raise IsADirectoryError(errno.EISDIR, "OUTPUT is a folder, not a file", str(self.output))
            self.output.parent.mkdir(parents=True, exist_ok=True)
            fd = os.open(self.path, os.O_RDWR | os.O_CREAT, 0o644)
        except OSError as err:
            raise AnnotateError(Errors.E516.format(output=self.output, detail=_os_detail(err))) from err
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except OSError as err:
            held = err.errno in (errno.EWOULDBLOCK, errno.EAGAIN, errno.EACCES)
            holder = _holder_pid(fd) if held else ""
            os.close(fd)
            if held:
                raise AnnotateError(Errors.E515.format(output=self.output, pid=holder, lock=self.path)) from None
            raise AnnotateError(Errors.E516.format(output=self.output, detail=_os_detail(err))) from err
        os.ftruncate(fd, 0)
        os.pwrite(fd, f"{os.getpid()}\n".encode("ascii"), 0)
        self._fd = fd

    def release(self) -> None:
        if self._fd is not None:
            fcntl.flock(self._fd, fcntl.LOCK_UN)
            os.close(self._fd)
            self._fd = None


def _holder_pid(fd: int) -> str:
    """The pid in the lock file, waiting up to `HOLDER_PID_WAIT` for one of a live process: the holder truncates
    the file and writes its pid just after taking the lock, so a run refused in that instant would read nothing
    or a finished run's pid. After the wait, whatever the file holds (a pid of another host, say) or "unknown"."""
    deadline = time.monotonic() + HOLDER_PID_WAIT
    while True:
        text = os.pread(fd, 64, 0).decode("ascii", errors="replace").strip()
        if text.isdigit() and _is_running(int(text)):
            return text
        if time.monotonic() >= deadline:
            return text or "unknown"
        time.sleep(HOLDER_PID_POLL)


def _is_running(pid: int) -> bool:
    """Whether a process with this pid exists on this host (signal 0 checks without sending anything)."""
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        pass
    return True


def _os_detail(err: OSError) -> str:
    reason = err.strerror or type(err).__name__
    return f"{reason}: {err.filename}" if err.filename else reason
