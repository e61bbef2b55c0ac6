"""Event-time watermarks per detect partition, and windows that close at their own deadline.

`SeriesDetectors` holds one detector per series that this worker owns, and for each partition
a clock (its event-time watermark, or the wall clock while the partition is live) and a heap of
the series' next deadlines. A closing pass pops only the series whose next window has ended, so
its work follows what is due, not how many series exist; the due windows of all those series
are closed in one transaction (`detectors.close_batch`). Windows without mentions are closed
and scored as zero. Series quiet for longer than ``idle_series_seconds`` are dropped from memory
and warm again from SQL when they speak. Nothing here knows about Faust.
"""

from __future__ import annotations

import heapq
import logging
import threading
import time
from collections.abc import Iterable
from datetime import datetime, timedelta

from sqlalchemy import Engine, select
from sqlalchemy.exc import DBAPIError
from sqlmodel import Session

from detectors.close_batch import DetectedAnomaly, DuePlan, close_due, windows_table
from detectors.config import DetectionConfig
from detectors.pass_texts import PassTexts
from detectors.series import DRILL_PREFIX
from detectors.series_state import ANY_PARTITION, PartitionClock, SeriesState
from detectors.series_warming import WARM_WINDOWS, SeriesWarming
from detectors.term_forget import forget_unsaid_terms
from monitor.storage.outage import is_outage
from streams.windows import window_starts_between

__all__ = ["WARM_WINDOWS", "DetectedAnomaly", "SeriesDetectors", "SeriesState"]

# A closing pass over many series commits every this many series: each transaction is atomic
# for its own series, and SQLite's single writer (ingest) is never held off for long.
_SERIES_PER_TRANSACTION = 2_000
_YIELD_SECONDS = 0.005

log = logging.getLogger(__name__)


def _drill_restarted(state: SeriesState, start: datetime) -> bool:
    """Mentions for a drill twin's window that this worker closed already: a new drill."""
    return (
        state.series.startswith(DRILL_PREFIX)
        and state.closed_through is not None
        and start <= state.closed_through
    )


