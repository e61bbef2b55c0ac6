"""Where the term-burst detector's inputs and memory live in SQL.

A window's term counts are read when the window closes, from the mentions counted in it,
rather than kept per (series, window) by ingest: ingest stays one upsert per window aggregate,
and each window's texts are read once, when it is judged. The detector's learnt baseline is
saved as a snapshot in the transaction that closes the windows, so a restarted or rebalanced
worker continues from exactly what was learnt.
"""

from __future__ import annotations

from datetime import datetime, timedelta

from sqlalchemy import func, select
from sqlmodel import Session

from detectors.series import encode_keys
from detectors.snapshots import load_snapshot
from detectors.terms import TermBurstDetector
from detectors.vocabulary import count_terms
from monitor.storage.models import REPLACED_TEXTS, Mention, SeriesWindow, TermBaseline
from streams.windows import window_start


def window_terms(
    session: Session, series: str, starts: list[datetime], window_seconds: int
) -> dict[datetime, dict[str, int]]:
    """Term counts (mentions saying each term) per window from ``starts[0]`` to ``starts[-1]``.

    Windows without mentions are absent. Near-duplicate copies are left out, as they are from
    the window's volume. A text retention or an erasure replaced says no terms (it would teach
    the detector "expired" and "erased"), but its mention still counts the window as busy.
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
        said = "" if text in REPLACED_TEXTS else text
        texts.setdefault(window_start(event_time, window_seconds), []).append(said)
    return {start: count_terms(found) for start, found in texts.items()}


def warm_terms(
    session: Session, series: str, detector: TermBurstDetector, max_gap_windows: int
) -> TermBurstDetector:
    """``detector`` restored from the series' snapshot, then taught the windows closed since.

    Those are all empty: a close that holds a window with mentions writes a new snapshot.
    """
    saved = load_snapshot(session, TermBaseline, series)
    if saved is None:
        return detector
    through, state = saved
    detector.restore(state)
    windows = SeriesWindow.__table__.c  # type: ignore[attr-defined]
    quiet_since = session.execute(
        select(func.count()).where(
            windows.series == series,
            windows.closed.is_(True),
            windows.window_start > through,
        )
    ).scalar_one()
    for _ in range(min(int(quiet_since), max_gap_windows)):
        detector.learn_one({"n": 0})
    return detector
