"""Tumbling event-time windows, and the per-(series, window) deltas a batch adds.

>>> from datetime import UTC, datetime
>>> window_start(datetime(2026, 1, 1, 10, 0, 59, tzinfo=UTC), 60).isoformat()
'2026-01-01T10:00:00+00:00'
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta


def window_start(moment: datetime, seconds: int) -> datetime:
    """Start of the tumbling window of ``seconds`` that contains ``moment``."""
    epoch = int(moment.timestamp())
    return datetime.fromtimestamp(epoch - epoch % seconds, tz=UTC)


def window_starts_between(first: datetime, stop: datetime, seconds: int) -> list[datetime]:
    """Window starts from ``first`` while the window ends at or before ``stop``.

    >>> t = datetime(2026, 1, 1, tzinfo=UTC)
    >>> [w.minute for w in window_starts_between(t, t + timedelta(seconds=150), 60)]
    [0, 1]
    """
    step = timedelta(seconds=seconds)
    starts = []
    current = first
    while current + step <= stop:
        starts.append(current)
        current += step
    return starts


@dataclass(slots=True)
class WindowDelta:
    """What one batch adds to one (series, window) aggregate."""

    n: int = 0
    n_negative: int = 0
    sum_compound: float = 0.0
    n_rated: int = 0
    sum_rating: float = 0.0
    n_copies: int = 0


@dataclass(frozen=True, slots=True)
class Counted:
    """The parts of a scored mention that windows care about."""

    series_keys: tuple[str, ...]
    event_time: datetime
    compound: float
    negative: bool
    rating: float | None = None
    copy: bool = False  # a near-duplicate: counted in n_copies, never in the volume


def aggregate(items: Iterable[Counted], seconds: int) -> dict[tuple[str, datetime], WindowDelta]:
    """Sum mentions into per-(series, window) deltas, sorted by key.

    Sorted order matters: two workers upserting overlapping keys in the same order cannot
    deadlock each other.

    >>> t = datetime(2026, 1, 1, 10, 0, 5, tzinfo=UTC)
    >>> deltas = aggregate([Counted(("global",), t, -0.5, True),
    ...                     Counted(("global",), t, 0.5, False)], 60)
    >>> d = deltas[("global", window_start(t, 60))]
    >>> d.n, d.n_negative, d.sum_compound
    (2, 1, 0.0)
    """
    deltas: dict[tuple[str, datetime], WindowDelta] = {}
    for item in items:
        start = window_start(item.event_time, seconds)
        for key in item.series_keys:
            delta = deltas.setdefault((key, start), WindowDelta())
            if item.copy:
                delta.n_copies += 1
                continue
            delta.n += 1
            delta.n_negative += int(item.negative)
            delta.sum_compound += item.compound
            if item.rating is not None:
                delta.n_rated += 1
                delta.sum_rating += item.rating
    return dict(sorted(deltas.items()))
