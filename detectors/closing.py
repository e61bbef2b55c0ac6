"""Event-time watermarks per series, and closing windows: read from SQL, score, learn, record.

`SeriesDetectors` holds one detector and one watermark per series that this worker owns. When
the watermark passes a window's end, the window is closed in SQL (an atomic claim, so a
redelivered tick or a second worker never scores it twice), scored from its final aggregate,
learnt, and any finding above the alert score becomes an `Anomaly` row. Windows without
mentions are closed and scored as zero. Nothing here knows about Faust.
"""

from __future__ import annotations

import threading
from collections.abc import Hashable, Iterable
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import Engine, Table, bindparam, func, select, update
from sqlmodel import Session

from detectors.anomaly_rows import anomaly_id, example_mention_ids
from detectors.config import DetectionConfig
from detectors.count_spike import CountSpikeDetector, Finding
from detectors.explain import describe
from detectors.feedback import alert_score_for
from detectors.findings import VOLUME_RECORD
from detectors.judging import judge_window, learn_window
from detectors.record_store import warm_records
from detectors.records import RecordDetector
from detectors.snapshots import load_snapshot, save_snapshot, snapshot_due
from detectors.term_store import save_terms, warm_terms, window_terms
from detectors.terms import TERM_BURST, TermBurstDetector, TermCount, encode_top_terms
from monitor.storage.db import insert_for, session_scope
from monitor.storage.models import Anomaly, RecordBaseline, SeasonalBaseline, SeriesWindow
from streams.windows import window_starts_between

_WARM_WINDOWS = 500
_DETECTOR_NAMES = {TERM_BURST: "term-burst", VOLUME_RECORD: "record"}


@dataclass(frozen=True, slots=True)
class DetectedAnomaly:
    """What the detect agent publishes: small, the details stay in SQL."""

    anomaly_id: str
    series: str
    window_start: datetime
    metric: str
    score: float
    severity: str


@dataclass(slots=True)
class SeriesState:
    series: str
    detector: CountSpikeDetector
    next_window: datetime | None
    watermark: datetime | None = None
    partition: int | None = None
    live: bool = False
    closed: int = field(default=0)
    terms: TermBurstDetector = field(default_factory=TermBurstDetector)
    season_saved: datetime | None = None  # the window through which the profile is stored
    records: RecordDetector = field(default_factory=RecordDetector)
    records_saved: datetime | None = None


def _windows() -> Table:
    return SeriesWindow.__table__  # type: ignore[attr-defined]


def _features(row: Any) -> dict[Hashable, Any]:
    """A window row (start, n, n_negative, sum_compound) as the detector's features; the start
    lets the detector learn and apply its daily and weekly seasonality."""
    return {
        "start": row[0],
        "n": int(row[1]),
        "n_negative": int(row[2]),
        "sum_compound": float(row[3] or 0.0),
    }


