"""Close the due windows of many series in ONE transaction: claim, read, score, learn, record.

The detect stage used to open a transaction per series and per tick. With thousands of series,
those round trips were most of its cost, so a closing pass now takes every (series, window) that
is due and works on them together: one insert for missing empty windows, one claim (an atomic
``UPDATE ... WHERE closed = false RETURNING``, chunked), one read of the term texts for the
windows that hold mentions, and one update for the verdicts. Only what is per series by nature
(scoring, learning, snapshots of a series' memory) stays per series. Nothing here knows Faust.
"""

from __future__ import annotations

from collections.abc import Hashable, Iterable, Iterator, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any, Protocol, TypeVar

from sqlalchemy import Engine, Table, bindparam, func, select, tuple_, update
from sqlmodel import Session, SQLModel

from detectors.anomaly_rows import anomaly_id, example_mention_ids
from detectors.config import DetectionConfig
from detectors.count_spike import CountSpikeDetector, Finding
from detectors.explain import describe
from detectors.findings import VOLUME_RECORD
from detectors.judging import judge_window, learn_window
from detectors.pass_texts import PassTexts, pass_terms
from detectors.records import RecordDetector
from detectors.series import parent_of
from detectors.snapshots import save_snapshots, snapshot_due
from detectors.terms import TERM_BURST, TermBurstDetector, TermCount, encode_top_terms
from monitor.storage.db import insert_for, session_scope
from monitor.storage.models import (
    Anomaly,
    RecordBaseline,
    SeasonalBaseline,
    SeriesThreshold,
    SeriesWindow,
    TermBaseline,
)

_DETECTOR_NAMES = {TERM_BURST: "term-burst", VOLUME_RECORD: "record"}
# Pairs per claim statement: well under SQLite's 32,766 bound variables, few round trips.
_CHUNK = 2_000

T = TypeVar("T")


@dataclass(frozen=True, slots=True)
class DetectedAnomaly:
    """What the detect agent publishes: small, the details stay in SQL."""

    anomaly_id: str
    series: str
    window_start: datetime
    metric: str
    score: float
    severity: str


class ClosingState(Protocol):
    """What closing needs of one series' state (`detectors.series_state.SeriesState`)."""

    series: str
    detector: CountSpikeDetector
    terms: TermBurstDetector
    records: RecordDetector
    closed: int
    season_saved: datetime | None
    records_saved: datetime | None


@dataclass(slots=True)
class DuePlan:
    """One series and the window starts (ascending) that this pass closes for it."""

    state: ClosingState
    starts: list[datetime]
    # Windows before the series' closing point that gained mentions (batches arrive out of
    # event-time order across ingest workers): judged and learnt out of order if still open,
    # left alone if already closed.
    late: list[datetime] = field(default_factory=list)
    found: list[DetectedAnomaly] = field(default_factory=list)


def windows_table() -> Table:
    return SeriesWindow.__table__  # type: ignore[attr-defined]


def features(row: Sequence[Any]) -> dict[Hashable, Any]:
    """A window row (start, n, n_negative, sum_compound) as the detector's features; the start
    lets the detector learn and apply its daily and weekly seasonality."""
    return {
        "start": row[0],
        "n": int(row[1]),
        "n_negative": int(row[2]),
        "sum_compound": float(row[3] or 0.0),
    }


def _chunks(items: Sequence[T], size: int = _CHUNK) -> Iterator[Sequence[T]]:
    for offset in range(0, len(items), size):
        yield items[offset : offset + size]


def stored_history(session: Session, series: Sequence[str]) -> set[str]:
    """Which of ``series`` have closed windows or saved memories to warm from."""
    table = windows_table()
    found: set[str] = set()
    for chunk in _chunks(series):
        closed = select(table.c.series).where(table.c.series.in_(chunk), table.c.closed.is_(True))
        found.update(session.execute(closed.distinct()).scalars())
        for model in (TermBaseline, SeasonalBaseline, RecordBaseline):
            saved: Table = model.__table__  # type: ignore[union-attr]
            found.update(
                session.execute(select(saved.c.series).where(saved.c.series.in_(chunk))).scalars()
            )
    return found


def first_open_windows(session: Session, series: Sequence[str]) -> dict[str, datetime]:
    """Each series' earliest window that is still open (where its closing starts)."""
    table = windows_table()
    found: dict[str, datetime] = {}
    for chunk in _chunks(series):
        rows = session.execute(
            select(table.c.series, func.min(table.c.window_start))
            .where(table.c.series.in_(chunk), table.c.closed.is_(False))
            .group_by(table.c.series)
        )
        found.update({row[0]: row[1] for row in rows})
    return found


