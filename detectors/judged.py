"""What a replay or a backtest will have judged, in words a user reads after running one.

Two things keep a mention from being judged, and both surprised users who saw "published 478
mentions" and no incident: its window was already closed (event time has moved past it, often
because live traffic dated *now* arrived first), or it fell in a series' first windows, which
only train the detectors (``detector.warmup_windows``).
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import Engine, func
from sqlmodel import Session, col, select

from monitor.storage.models import SeriesWindow

GLOBAL = "global"


@dataclass(frozen=True)
class Judged:
    """How many of a file's mentions detection will judge, and why the others not."""

    mentions: int
    first: datetime | None
    last: datetime | None
    window_seconds: int
    warmup_windows: int
    # Mentions dated before the end of the last window the service has closed.
    late: int = 0
    closed_until: datetime | None = None
    # Windows of `global` the service had closed before this file (None offline).
    closed_windows: int | None = None


def closed_until(engine: Engine) -> tuple[datetime | None, int]:
    """The end of the newest closed ``global`` window, and how many are closed."""
    with Session(engine) as session:
        newest = session.exec(
            select(SeriesWindow)
            .where(SeriesWindow.series == GLOBAL, col(SeriesWindow.closed).is_(True))
            .order_by(col(SeriesWindow.window_start).desc())
            .limit(1)
        ).first()
        if newest is None:
            return None, 0
        count = session.exec(
            select(func.count())
            .select_from(SeriesWindow)
            .where(SeriesWindow.series == GLOBAL, col(SeriesWindow.closed).is_(True))
        ).one()
        return newest.window_start + timedelta(seconds=newest.window_seconds), count


def judge(
    event_times: Iterable[datetime],
    *,
    window_seconds: int,
    warmup_windows: int,
    closed_until: datetime | None = None,
    closed_windows: int | None = None,
) -> Judged:
    times = list(event_times)
    late = sum(1 for at in times if closed_until is not None and at < closed_until)
    return Judged(
        mentions=len(times),
        first=min(times, default=None),
        last=max(times, default=None),
        window_seconds=window_seconds,
        warmup_windows=warmup_windows,
        late=late,
        closed_until=closed_until,
        closed_windows=closed_windows,
    )


def _span(seconds: float) -> str:
    minutes = round(seconds / 60)
    if minutes < 120:
        return f"{minutes} min"
    hours = minutes / 60
    return f"{hours:.0f} h" if hours < 48 else f"{hours / 24:.1f} days"


def describe(judged: Judged, *, live: bool) -> list[str]:
    """Sentences for the end of `crisismon replay` (``live``) or `crisismon backtest`."""
    if judged.mentions == 0 or judged.first is None or judged.last is None:
        return ["no valid mention to judge"]
    lines: list[str] = []
    span = (judged.last - judged.first).total_seconds() + judged.window_seconds
    windows = max(1, round(span / judged.window_seconds))
    lines.append(
        f"the file spans {judged.first:%Y-%m-%d %H:%M}–{judged.last:%Y-%m-%d %H:%M} UTC: "
        f"about {windows:,} windows of {judged.window_seconds}s per series"
    )
    warmup = _span(judged.warmup_windows * judged.window_seconds)
    if live and judged.late:
        judged_count = judged.mentions - judged.late
        lines.append(
            f"{judged.late:,} of {judged.mentions:,} mentions fall in windows the service "
            f"has already closed (its event time has reached "
            f"{judged.closed_until:%Y-%m-%d %H:%M} UTC): they are stored and counted, but no "
            f"detector will judge them ({judged_count:,} will be). Replay into a fresh data "
            "directory (CRISISMON_DATA_DIR), or judge the file offline with "
            "`crisismon backtest FILE`"
        )
    if live and judged.closed_windows is not None and judged.closed_windows < judged.warmup_windows:
        lines.append(
            f"the service has closed {judged.closed_windows} windows of global so far; a series "
            f"is judged after its first {judged.warmup_windows} windows ({warmup}), which only "
            "train the detectors"
        )
    if not live:
        if windows <= judged.warmup_windows:
            lines.append(
                f"nothing was judged: a series is judged after its first "
                f"{judged.warmup_windows} windows ({warmup}), and this file spans only "
                f"{windows}; give it more history before the part you want judged"
            )
        else:
            lines.append(
                f"judged: each series after its first {judged.warmup_windows} windows "
                f"({warmup}), which only trained the detectors"
            )
    return lines
