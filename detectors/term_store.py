"""Where the term-burst detector's inputs and memory live in SQL.

A window's term counts are read when the window closes, from the mentions counted in it,
rather than kept per (series, window) by ingest: ingest stays one upsert per window aggregate,
and each window's texts are read once, when it is judged. The detector's learnt baseline is
saved as a snapshot in the transaction that closes the windows, so a restarted or rebalanced
worker continues from exactly what was learnt.
"""

from __future__ import annotations

import json
from datetime import datetime, timedelta

from sqlalchemy import func, select
from sqlmodel import Session

from detectors.series import encode_keys
from detectors.terms import TermBurstDetector
from detectors.vocabulary import count_terms
from monitor.storage.db import insert_for
from monitor.storage.models import Mention, SeriesWindow, TermBaseline
from streams.windows import window_start


def window_terms(
    session: Session, series: str, starts: list[datetime], window_seconds: int
) -> dict[datetime, dict[str, int]]:
    """Term counts (mentions saying each term) per window from ``starts[0]`` to ``starts[-1]``.

    Windows without mentions are absent. Near-duplicate copies are left out, as they are from
    the window's volume.
    """
    mentions = Mention.__table__.c  # type: ignore[attr-defined]
    rows = session.execute(
        select(mentions.event_time, mentions.text).where(
            mentions.event_time >= starts[0],
            mentions.event_time < starts[-1] + timedelta(seconds=window_seconds),
            mentions.series_keys.contains(encode_keys([series]), autoescape=True),
            mentions.canonical_id.is_(None),
        )
    ).all()
    texts: dict[datetime, list[str]] = {}
    for event_time, text in rows:
        texts.setdefault(window_start(event_time, window_seconds), []).append(text)
    return {start: count_terms(found) for start, found in texts.items()}


def save_terms(
    session: Session, series: str, detector: TermBurstDetector, through: datetime
) -> None:
    """The baseline after the windows up to ``through``, in the caller's transaction."""
    table = TermBaseline.__table__  # type: ignore[attr-defined]
    state = json.dumps(detector.snapshot(), separators=(",", ":"), ensure_ascii=False)
    upsert = insert_for(session, table).values(series=series, through_window=through, state=state)
    session.execute(
        upsert.on_conflict_do_update(
            index_elements=["series"], set_={"through_window": through, "state": state}
        )
    )


def warm_terms(
    session: Session, series: str, detector: TermBurstDetector, max_gap_windows: int
) -> TermBurstDetector:
    """``detector`` restored from the series' snapshot, then taught the windows closed since.

    Those are all empty: a close that holds a window with mentions writes a new snapshot.
    """
    saved = session.get(TermBaseline, series)
    if saved is None:
        return detector
    detector.restore(json.loads(saved.state))
    windows = SeriesWindow.__table__.c  # type: ignore[attr-defined]
    quiet_since = session.execute(
        select(func.count()).where(
            windows.series == series,
            windows.closed.is_(True),
            windows.window_start > saved.through_window,
        )
    ).scalar_one()
    for _ in range(min(int(quiet_since), max_gap_windows)):
        detector.learn_one({"n": 0})
    return detector