class SeriesDetectors:
    """The detect stage's state for the series of this worker's partitions."""

    def __init__(self, engine: Engine, config: DetectionConfig) -> None:
        self.engine = engine
        self.config = config
        self._states: dict[str, SeriesState] = {}
        self._lock = threading.Lock()
        self._step = timedelta(seconds=config.window_seconds)
        self._lateness = timedelta(seconds=config.allowed_lateness_seconds)
        self._horizon = timedelta(seconds=config.live_horizon_seconds)

    @property
    def series(self) -> list[str]:
        return sorted(self._states)

    def on_touch(
        self,
        series: str,
        start: datetime,
        watermark: datetime,
        observed_at: datetime,
        partition: int | None,
    ) -> list[DetectedAnomaly]:
        """A batch added mentions to (series, window); advance that series to ``watermark``."""
        with self._lock:
            state = self._states.get(series) or self._warm(series)
            state.partition = partition
            if state.next_window is None:
                state.next_window = start
            return self._observe(state, watermark, observed_at)

    def on_watermark(
        self, partition: int | None, watermark: datetime, observed_at: datetime
    ) -> list[DetectedAnomaly]:
        """Event time moved on for every series of ``partition`` (None: all series here)."""
        found: list[DetectedAnomaly] = []
        with self._lock:
            for state in list(self._states.values()):
                if partition is None or state.partition == partition:
                    found.extend(self._observe(state, watermark, observed_at))
        return found

    def advance_live(self, now: datetime) -> list[DetectedAnomaly]:
        """Wall clock moves live series on, so quiet windows close too."""
        found: list[DetectedAnomaly] = []
        with self._lock:
            for state in list(self._states.values()):
                if state.live:
                    found.extend(self._advance(state, now - self._lateness, now))
        return found

    def expected_volume(self, series: str, start: datetime) -> tuple[float, float, float]:
        """Expected mentions in the window starting at ``start``, with its usual range."""
        with self._lock:
            state = self._states.get(series) or self._warm(series)
            return state.detector.volume_band(start)

    def forget_partitions(self, partitions: Iterable[int]) -> None:
        """Partitions moved to another worker: drop their state; it warms from SQL there."""
        gone = set(partitions)
        with self._lock:
            for key in [k for k, s in self._states.items() if s.partition in gone]:
                del self._states[key]

    def _observe(
        self, state: SeriesState, watermark: datetime, observed_at: datetime
    ) -> list[DetectedAnomaly]:
        state.live = observed_at - watermark <= self._horizon
        return self._advance(state, watermark, observed_at)

    def _warm(self, series: str) -> SeriesState:
        """Rebuild a series' detector from its stored, closed windows."""
        detector = self.config.detector.build()
        with Session(self.engine) as session:
            windows = _windows()
            rows = session.execute(
                select(
                    windows.c.window_start,
                    windows.c.n,
                    windows.c.n_negative,
                    windows.c.sum_compound,
                )
                .where(windows.c.series == series, windows.c.closed.is_(True))
                .order_by(windows.c.window_start.desc())
                .limit(_WARM_WINDOWS)
            ).all()
            next_window: datetime | None = None
            if rows:
                next_window = rows[0][0] + self._step
            else:
                next_window = session.execute(
                    select(func.min(windows.c.window_start)).where(
                        windows.c.series == series, windows.c.closed.is_(False)
                    )
                ).scalar()
            terms = self.config.build_terms()
            if self.config.terms.enabled:
                terms = warm_terms(session, series, terms, self.config.max_gap_windows)
            season = load_snapshot(session, SeasonalBaseline, series)
            replay = [_features(row) for row in reversed(rows)]  # oldest first
            records, records_saved = warm_records(session, series, self.config.records, replay)
        saved_through = season[0] if season else None
        covered = [x for x in replay if saved_through is not None and x["start"] <= saved_through]
        if season:
            detector.restore_season(season[1])
        for x in covered:
            detector.replay_one(x)
        for x in replay[len(covered) :]:
            detector.learn_one(x)
        state = SeriesState(
            series,
            detector,
            next_window,
            terms=terms,
            season_saved=saved_through,
            records=records,
            records_saved=records_saved,
        )
        self._states[series] = state
        return state

    def _advance(
        self, state: SeriesState, watermark: datetime, now: datetime
    ) -> list[DetectedAnomaly]:
        if state.watermark is not None and watermark <= state.watermark:
            return []
        state.watermark = watermark
        if state.next_window is None:
            return []
        starts = window_starts_between(state.next_window, watermark, self.config.window_seconds)
        if not starts:
            return []
        last = starts[-1]
        if len(starts) > self.config.max_gap_windows:
            # A long silence: score the windows that hold mentions and only the most recent
            # empty ones, instead of teaching the detector a month of zeros one by one.
            recent = starts[-self.config.max_gap_windows :]
            with_mentions = self._windows_with_mentions(state.series, starts[0], recent[0])
            starts = sorted(set(with_mentions) | set(recent))
        found = self._close(state, starts, now)
        state.next_window = last + self._step
        return found

    def _windows_with_mentions(
        self, series: str, first: datetime, before: datetime
    ) -> list[datetime]:
        table = _windows()
        with Session(self.engine) as session:
            return list(
                session.execute(
                    select(table.c.window_start).where(
                        table.c.series == series,
                        table.c.window_start >= first,
                        table.c.window_start < before,
                        table.c.closed.is_(False),
                        table.c.n > 0,
                    )
                ).scalars()
            )

    def _close(
        self, state: SeriesState, starts: list[datetime], now: datetime
    ) -> list[DetectedAnomaly]:
        """Close windows (ascending) in one transaction with a constant few statements."""
        found: list[DetectedAnomaly] = []
        table = _windows()
        in_run = (
            (table.c.series == state.series)
            & (table.c.window_start >= starts[0])
            & (table.c.window_start <= starts[-1])
        )
        with session_scope(self.engine) as session:
            session.execute(
                insert_for(session, table).on_conflict_do_nothing(
                    index_elements=["series", "window_start"]
                ),
                [
                    {
                        "series": state.series,
                        "window_start": s,
                        "window_seconds": self.config.window_seconds,
                    }
                    for s in starts
                ],
            )
            # The claim: only windows still open flip, so a redelivered tick or a second worker
            # never scores a window twice.
            counts = (table.c.window_start, table.c.n, table.c.n_negative, table.c.sum_compound)
            claimed = {
                row[0]: _features(row)
                for row in session.execute(
                    update(table)
                    .where(in_run & table.c.closed.is_(False))
                    .values(closed=True, closed_at=now)
                    .returning(*counts)
                )
            }
            earlier = {}
            if len(claimed) < len(starts):
                earlier = {
                    row[0]: _features(row) for row in session.execute(select(*counts).where(in_run))
                }
            verdicts = []
            # This series' own alert score, if feedback has moved it.
            alert = alert_score_for(session, series=state.series, settings=self.config.detector)
            # Windows without mentions say no terms: most live ticks close only such windows.
            with_mentions = any(x["n"] for x in (*claimed.values(), *earlier.values()))
            terms = (
                window_terms(session, state.series, starts, self.config.window_seconds)
                if self.config.terms.enabled and with_mentions
                else {}
            )
            for start in starts:
                if start not in claimed:  # closed before: keep the detector in step, no verdict
                    x = earlier.get(start, _features((start, 0, 0, 0.0)))
                    x["terms"] = terms.get(start, {})
                    learn_window(x, state.detector, state.terms, state.records)
                    continue
                x = claimed[start]
                x["terms"] = terms.get(start, {})
                judged = judge_window(
                    self.config, state.detector, state.terms, state.records, x, alert
                )
                learn_window(x, state.detector, state.terms, state.records)
                state.closed += 1
                verdicts.append(
                    {
                        "b_start": start,
                        "b_score": judged.score,
                        "b_expected": judged.expected_volume,
                    }
                )
                for finding, severity in judged.reported:
                    found.append(
                        self._record(
                            session, state.series, start, finding, now, judged.top_terms, severity
                        )
                    )
            if verdicts:
                session.execute(
                    update(table)
                    .where(table.c.series == state.series)
                    .where(table.c.window_start == bindparam("b_start"))
                    .values(score=bindparam("b_score"), expected_n=bindparam("b_expected")),
                    verdicts,
                )
            if terms:
                save_terms(session, state.series, state.terms, starts[-1])
            if snapshot_due(self.config.records.enabled, state.records_saved, starts[-1]):
                snapshot = state.records.snapshot()
                save_snapshot(session, RecordBaseline, state.series, starts[-1], snapshot)
                state.records_saved = starts[-1]
            if snapshot_due(self.config.detector.seasonal, state.season_saved, starts[-1]):
                save_snapshot(
                    session,
                    SeasonalBaseline,
                    state.series,
                    starts[-1],
                    state.detector.season_snapshot(),
                )
                state.season_saved = starts[-1]
        return found

    def _record(
        self,
        session: Session,
        series: str,
        start: datetime,
        finding: Finding,
        now: datetime,
        top_terms: list[TermCount],
        severity: str,
    ) -> DetectedAnomaly:
        end = start + self._step
        aid = anomaly_id(series, start, finding.metric)
        examples = example_mention_ids(
            session, series, start, end, limit=self.config.incidents.examples
        )
        row = {
            "anomaly_id": aid,
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
            "summary": describe(finding, self.config.window_seconds),
            "example_mention_ids": " ".join(examples),
            "detected_at": now,
            "top_terms": encode_top_terms(top_terms),
        }
        table = Anomaly.__table__  # type: ignore[attr-defined]
        session.execute(
            insert_for(session, table)
            .values(row)
            .on_conflict_do_nothing(index_elements=["anomaly_id"])
        )
        return DetectedAnomaly(aid, series, start, finding.metric, finding.score, severity)