class SeriesDetectors(SeriesWarming):
    """The detect stage's state for the series of this worker's partitions."""

    def __init__(self, engine: Engine, config: DetectionConfig) -> None:
        self.engine = engine
        self.config = config
        self._states: dict[str, SeriesState] = {}
        self._partitions: dict[int, PartitionClock] = {}
        self._lock = threading.Lock()
        self._step = timedelta(seconds=config.window_seconds)
        self._lateness = timedelta(seconds=config.allowed_lateness_seconds)
        self._horizon = timedelta(seconds=config.live_horizon_seconds)
        self._idle = timedelta(seconds=config.idle_series_seconds)
        self._last_sweep: datetime | None = None
        self.evicted = 0

    @property
    def series(self) -> list[str]:
        return sorted(self._states)

    @property
    def live_series(self) -> int:
        return len(self._states)

    def on_batch(
        self,
        partition: int | None,
        touched: Iterable[tuple[str, datetime]],
        watermark: datetime,
        observed_at: datetime,
    ) -> list[DetectedAnomaly]:
        """One ingest batch's tick for ``partition``: the (series, window) pairs it added
        mentions to, and how far event time has got. Closes every window now due."""
        key = ANY_PARTITION if partition is None else partition
        touched = list(touched)
        with self._lock:
            clock = self._partitions.setdefault(key, PartitionClock())
            self._warm_many({series for series, _ in touched if series not in self._states})
            for series, start in touched:
                state = self._states.get(series)
                if state is not None and _drill_restarted(state, start):
                    # `crisismon drill start` rewrote this twin in SQL: forget what this worker
                    # learnt of the last drill, or the new drill's windows would never be scored.
                    state.due = None
                    state = self._warm(series)
                state = state or self._warm(series)
                if state.closed_through is not None and start <= state.closed_through:
                    clock.late.setdefault(series, set()).add(start)
                if state.partition != key:
                    state.partition = key
                    state.due = None  # scheduled on another partition's heap: schedule here
                if state.next_window is None or (
                    state.closed_through is None and start < state.next_window
                ):
                    # Batches do not arrive in event-time order (partitions, several ingest
                    # workers): until a series has closed a window, an earlier window that
                    # gains mentions is where its closing starts.
                    state.next_window = start
                    state.due = None
                # Idle time is measured in event time since the series last spoke.
                spoke = max(start, watermark)
                if state.last_touched is None or spoke > state.last_touched:
                    state.last_touched = spoke
                self._schedule(state, clock)
            clock.live = observed_at - watermark <= self._horizon
            found = self._close(clock, watermark, observed_at)
            self._evict_idle(observed_at)
            return found

    def on_touch(
        self,
        series: str,
        start: datetime,
        watermark: datetime,
        observed_at: datetime,
        partition: int | None,
    ) -> list[DetectedAnomaly]:
        """A batch added mentions to (series, window); event time reached ``watermark``."""
        return self.on_batch(partition, [(series, start)], watermark, observed_at)

    def on_watermark(
        self, partition: int | None, watermark: datetime, observed_at: datetime
    ) -> list[DetectedAnomaly]:
        """Event time moved on for every series of ``partition`` (None: all series here)."""
        if partition is not None:
            return self.on_batch(partition, (), watermark, observed_at)
        found: list[DetectedAnomaly] = []
        with self._lock:
            for clock in list(self._partitions.values()):
                clock.live = observed_at - watermark <= self._horizon
                found.extend(self._close(clock, watermark, observed_at))
        return found

    def advance_live(self, now: datetime) -> list[DetectedAnomaly]:
        """Wall clock moves live partitions on, so quiet windows close at their deadline.

        Cheap when nothing is due (a look at each heap's top), so it may run often."""
        found: list[DetectedAnomaly] = []
        with self._lock:
            for clock in list(self._partitions.values()):
                if clock.live:
                    found.extend(self._close(clock, now - self._lateness, now))
            self._evict_idle(now)
        return found

    def next_deadline(self) -> datetime | None:
        """The earliest end of a window that waits to close on a live partition."""
        # Read without the lock: the event loop asks this often and must never wait for a
        # closing pass in another thread. A stale answer only moves a check by one interval.
        due = []
        for clock in list(self._partitions.values()):
            try:
                if clock.live:
                    due.append(clock.heap[0][0])
            except IndexError:
                continue
        return min(due) + self._lateness if due else None

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
            for partition in gone:
                self._partitions.pop(partition, None)

    def forget_erased_words(self, *, at_most: float) -> int:
        """After an erasure: the terms only erased mentions said leave these detectors and
        their stored snapshots (`detectors.term_forget`); how many."""
        with self._lock:
            held = {name: state.terms for name, state in self._states.items()}
            return forget_unsaid_terms(self.engine, held, at_most=at_most)

    def _schedule(self, state: SeriesState, clock: PartitionClock) -> None:
        if state.due is not None or state.next_window is None:
            return
        state.due = state.next_window + self._step
        heapq.heappush(clock.heap, (state.due, state.series))

    def _close(
        self, clock: PartitionClock, watermark: datetime, now: datetime
    ) -> list[DetectedAnomaly]:
        # Event time never goes back; series scheduled since the last pass may already be due.
        if clock.watermark is None or watermark > clock.watermark:
            clock.watermark = watermark
        watermark = clock.watermark
        plans: list[DuePlan] = []
        lasts: list[datetime] = []
        while clock.heap and clock.heap[0][0] <= watermark:
            due, series = heapq.heappop(clock.heap)
            state = self._states.get(series)
            if state is None or state.due != due or state.next_window is None:
                continue  # evicted, moved, or rescheduled since: a stale entry
            state.due = None
            starts = window_starts_between(state.next_window, watermark, self.config.window_seconds)
            lasts.append(starts[-1])
            plans.append(DuePlan(state, self._skip_long_silence(series, starts)))
        if clock.late:
            planned = {plan.state.series: plan for plan in plans}
            for series, behind in clock.late.items():
                late_state = self._states.get(series)
                if late_state is None:
                    continue
                plan = planned.get(series)
                if plan is None:
                    plan = DuePlan(late_state, [])
                    plans.append(plan)
                    lasts.append(late_state.closed_through or min(behind))
                plan.late = sorted(behind)
            clock.late = {}
        if not plans:
            return []
        found: list[DetectedAnomaly] = []
        texts = PassTexts(max(lasts), self.config.window_seconds)
        closed = 0
        try:
            for offset in range(0, len(plans), _SERIES_PER_TRANSACTION):
                if offset:
                    time.sleep(_YIELD_SECONDS)  # let ingest take the database in between
                chunk = plans[offset : offset + _SERIES_PER_TRANSACTION]
                found.extend(close_due(self.engine, self.config, chunk, now, texts))
                closed = offset + len(chunk)
        except DBAPIError as exc:
            if not is_outage(exc):
                raise
            # The database went away mid-pass. What committed stays closed and its anomalies
            # are returned; the rest is due again, so the next pass (the next batch, or the
            # live check) closes it once the database answers. Nothing is skipped.
            log.warning(
                "database unavailable while closing windows; %d series wait for the next pass",
                len(plans) - closed,
            )
            for plan in plans[closed:]:
                self._schedule(self._states[plan.state.series], clock)
                if plan.late:
                    clock.late.setdefault(plan.state.series, set()).update(plan.late)
        for plan, last in zip(plans[:closed], lasts[:closed], strict=True):
            state = self._states[plan.state.series]
            state.next_window = last + self._step
            state.closed_through = last
            self._schedule(state, clock)
        return found

    def _skip_long_silence(self, series: str, starts: list[datetime]) -> list[datetime]:
        """After a long silence, score the windows that hold mentions and only the most recent
        empty ones, instead of teaching the detector a month of zeros one by one."""
        if len(starts) <= self.config.max_gap_windows:
            return starts
        recent = starts[-self.config.max_gap_windows :]
        table = windows_table()
        with Session(self.engine) as session:
            with_mentions = session.execute(
                select(table.c.window_start).where(
                    table.c.series == series,
                    table.c.window_start >= starts[0],
                    table.c.window_start < recent[0],
                    table.c.closed.is_(False),
                    table.c.n > 0,
                )
            ).scalars()
            return sorted(set(with_mentions) | set(recent))

    def _evict_idle(self, now: datetime) -> None:
        """Forget series whose newest mention is older than the idle limit, at most once a
        minute: memory stays bounded by the series that spoke recently."""
        if self._last_sweep is not None and now - self._last_sweep < timedelta(minutes=1):
            return
        self._last_sweep = now
        for series, state in list(self._states.items()):
            clock = self._partitions.get(state.partition)
            watermark = clock.watermark if clock else None
            touched = state.last_touched or state.next_window
            if watermark is not None and touched is not None and watermark - touched > self._idle:
                del self._states[series]
                self.evicted += 1
