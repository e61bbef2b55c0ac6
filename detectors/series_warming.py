"""Series warmed from SQL: new ones in bulk, those with a stored past rebuilt from it."""

from __future__ import annotations

from datetime import datetime, timedelta

from sqlalchemy import Engine, func, select
from sqlmodel import Session

from detectors.close_batch import features, first_open_windows, stored_history, windows_table
from detectors.config import DetectionConfig
from detectors.record_store import warm_records
from detectors.series_state import SeriesState
from detectors.snapshots import load_snapshot
from detectors.term_store import warm_terms
from monitor.storage.models import SeasonalBaseline

# Closed windows a series' detector is rebuilt from: retention keeps at least these per series.
WARM_WINDOWS = 500


class SeriesWarming:
    """The half of `SeriesDetectors` that rebuilds a series' state from what SQL holds."""

    engine: Engine
    config: DetectionConfig
    _states: dict[str, SeriesState]
    _step: timedelta

    def _warm_many(self, unknown: set[str]) -> None:
        """New series start fresh without a query each; only those with a stored past (a
        restart, a rebalance, an evicted series that speaks again) are warmed one by one.
        A first batch over 50,000 new series would otherwise cost 200,000 queries."""
        if not unknown:
            return
        names = sorted(unknown)
        with Session(self.engine) as session:
            known = stored_history(session, names)
            first_open = first_open_windows(session, [n for n in names if n not in known])
        for series in names:
            if series in known:
                self._warm(series)
                continue
            self._states[series] = SeriesState(
                series,
                self.config.detector.build(),
                first_open.get(series),
                terms=self.config.build_terms(),
                records=self.config.records.build(),
            )

    def _warm(self, series: str) -> SeriesState:
        """Rebuild a series' detector from its stored, closed windows."""
        detector = self.config.detector.build()
        with Session(self.engine) as session:
            windows = windows_table()
            rows = session.execute(
                select(
                    windows.c.window_start,
                    windows.c.n,
                    windows.c.n_negative,
                    windows.c.sum_compound,
                )
                .where(windows.c.series == series, windows.c.closed.is_(True))
                .order_by(windows.c.window_start.desc())
                .limit(WARM_WINDOWS)
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
            replay = [features(row) for row in reversed(rows)]  # oldest first
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
            closed_through=rows[0][0] if rows else None,
        )
        self._states[series] = state
        return state