def close_due(
    engine: Engine,
    config: DetectionConfig,
    plans: Sequence[DuePlan],
    now: datetime,
    texts: PassTexts | None = None,
) -> list[DetectedAnomaly]:
    """Close, score and learn every planned window in one transaction; return the findings.

    A window another worker (or a redelivered tick) closed first is learnt, not judged again,
    so each window is scored exactly once across the cluster. ``texts`` shares the term texts
    between the transactions of one pass.
    """
    plans = [plan for plan in plans if plan.starts or plan.late]
    if not plans:
        return []
    table = windows_table()
    step = timedelta(seconds=config.window_seconds)
    pairs = sorted({key for plan in plans for key in _keys(plan)})
    c = table.c
    counts = (c.series, c.window_start, c.n, c.n_negative, c.sum_compound)
    with session_scope(engine) as session:
        # Empty windows have no row yet; create them so that the claim covers them too.
        # Sorted keys, as ingest upserts them: two writers cannot deadlock on PostgreSQL.
        session.execute(
            insert_for(session, table).on_conflict_do_nothing(
                index_elements=["series", "window_start"]
            ),
            [
                {"series": s, "window_start": w, "window_seconds": config.window_seconds}
                for s, w in pairs
            ],
        )
        # One expanding parameter: the statement is compiled once and cached, not once per
        # chunk with a bound name for each of its 4,000 values.
        in_pairs = tuple_(table.c.series, table.c.window_start).in_(
            bindparam("pairs", expanding=True)
        )
        claim = (
            update(table)
            .where(in_pairs, table.c.closed.is_(False))
            .values(closed=True, closed_at=bindparam("closed_now"))
            .returning(*counts)
        )
        claimed: dict[tuple[str, datetime], dict[Hashable, Any]] = {}
        for chunk in _chunks(pairs):
            for row in session.execute(claim, {"pairs": list(chunk), "closed_now": now}):
                claimed[(row[0], row[1])] = features(row[1:])
        earlier: dict[tuple[str, datetime], dict[Hashable, Any]] = {}
        others = [pair for pair in pairs if pair not in claimed]
        for chunk in _chunks(others):
            for row in session.execute(select(*counts).where(in_pairs), {"pairs": list(chunk)}):
                earlier[(row[0], row[1])] = features(row[1:])
        _add_parent_counts(session, {**claimed, **earlier})
        alert_scores = _alert_scores(session, sorted({plan.state.series for plan in plans}))
        busy = [pair for pair, x in (*claimed.items(), *earlier.items()) if x["n"]]
        if texts is None:
            newest = max(start for plan in plans for start in (*plan.late, *plan.starts))
            texts = PassTexts(newest, config.window_seconds)
        terms = pass_terms(session, busy, texts) if config.terms.enabled else {}

        verdicts: list[dict[str, Any]] = []
        anomaly_rows: list[dict[str, Any]] = []
        memories: dict[type[SQLModel], list[tuple[str, datetime, dict[str, Any]]]] = {}
        for plan in plans:
            state = plan.state
            alert = alert_scores.get(state.series)
            for start, late in [
                *((w, True) for w in plan.late),
                *((w, False) for w in plan.starts),
            ]:
                key = (state.series, start)
                x = claimed.get(key)
                if x is None and late:  # closed long ago, and learnt then
                    continue
                if x is None:  # closed before: keep the detector in step, no verdict
                    x = earlier.get(key, features((start, 0, 0, 0.0)))
                    x["terms"] = terms.get(key, {})
                    learn_window(x, state.detector, state.terms, state.records)
                    continue
                x["terms"] = terms.get(key, {})
                judged = judge_window(config, state.detector, state.terms, state.records, x, alert)
                learn_window(x, state.detector, state.terms, state.records)
                state.closed += 1
                verdicts.append(
                    {
                        "b_series": state.series,
                        "b_start": start,
                        "b_score": judged.score,
                        "b_expected": judged.expected_volume,
                    }
                )
                if judged.reported:
                    # One read of the window's example mentions for all its findings.
                    examples = example_mention_ids(
                        session, state.series, start, start + step, limit=config.incidents.examples
                    )
                for finding, severity in judged.reported:
                    anomaly = _anomaly_row(
                        config,
                        state.series,
                        (start, start + step),
                        finding,
                        now,
                        judged.top_terms,
                        severity,
                        examples,
                    )
                    anomaly_rows.append(anomaly)
                    plan.found.append(
                        DetectedAnomaly(
                            anomaly["anomaly_id"],
                            state.series,
                            start,
                            finding.metric,
                            finding.score,
                            severity,
                        )
                    )
            _remember(config, plan, any(key in terms for key in _keys(plan)), memories)
        if anomaly_rows:
            table_anomalies = Anomaly.__table__  # type: ignore[attr-defined]
            session.execute(
                insert_for(session, table_anomalies).on_conflict_do_nothing(
                    index_elements=["anomaly_id"]
                ),
                anomaly_rows,
            )
        for model, rows in memories.items():
            save_snapshots(session, model, rows)
        if verdicts:
            session.execute(
                update(table)
                .where(table.c.series == bindparam("b_series"))
                .where(table.c.window_start == bindparam("b_start"))
                .values(score=bindparam("b_score"), expected_n=bindparam("b_expected")),
                verdicts,
            )
    return [anomaly for plan in plans for anomaly in plan.found]


