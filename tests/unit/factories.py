"""Rows for the unit tests, made through the project's own code paths (no hand-written SQL)."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from datetime import UTC, datetime, timedelta
from typing import Any

from sqlalchemy import Engine, select
from sqlmodel import Session

from detectors.count_spike import Finding
from detectors.explain import describe
from detectors.sentiment import VaderScorer
from monitor.storage.models import Anomaly, Mention, SeriesWindow
from streams.ingest import ScoredMention, StoredBatch, score_batch, store_batch
from streams.mentions import MentionIn

T0 = datetime(2026, 1, 5, 10, 0, tzinfo=UTC)
WINDOW = 60
STEP = timedelta(seconds=WINDOW)
LATER = T0 + timedelta(days=1)  # an ingest/observation time far after the event times

NEUTRAL = "How do I export my invoices to CSV?"
NEGATIVE = "Your site is DOWN again, payments failing. Terrible, I am furious!"

SCORER = VaderScorer()  # loading the lexicon is the slow part; share one


def mention(
    external_id: object, *, at: datetime = T0, source: str = "tickets", text: str = NEUTRAL
) -> MentionIn:
    return MentionIn(source=source, external_id=str(external_id), text=text, event_time=at)


def scored(mentions: Iterable[MentionIn]) -> list[ScoredMention]:
    return score_batch(list(mentions), SCORER)


def store(
    engine: Engine,
    mentions: Iterable[MentionIn],
    *,
    now: datetime = LATER,
    progress: dict[int, datetime] | None = None,
) -> StoredBatch:
    return store_batch(engine, scored(mentions), window_seconds=WINDOW, now=now, progress=progress)


def window_mentions(index: int, n: int, n_negative: int, *, tag: str = "w") -> list[MentionIn]:
    """``n`` mentions in the ``index``-th window after T0, ``n_negative`` of them angry."""
    start = T0 + index * STEP
    return [
        mention(
            f"{tag}{index}-{k}",
            at=start + timedelta(seconds=k % 60),
            text=NEGATIVE if k < n_negative else NEUTRAL,
        )
        for k in range(n)
    ]


def store_windows(engine: Engine, counts: Sequence[tuple[int, int]], *, first: int = 0) -> None:
    """Store (n, n_negative) per consecutive window, starting at window ``first``."""
    batch: list[MentionIn] = []
    for offset, (n, n_negative) in enumerate(counts):
        batch.extend(window_mentions(first + offset, n, n_negative))
    store(engine, batch)


def windows(engine: Engine, series: str) -> dict[datetime, Any]:
    """Every stored window of ``series`` by start, as rows with n, closed, closed_at, score…"""
    table = SeriesWindow.__table__  # type: ignore[attr-defined]
    with Session(engine) as session:
        rows = session.execute(
            select(table).where(table.c.series == series).order_by(table.c.window_start)
        ).all()
    return {row.window_start: row for row in rows}


def mentions_by_id(engine: Engine) -> dict[str, Mention]:
    with Session(engine, expire_on_commit=False) as session:
        return {m.mention_id: m for m in session.execute(select(Mention)).scalars()}


def anomalies(engine: Engine) -> list[Anomaly]:
    with Session(engine, expire_on_commit=False) as session:
        query = select(Anomaly).order_by(Anomaly.window_start, Anomaly.metric)  # type: ignore[arg-type]
        return list(session.execute(query).scalars())


def add_anomaly(
    engine: Engine,
    anomaly_id: str,
    *,
    series: str = "global",
    start: datetime = T0,
    severity: str = "warning",
    metric: str = "volume",
    score: float = 6.0,
    summary: str = describe(Finding("volume", 58, 11.2, 4, 20, 9.1, 58)),
    observed: float = 58.0,
    expected: float = 11.2,
    example_mention_ids: Sequence[str] = (),
) -> None:
    with Session(engine) as session:
        session.add(
            Anomaly(
                anomaly_id=anomaly_id,
                series=series,
                window_start=start,
                window_end=start + STEP,
                detector="count-spike",
                metric=metric,
                observed=observed,
                expected=expected,
                lower=4.0,
                upper=20.0,
                score=score,
                severity=severity,
                summary=summary,
                example_mention_ids=" ".join(example_mention_ids),
                detected_at=start + STEP,
            )
        )
        session.commit()
