"""Records in the live pipeline: warm a series' record detector, and judge a closed window.

The record memory is weeks long, far more than a restart replays, so the detector is saved as a
snapshot (`record_baselines`, at most hourly, in the closing transaction) and restored before the
replay of the windows after it.
"""

from __future__ import annotations

from collections.abc import Hashable
from datetime import datetime
from typing import Any

from sqlmodel import Session

from detectors.config import RecordSettings
from detectors.findings import Finding
from detectors.records import RecordDetector
from detectors.snapshots import load_snapshot
from monitor.storage.models import RecordBaseline


def warm_records(
    session: Session, series: str, settings: RecordSettings, replay: list[dict[Hashable, Any]]
) -> tuple[RecordDetector, datetime | None]:
    """The series' record detector as saved, caught up on the replayed windows after the save;
    and the window it was saved through."""
    detector = settings.build()
    saved = load_snapshot(session, RecordBaseline, series) if settings.enabled else None
    through = None
    if saved is not None:
        through, state = saved
        detector.restore(state)
    for x in replay:
        if through is None or x["start"] > through:
            detector.learn_one(x)
    return detector, through


def record_finding(
    settings: RecordSettings, detector: RecordDetector, x: dict[Hashable, Any], alerting: bool
) -> tuple[Finding, str] | None:
    """A full record worth storing with its severity: on its own only when records alert,
    otherwise as the explanation of a window that alerts anyway (severity info)."""
    if not settings.enabled:
        return None
    finding = detector.assess(x)
    if finding.score < detector.full_record_score:
        return None
    if detector.in_streak and detector.streak_reported:
        return None  # one report per record streak, not one per window of it
    if not (settings.alert or alerting):
        return None
    detector.streak_reported = True
    return finding, "warning" if settings.alert else "info"
