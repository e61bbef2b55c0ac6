"""Typed Faust records for the small messages after ingest. Times are Unix seconds (UTC).

``mentions.raw`` carries JSON bytes, not a record: they are validated by plain code in
`streams.mentions` so that a bad payload becomes a dead letter with its reason instead of a
deserialisation error inside Faust.
"""

from __future__ import annotations

import zlib
from datetime import UTC, datetime

import faust

from streams.record_checks import Checked


def to_epoch(moment: datetime) -> float:
    return moment.timestamp()


def from_epoch(seconds: float) -> datetime:
    return datetime.fromtimestamp(seconds, tz=UTC)


class SeriesTicks(Checked, faust.Record, serializer="json"):
    """One ingest batch's news for one detect partition: the (series, window) pairs it added
    mentions to (``series[i]`` with ``window_starts[i]``), and how far event time has got.

    Ingest sends exactly one to every partition per batch, so detect pays Faust's per-record
    cost once per batch and partition, not once per series, and quiet partitions still learn
    the watermark.
    """

    series: list[str]
    window_starts: list[float]
    watermark: float
    observed_at: float


def detect_partition(series: str, partitions: int) -> int:
    """The ``series.ticks`` partition that owns ``series``: stable across processes and runs
    (Python's own ``hash`` of a str is salted per process).

    >>> detect_partition("global", 4) == detect_partition("global", 4)
    True
    """
    return zlib.crc32(series.encode("utf-8")) % partitions


class AnomalyEvent(Checked, faust.Record, serializer="json"):
    anomaly_id: str
    series: str
    window_start: float
    metric: str
    score: float
    severity: str


class IncidentEvent(Checked, faust.Record, serializer="json"):
    incident_id: int
    change: str
    severity: str
    # The change that made the incident worth a page: alert, and start the playbooks.
    paged_now: bool = False


class DeadLetterRecord(Checked, faust.Record, serializer="json"):
    topic: str
    reason: str
    payload: str
    received_at: float
    source: str | None = None
