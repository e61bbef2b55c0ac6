"""Shared steps of the integration tests: publish files, read back what the service stored."""

from __future__ import annotations

import asyncio
from collections import Counter
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from sqlalchemy import Engine, func, select
from sqlmodel import Session

from detectors.series import decode_keys
from monitor.privacy import Privacy
from monitor.settings import Settings
from monitor.storage.db import make_engine
from monitor.storage.models import Mention, SeriesWindow
from streams.replay import ReplayReport, replay
from streams.scenario import write_jsonl
from streams.windows import window_start
from tests.conftest import TEST_PSEUDONYM_KEY


def engine_for(database_url: str) -> Engine:
    return make_engine(Settings(database_url=database_url).resolved_database_url)


def publish(path: Path, *, broker_url: str, namespace: str) -> ReplayReport:
    return asyncio.run(
        replay(
            path,
            broker_url=broker_url,
            mentions_topic=f"{namespace}.mentions.raw",
            dead_letter_topic=f"{namespace}.dead-letter",
            privacy=Privacy.from_key(TEST_PSEUDONYM_KEY),
        )
    )


def write(items: list[dict[str, Any]], path: Path) -> Path:
    return write_jsonl(items, path)


def mention_count(engine: Engine) -> int:
    with Session(engine) as session:
        return int(session.execute(select(func.count()).select_from(Mention)).scalar_one())


def closed_windows(engine: Engine, series: str) -> int:
    table = SeriesWindow.__table__  # type: ignore[attr-defined]
    with Session(engine) as session:
        return int(
            session.execute(
                select(func.count())
                .select_from(table)
                .where(table.c.series == series, table.c.closed.is_(True))
            ).scalar_one()
        )


def aggregates_vs_recount(
    engine: Engine,
) -> tuple[dict[Any, tuple[int, int]], dict[Any, tuple[int, int]]]:
    """Stored aggregates and a recount from the mentions table, keyed by (series, window)."""
    mentions = Mention.__table__  # type: ignore[attr-defined]
    windows = SeriesWindow.__table__  # type: ignore[attr-defined]
    with Session(engine) as session:
        stored = {
            (row.series, row.window_start): (row.n, row.n_negative)
            for row in session.execute(select(windows)).all()
            if row.n or row.n_negative
        }
        seconds = {row.window_seconds for row in session.execute(select(windows)).all()}
        rows = session.execute(
            select(mentions.c.series_keys, mentions.c.event_time, mentions.c.label)
        ).all()
    assert len(seconds) <= 1, f"mixed window sizes {seconds}"
    size = seconds.pop() if seconds else 60
    totals: Counter[Any] = Counter()
    negatives: Counter[Any] = Counter()
    for keys, event_time, label in rows:
        start = window_start(event_time.astimezone(UTC), size)
        for key in decode_keys(keys):
            totals[(key, start)] += 1
            negatives[(key, start)] += label == "negative"
    recount = {key: (totals[key], negatives[key]) for key in totals}
    return stored, recount


def fixed_end() -> datetime:
    """Old event times: the worker treats the data as a replay, closing windows by event time."""
    return datetime(2026, 1, 5, 12, 0, tzinfo=UTC)
