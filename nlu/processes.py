"""Child processes (the Rasa server, ``rasa train``) that never outlive this process.

``spawn(cmd, ...)``
    ``subprocess.Popen`` with two guarantees. The child leads a session of its own, so it and
    anything it forks are signalled as one group (and a Ctrl-C in the terminal reaches only us:
    we decide how the child stops). On Linux the kernel is asked to SIGKILL the child when the
    thread that spawned it dies, so a SIGKILLed or crashed parent leaves no child behind (the
    parent-death signal is set by a tiny launcher that then execs the command, so no
    ``preexec_fn`` runs in a process that has threads). SIGKILL because nobody is left to wait
    for a graceful exit, and the children here keep no state worth flushing. Spawn from a thread
    that lives as long as the child (the main thread or the thread waiting for it): the kernel
    counts the *thread*, not the process, as the parent.

``stop(proc, grace)``
    SIGTERM to the child's group, up to ``grace`` seconds for the child to exit, then SIGKILL to
    whatever is left of the group.

``stop_all(grace)``
    Stops every child spawned here that is still running; also run at interpreter exit.
"""

from __future__ import annotations

import atexit
import contextlib
import os
import shutil
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Sequence
from typing import IO, Any

#: prctl(2) option setting the signal a process gets when its parent thread dies.
PR_SET_PDEATHSIG = 1

# argv: parent pid, command... Exits 1 without running the command when the parent died before
# the parent-death signal was armed (it would never come).
_LAUNCHER = f"""\
import ctypes, os, signal, sys
libc = ctypes.CDLL(None, use_errno=True)
if libc.prctl({PR_SET_PDEATHSIG}, signal.SIGKILL, 0, 0, 0) != 0:
    raise OSError(ctypes.get_errno(), "prctl(PR_SET_PDEATHSIG) failed")
if os.getppid() != int(sys.argv[1]):
    sys.exit(1)
os.execv(sys.argv[2], sys.argv[2:])
"""

_children: set[subprocess.Popen[bytes]] = set()
_children_lock = threading.Lock()


def _launcher_command(cmd: Sequence[str]) -> list[str]:
    executable = shutil.which(cmd[0])
    if executable is None:
        # What Popen would raise, before the launcher hides it behind its own exit code.
        raise FileNotFoundError(2, "No such file or directory", cmd[0])
    if not sys.platform.startswith("linux"):
        return [executable, *cmd[1:]]
    # -I: the launcher ignores PYTHON* variables and user site-packages (the command still gets
    # the full environment through execv).
    return [sys.executable, "-I", "-c", _LAUNCHER, str(os.getpid()), executable, *cmd[1:]]


def spawn(cmd: Sequence[str], *, stdout: int | IO[Any] | None = None,
          stderr: int | IO[Any] | None = None, env: dict[str, str] | None = None,
          cwd: str | os.PathLike[str] | None = None) -> subprocess.Popen[bytes]:
    """Start ``cmd`` in its own session, dying with this process; see the module docstring."""
    proc = subprocess.Popen(_launcher_command(cmd), stdout=stdout, stderr=stderr,
                            stdin=subprocess.DEVNULL, env=env, cwd=cwd, start_new_session=True)
    with _children_lock:
        # Children that were waited for elsewhere (returncode known) need no stopping.
        _children.difference_update([child for child in _children if child.returncode is not None])
        _children.add(proc)
    return proc


def signal_group(proc: subprocess.Popen[bytes], signum: int) -> None:
    """``signum`` to the child's process group (it leads it), if it has not been reaped."""
    if proc.returncode is None:
        with contextlib.suppress(ProcessLookupError, PermissionError):
            os.killpg(proc.pid, signum)


def _leader_exited(proc: subprocess.Popen[bytes], timeout: float) -> bool:
    """Wait up to ``timeout`` s for the child to exit, leaving it unreaped (a zombie): while it
    is, its pid cannot be reused, so its process group can still be signalled safely."""
    deadline = time.monotonic() + timeout
    while True:
        if proc.returncode is not None:
            return True
        try:
            if os.waitid(os.P_PID, proc.pid, os.WEXITED | os.WNOWAIT | os.WNOHANG) is not None:
                return True
        except ChildProcessError:  # reaped meanwhile by another thread's poll()
            return True
        if time.monotonic() >= deadline:
            return False
        time.sleep(0.05)


def stop(proc: subprocess.Popen[bytes], grace: float = 15.0) -> int:
    """Stop the child and its group: SIGTERM to the group, up to ``grace`` s for the child to
    exit, then SIGKILL to whatever is left of the group. The child's exit code."""
    if proc.returncode is None:
        signal_group(proc, signal.SIGTERM)
        _leader_exited(proc, grace)
        # Also after a clean exit: what the child forked must not outlive it.
        signal_group(proc, signal.SIGKILL)
        proc.wait()
    with _children_lock:
        _children.discard(proc)
    return proc.returncode


def running_children() -> list[subprocess.Popen[bytes]]:
    """The children spawned here that have not been stopped (for diagnostics and tests)."""
    with _children_lock:
        return [proc for proc in _children if proc.poll() is None]


def stop_all(grace: float = 15.0) -> None:
    """Stop every child spawned here that is still running."""
    with _children_lock:
        children = list(_children)
    for proc in children:
        stop(proc, grace)


atexit.register(stop_all)
