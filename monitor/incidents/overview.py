"""The live overview: volume, negative share and mean sentiment of one series over the last
hour, day or week, from the closed and open window aggregates.

Points are buckets of whole windows (a minute over the last hour, ten minutes over a day, an
hour over a week), so a week is 168 points however small the windows are.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

from sqlalchemy import Engine, func, text
from sqlmodel import Session, col, select

from detectors.series import DRILL_PREFIX, GLOBAL
from monitor.storage.models import SeriesWindow
from streams.windows import window_start

# range name -> (span, bucket)
RANGES: dict[str, tuple[timedelta, timedelta]] = {
    "hour": (timedelta(hours=1), timedelta(minutes=1)),
    "day": (timedelta(days=1), timedelta(minutes=10)),
    "week": (timedelta(days=7), timedelta(hours=1)),
}
MAX_KEYS = 2000


class UnknownSeries(LookupError):
    """No window of this series is stored."""


@dataclass(frozen=True, slots=True)
class SeriesPoint:
    start: datetime
    n: int
    negative_share: float | None  # None when the bucket has no mention
    mean_sentiment: float | None

    def as_json(self) -> dict[str, Any]:
        return {
            "start": self.start.isoformat(),
            "n": self.n,
            "negative_share": self.negative_share,
            "mean_sentiment": self.mean_sentiment,
        }


@dataclass(frozen=True, slots=True)
class SeriesHistory:
    series: str
    range: str
    bucket_seconds: int
    start: datetime
    end: datetime  # now, or the end of the series' newest window when its data is older
    points: list[SeriesPoint]

    def as_json(self) -> dict[str, Any]:
        return {
            "series": self.series,
            "range": self.range,
            "bucket_seconds": self.bucket_seconds,
            "start": self.start.isoformat(),
            "end": self.end.isoformat(),
            "points": [p.as_json() for p in self.points],
        }


# Every series name, one index probe each (a loose index scan on SQLite and PostgreSQL alike,
# as retention does), instead of DISTINCT over every stored window on each page load.
_SERIES_NAMES = text(
    """
    WITH RECURSIVE names(series) AS (
        SELECT MIN(series) FROM series_windows
        UNION ALL
        SELECT (SELECT MIN(w.series) FROM series_windows w WHERE w.series > names.series)
        FROM names WHERE names.series IS NOT NULL
    )
    SELECT series FROM names
    WHERE series IS NOT NULL AND series <> :global AND series NOT LIKE :drill
    LIMIT :limit
    """
)


def series_keys(engine: Engine, *, limit: int = MAX_KEYS) -> list[str]:
    """The series with stored windows, `global` first, then by kind and name; drill twins and
    anything past ``limit`` are left out."""
    with Session(engine) as session:
        has_global = session.exec(
            select(SeriesWindow.series).where(SeriesWindow.series == GLOBAL).limit(1)
        ).first()
        others = session.execute(
            _SERIES_NAMES, {"global": GLOBAL, "drill": f"{DRILL_PREFIX}%", "limit": limit}
        ).all()
    keys = [GLOBAL] if has_global else []
    return (keys + sorted(str(row[0]) for row in others))[:limit]


def series_history(engine: Engine, *, series: str, range_name: str, now: datetime) -> SeriesHistory:
    """The series over the range ending now (or at its newest window, when older: a replay)."""
    span, bucket = RANGES[range_name]
    with Session(engine) as session:
        newest = session.exec(
            select(func.max(SeriesWindow.window_start)).where(SeriesWindow.series == series)
        ).first()
        if newest is None:
            if series != GLOBAL:
                raise UnknownSeries(f"no windows stored for series {series!r}")
            newest = now
        seconds = session.exec(
            select(SeriesWindow.window_seconds).where(SeriesWindow.series == series).limit(1)
        ).first()
        newest_end = newest.astimezone(UTC) + timedelta(seconds=seconds or 60)
        end = newest_end if newest_end < now - span else now
        step = max(bucket, timedelta(seconds=seconds or 60))
        first = window_start(end - span, int(step.total_seconds()))
        rows = session.exec(
            select(
                SeriesWindow.window_start,
                SeriesWindow.n,
                SeriesWindow.n_negative,
                SeriesWindow.sum_compound,
            ).where(
                SeriesWindow.series == series,
                col(SeriesWindow.window_start) >= first,
                col(SeriesWindow.window_start) < end,
            )
        ).all()
    size = int(step.total_seconds())
    sums: dict[datetime, tuple[int, int, float]] = {}
    for start, n, negative, compound in rows:
        key = window_start(start.astimezone(UTC), size)
        n0, negative0, compound0 = sums.get(key, (0, 0, 0.0))
        sums[key] = (n0 + n, negative0 + negative, compound0 + compound)
    points = []
    at = first
    while at < end:
        n, negative, compound = sums.get(at, (0, 0, 0.0))
        points.append(
            SeriesPoint(
                start=at,
                n=n,
                negative_share=negative / n if n else None,
                mean_sentiment=compound / n if n else None,
            )
        )
        at += step
    return SeriesHistory(series, range_name, size, first, end, points)
