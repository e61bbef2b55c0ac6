"""Typed Faust records for the small messages after ingest. Times are Unix seconds (UTC).

``mentions.raw`` carries JSON bytes, not a record: they are validated by plain code in
`streams.mentions` so that a bad payload becomes a dead letter with its reason instead of a
deserialisation error inside Faust.
"""

from __future__ import annotations

from datetime import UTC, datetime

import faust


def to_epoch(moment: datetime) -> float:
    return moment.timestamp()


def from_epoch(seconds: float) -> datetime:
    return datetime.fromtimestamp(seconds, tz=UTC)


class SeriesTick(faust.Record, serializer="json"):
    """ "This (series, window) moved" or, with no series, "event time reached ``watermark``"."""

    series: str | None
    window_start: float | None
    watermark: float
    observed_at: float
    partition: int | None = None


class AnomalyEvent(faust.Record, serializer="json"):
    anomaly_id: str
    series: str
    window_start: float
    metric: str
    score: float
    severity: str


class IncidentEvent(faust.Record, serializer="json"):
    incident_id: int
    change: str
    severity: str
    # The change that made the incident worth a page: alert, and start the playbooks.
    paged_now: bool = False


class DeadLetterRecord(faust.Record, serializer="json"):
    topic: str
    reason: str
    payload: str
    received_at: float
    source: str | None = None
