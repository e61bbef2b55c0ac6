"""The runtime file: how `crisismon replay` finds the embedded broker `crisismon run` started."""

from __future__ import annotations

import json
import os
from dataclasses import asdict, dataclass
from pathlib import Path


@dataclass(frozen=True, slots=True)
class RuntimeInfo:
    broker_url: str
    web_url: str
    pid: int


def write_runtime(path: Path, info: RuntimeInfo) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_suffix(".tmp")
    tmp.write_text(json.dumps(asdict(info)), encoding="utf-8")
    tmp.replace(path)


def read_runtime(path: Path) -> RuntimeInfo | None:
    """The running service's addresses, or None if none runs (a stale file is ignored)."""
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
        info = RuntimeInfo(**data)
    except (OSError, ValueError, TypeError):
        return None
    try:
        os.kill(info.pid, 0)
    except ProcessLookupError:
        return None
    except PermissionError:
        pass
    return info


def clear_runtime(path: Path, pid: int) -> None:
    info = read_runtime(path)
    if info is not None and info.pid == pid:
        path.unlink(missing_ok=True)
