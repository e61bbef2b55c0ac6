"""The memory bench's service: a fresh embedded one per run, and what its worker log says."""

from __future__ import annotations

import re
import secrets
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

from pydantic import SecretStr

from monitor.settings import Settings
from monitor.shell.service import Service, pick_web_port

NAMESPACE = "benchmem"


class BenchError(RuntimeError):
    """The benchmark could not run or did not finish; one readable line (or a log excerpt)."""


@dataclass(slots=True)
class Scratch:
    """A temporary directory for one run: config, data dir, worker log, replay files."""

    root: Path

    @property
    def worker_log(self) -> Path:
        return self.root / "worker.log"


@contextmanager
def running_service(scratch: Scratch, config_dir: Path) -> Iterator[Service]:
    """A fresh embedded service on ``scratch``; stopped (worker, then broker) afterwards."""
    settings = Settings(
        broker="embedded",
        data_dir=scratch.root / "data",
        config_dir=config_dir,
        namespace=NAMESPACE,
        database_url=None,
        pseudonym_key=SecretStr(secrets.token_hex(32)),
    )
    service = Service(settings, web_port=pick_web_port(), worker_log=scratch.worker_log)
    try:
        try:
            service.start()
        except Exception as exc:
            raise BenchError(f"service did not start: {exc}{log_excerpt(scratch)}") from exc
        yield service
    finally:
        service.stop()


def log_excerpt(scratch: Scratch, lines: int = 25) -> str:
    """The end of the worker log, to quote in an error before the directory is removed."""
    try:
        tail = scratch.worker_log.read_text(encoding="utf-8", errors="replace").splitlines()
    except OSError:
        return ""
    return "\n--- worker log (last lines) ---\n" + "\n".join(tail[-lines:]) if tail else ""


def log_problems(scratch: Scratch, limit: int = 12) -> list[str]:
    """Lines of the worker log that report an error, a warning of lag, or a traceback."""
    try:
        text = scratch.worker_log.read_text(encoding="utf-8", errors="replace")
    except OSError:
        return []
    markers = ("Traceback", "ERROR", "CRITICAL", "Error:", "Timed out", "lagging", "MemoryError")
    found = [line.strip()[:300] for line in text.splitlines() if any(m in line for m in markers)]
    return found[:limit] + ([f"... and {len(found) - limit} more"] if len(found) > limit else [])


def timer_drift(scratch: Scratch) -> dict[str, float | int]:
    """Faust's "woke up too late" lines: how long the worker's event loop was held up."""
    try:
        text = scratch.worker_log.read_text(encoding="utf-8", errors="replace")
    except OSError:
        return {"late_timers": 0, "max_timer_drift_s": 0.0}
    drifts = [float(found) for found in _DRIFT.findall(text)]
    return {"late_timers": len(drifts), "max_timer_drift_s": round(max(drifts, default=0.0), 2)}


_DRIFT = re.compile(r"woke up too late, with a drift of \+([0-9.]+)")