def _keys(plan: DuePlan) -> Iterable[tuple[str, datetime]]:
    return ((plan.state.series, start) for start in (*plan.late, *plan.starts))


def _remember(
    config: DetectionConfig,
    plan: DuePlan,
    with_terms: bool,
    memories: dict[type[SQLModel], list[tuple[str, datetime, dict[str, Any]]]],
) -> None:
    """Snapshots of what the series learnt, saved together in the closing transaction: the
    term baseline whenever a window with mentions was learnt (see term_store), the record and
    seasonal memories hourly."""
    if not plan.starts:  # only late windows: the next regular close saves what they taught
        return
    state, last = plan.state, plan.starts[-1]
    if with_terms:
        memories.setdefault(TermBaseline, []).append((state.series, last, state.terms.snapshot()))
    if snapshot_due(config.records.enabled, state.records_saved, last):
        memories.setdefault(RecordBaseline, []).append(
            (state.series, last, state.records.snapshot())
        )
        state.records_saved = last
    if snapshot_due(config.detector.seasonal, state.season_saved, last):
        memories.setdefault(SeasonalBaseline, []).append(
            (state.series, last, state.detector.season_snapshot())
        )
        state.season_saved = last


def _add_parent_counts(session: Session, windows: dict[tuple[str, datetime], Any]) -> None:
    """Give each slice's window its parent's count (``parent_n``), read in one go: slices are
    also judged by their share of ``global``. Parent windows are past their lateness too, so
    their counts are final."""
    wanted: dict[tuple[str, datetime], list[dict[Hashable, Any]]] = {}
    for (series, start), x in windows.items():
        parent = parent_of(series)
        if parent is not None:
            x["parent_n"] = 0
            wanted.setdefault((parent, start), []).append(x)
    table = windows_table()
    in_pairs = tuple_(table.c.series, table.c.window_start).in_(bindparam("p", expanding=True))
    query = select(table.c.series, table.c.window_start, table.c.n).where(in_pairs)
    for chunk in _chunks(sorted(wanted)):
        for series, start, n in session.execute(query, {"p": list(chunk)}):
            for x in wanted.get((series, start), ()):
                x["parent_n"] = int(n)


def _alert_scores(session: Session, series: list[str]) -> dict[str, float]:
    """Series whose alert score feedback has moved, with that score (one read per pass)."""
    table = SeriesThreshold.__table__  # type: ignore[attr-defined]
    scores: dict[str, float] = {}
    for chunk in _chunks(series):
        rows = session.execute(
            select(table.c.series, table.c.alert_score).where(table.c.series.in_(chunk))
        )
        scores.update({row[0]: float(row[1]) for row in rows})
    return scores


def _anomaly_row(
    config: DetectionConfig,
    series: str,
    span: tuple[datetime, datetime],
    finding: Finding,
    now: datetime,
    top_terms: list[TermCount],
    severity: str,
    examples: list[str],
) -> dict[str, Any]:
    start, end = span
    return {
        "anomaly_id": anomaly_id(series, start, finding.metric),
        "series": series,
        "window_start": start,
        "window_end": end,
        "detector": _DETECTOR_NAMES.get(finding.metric, "count-spike"),
        "metric": finding.metric,
        "observed": finding.observed,
        "expected": finding.expected,
        "lower": finding.lower,
        "upper": finding.upper,
        "score": finding.score,
        "severity": severity,
        "summary": describe(finding, config.window_seconds),
        "example_mention_ids": " ".join(examples),
        "detected_at": now,
        "top_terms": encode_top_terms(top_terms),
    }
