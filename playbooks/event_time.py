"""Which clock an incident's messages speak in: the wall clock for a live incident, event time
for one that came from a replay.

A replay (``crisismon replay`` of last month's file) opens incidents now about windows from
weeks ago. A status page update stamped with the replay's wall clock would say the outage
happened today, so for such an incident the page and the templates use the times of its
windows instead. The test is the one ``resolve_quiet`` uses to pick its clock: an incident
that opened more than ``live_horizon_seconds`` after its last window came from a replay.
"""

from __future__ import annotations

from datetime import datetime, timedelta

from detectors.config import DetectionConfig
from monitor.storage.models import Incident

# detection.yaml's default; the worker passes the configured value (``Setup.live_horizon``).
LIVE_HORIZON = timedelta(seconds=DetectionConfig.model_fields["live_horizon_seconds"].default)


def from_replay(incident: Incident, *, live_horizon: timedelta = LIVE_HORIZON) -> bool:
    """True when the incident opened long after its windows: it lives in event time.

    >>> from datetime import UTC
    >>> t = datetime(2026, 1, 5, 10, 0, tzinfo=UTC)
    >>> replayed = Incident(severity="critical", title="x", series="global",
    ...     first_window_start=t, last_window_end=t + timedelta(minutes=5),
    ...     opened_at=t + timedelta(days=300))
    >>> from_replay(replayed), from_replay(replayed, live_horizon=timedelta(days=400))
    (True, False)
    """
    return incident.opened_at - incident.last_window_end > live_horizon


def began_at(incident: Incident, *, live_horizon: timedelta = LIVE_HORIZON) -> datetime:
    """When the incident began, as messages say it: when it was detected (live), or the start
    of its first anomalous window (replay)."""
    if from_replay(incident, live_horizon=live_horizon):
        return incident.first_window_start
    return incident.opened_at


def status_time(
    incident: Incident, *, trigger: str, live_horizon: timedelta = LIVE_HORIZON
) -> datetime | None:
    """The time a status page update about the incident carries: None (the moment it is
    posted) for a live incident; in event time for a replayed one: the start of its first
    window for an opened update, the end of its last window for the all-clear."""
    if not from_replay(incident, live_horizon=live_horizon):
        return None
    return incident.last_window_end if trigger == "resolved" else incident.first_window_start
