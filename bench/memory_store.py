"""The memory bench's read-only questions to the service's database."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import Engine, case, distinct, func, or_, select
from sqlmodel import Session

from monitor.storage.models import IngestProgress, Mention, SeriesWindow


def _hm(value: datetime | str | None) -> str:
    """A window start as HH:MM (SQLite may hand back text in an aggregate)."""
    if value is None:
        return "never"
    if isinstance(value, str):
        value = datetime.fromisoformat(value)
    return f"{value:%H:%M}"


class Store:
    """Read-only questions to the service's database."""

    def __init__(self, engine: Engine) -> None:
        self.engine = engine
        self._w = SeriesWindow.__table__.c  # type: ignore[attr-defined]

    def close(self) -> None:
        self.engine.dispose()

    def stored(self) -> int:
        with Session(self.engine) as session:
            return int(session.execute(select(func.count()).select_from(Mention)).scalar_one())

    def newest_event(self) -> datetime | None:
        with Session(self.engine) as session:
            return session.execute(select(func.max(Mention.event_time))).scalar()

    def high_water(self) -> datetime | None:
        """The engine's event time: the lowest per-partition highest event time stored."""
        with Session(self.engine) as session:
            return session.execute(select(func.min(IngestProgress.max_event_time))).scalar()

    def open_due(self, last_due: datetime) -> int:
        """Open windows that start by ``last_due``: after catching up, each is one that was
        left behind (only windows with mentions have a row before they close)."""
        w = self._w
        with Session(self.engine) as session:
            query = select(func.count()).where(w.closed.is_(False), w.window_start <= last_due)
            return int(session.execute(query).scalar_one())

    def lagging_series(self, last_due: datetime) -> int:
        """Series with a window due by ``last_due`` whose closed windows do not reach it yet.

        Empty windows get their row only when they close, so a series behind on its empty
        windows shows no open row: this compares each series' last closed window instead."""
        w = self._w
        per_series = (
            select(
                func.min(w.window_start).label("first"),
                func.max(case((w.closed.is_(True), w.window_start))).label("last_closed"),
            )
            .group_by(w.series)
            .subquery()
        )
        query = (
            select(func.count())
            .select_from(per_series)
            .where(
                per_series.c.first <= last_due,
                or_(per_series.c.last_closed.is_(None), per_series.c.last_closed < last_due),
            )
        )
        with Session(self.engine) as session:
            return int(session.execute(query).scalar_one())

    def stuck(self, last_due: datetime, limit: int = 5) -> list[str]:
        """For an error message: series with open windows due by ``last_due`` (their earliest
        open window, how many are open, and their last closed window)."""
        w = self._w
        query = (
            select(
                w.series,
                func.min(case((w.closed.is_(False), w.window_start))),
                func.sum(case((w.closed.is_(False), 1), else_=0)),
                func.max(case((w.closed.is_(True), w.window_start))),
            )
            .group_by(w.series)
            .having(func.min(case((w.closed.is_(False), w.window_start))) <= last_due)
            .limit(limit)
        )
        with Session(self.engine) as session:
            rows = session.execute(query).all()
        return [
            f"{series}: open from {_hm(first)} ({n} open), last closed {_hm(last)}"
            for series, first, n, last in rows
        ]

    def lagging(self, last_due: datetime, limit: int = 5) -> list[str]:
        """For an error message: series whose closed windows do not reach ``last_due``."""
        w = self._w
        last_closed = func.max(case((w.closed.is_(True), w.window_start)))
        query = (
            select(
                w.series,
                func.min(w.window_start),
                func.max(w.window_start),
                func.count(),
                func.sum(case((w.closed.is_(False), 1), else_=0)),
                last_closed,
            )
            .group_by(w.series)
            .having(
                func.min(w.window_start) <= last_due,
                or_(last_closed.is_(None), last_closed < last_due),
            )
            .limit(limit)
        )
        with Session(self.engine) as session:
            rows = session.execute(query).all()
        return [
            f"{series}: windows {_hm(first)}-{_hm(last)} ({n} rows, {n_open} open), "
            f"last closed {_hm(closed)}"
            for series, first, last, n, n_open, closed in rows
        ]

    def live_series(self, since: datetime) -> int:
        w = self._w
        with Session(self.engine) as session:
            query = select(func.count(distinct(w.series))).where(w.window_start >= since)
            return int(session.execute(query).scalar_one())

    def closed_windows(self) -> int:
        w = self._w
        with Session(self.engine) as session:
            query = select(func.count()).where(w.closed.is_(True))
            return int(session.execute(query).scalar_one())
