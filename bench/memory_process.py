"""Process memory from /proc: a process's VmRSS, a worker and all it started, the slope."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from monitor.shell.service import Service


def rss_kb(pid: int | None) -> int | None:
    """Resident memory of ``pid`` in KB (VmRSS), None if it is gone or unreadable."""
    if pid is None:
        return None
    try:
        with open(f"/proc/{pid}/status", encoding="ascii") as status:
            for line in status:
                if line.startswith("VmRSS:"):
                    return int(line.split()[1])
    except (OSError, ValueError, IndexError):
        return None
    return None


def descendants(pid: int) -> list[int]:
    """Every process below ``pid`` (children's children too), from /proc."""
    found: list[int] = []
    todo = [pid]
    while todo:
        parent = todo.pop()
        try:
            tasks = list(Path(f"/proc/{parent}/task").iterdir())
        except OSError:
            continue
        for task in tasks:
            try:
                children = [int(c) for c in (task / "children").read_text().split()]
            except (OSError, ValueError):
                continue
            found.extend(children)
            todo.extend(children)
    return found


@dataclass(frozen=True, slots=True)
class Memory:
    """Resident memory of the worker process, of each process it started (its detect process
    and scoring processes, largest first), and of the broker, in KB."""

    worker_kb: int | None
    children_kb: tuple[int, ...]
    broker_kb: int | None

    @classmethod
    def of(cls, service: Service) -> Memory:
        worker = service.worker.pid if service.worker is not None else None
        broker = service.broker.pid if service.broker is not None else None
        children: list[int] = []
        if worker is not None:
            sizes = [rss_kb(pid) for pid in descendants(worker)]
            children = sorted((size for size in sizes if size is not None), reverse=True)
        return cls(rss_kb(worker), tuple(children), rss_kb(broker))

    @property
    def total_kb(self) -> int | None:
        """The worker and everything it started: what one worker costs the machine."""
        return None if self.worker_kb is None else self.worker_kb + sum(self.children_kb)

    def as_dict(self) -> dict[str, Any]:
        return {
            "worker_total_rss_mb": mb(self.total_kb),
            "worker_rss_mb": mb(self.worker_kb),
            "worker_children_rss_mb": [mb(kb) for kb in self.children_kb],
            "broker_rss_mb": mb(self.broker_kb),
        }


def mb(kb: int | None) -> float | None:
    return None if kb is None else round(kb / 1024, 1)


def slope_kb_per_1k(points: Sequence[tuple[int, int | None]], warmup: float = 0.2) -> float | None:
    """Least-squares slope of (mentions, KB) after the first ``warmup`` share, per 1,000.

    >>> slope_kb_per_1k([(0, 900), (100_000, 1_000), (200_000, 1_100), (300_000, 1_200)])
    1.0
    >>> slope_kb_per_1k([(10, 5)]) is None
    True
    """
    known = [(x, y) for x, y in points if y is not None]
    if not known:
        return None
    last = max(x for x, _ in known)
    kept = [(x, y) for x, y in known if x >= warmup * last]
    if len(kept) < 2:
        return None
    mean_x = sum(x for x, _ in kept) / len(kept)
    mean_y = sum(y for _, y in kept) / len(kept)
    spread = sum((x - mean_x) ** 2 for x, _ in kept)
    if spread == 0:
        return None
    slope = sum((x - mean_x) * (y - mean_y) for x, y in kept) / spread
    return round(slope * 1000, 3)
