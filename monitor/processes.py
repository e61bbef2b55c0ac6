"""Child processes that cannot outlive their parent.

`crisismon run` owns a broker and a worker. Ctrl-C stops them in order, but a parent killed by
SIGKILL runs no cleanup at all, so on Linux each child also asks the kernel (``PR_SET_PDEATHSIG``)
to be killed the moment its parent dies.
"""

from __future__ import annotations

import ctypes
import logging.config
import os
import signal
import subprocess
import sys
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import IO, Any

_PR_SET_PDEATHSIG = 1


def tie_to_parent(parent_pid: int) -> None:
    """Called in a child: be killed when ``parent_pid`` dies (the worker's detect and scoring
    processes call it first thing, or a worker killed by SIGKILL would leave them running)."""
    if sys.platform.startswith("linux"):
        libc = ctypes.CDLL("libc.so.6", use_errno=True)
        libc.prctl(_PR_SET_PDEATHSIG, signal.SIGKILL)
    # The parent may have died between the start and prctl; then nobody would ever signal us.
    if os.getppid() != parent_pid:
        os._exit(1)


def start_pool_child(parent_pid: int, log_config: dict[str, Any] | None) -> None:
    """First thing in a worker's detect or scoring process: die with the worker, leave Ctrl-C
    to it (the terminal sends SIGINT to every process of the group, and a pool process waiting
    for work would print a KeyboardInterrupt traceback), and log as it does."""
    tie_to_parent(parent_pid)
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    if log_config is not None:
        logging.config.dictConfig(log_config)


def _die_with_parent(parent_pid: int) -> Callable[[], None]:
    def _in_child() -> None:
        tie_to_parent(parent_pid)

    return _in_child


def spawn_tied(
    argv: Sequence[str],
    *,
    env: dict[str, str] | None = None,
    stdout: IO[bytes] | int | None = None,
    stderr: IO[bytes] | int | None = None,
    own_process_group: bool = False,
    cwd: Path | None = None,
) -> subprocess.Popen[bytes]:
    """Start ``argv`` so that it is killed when this process dies, however it dies.

    ``own_process_group`` keeps terminal Ctrl-C away from the child so the parent decides the
    order of shutdown (the broker must stop after the worker has let go of it).
    """
    return subprocess.Popen(
        list(argv),
        env=env,
        stdout=stdout,
        stderr=stderr,
        cwd=cwd,
        start_new_session=own_process_group,
        preexec_fn=_die_with_parent(os.getpid()),
    )


def stop_process(proc: subprocess.Popen[bytes], *, grace: float, sig: int = signal.SIGTERM) -> int:
    """Signal ``proc``, wait up to ``grace`` seconds, then kill it. Returns its exit code."""
    if proc.poll() is None:
        proc.send_signal(sig)
        try:
            proc.wait(timeout=grace)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait(timeout=5)
    return proc.returncode
