"""What the detect stage keeps per series (its detectors, where it closed) and per partition."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime

from detectors.count_spike import CountSpikeDetector
from detectors.records import RecordDetector
from detectors.terms import TermBurstDetector

# Partition key for callers that do not name one (tests, a single-partition backtest).
ANY_PARTITION = -1


@dataclass(slots=True)
class SeriesState:
    series: str
    detector: CountSpikeDetector
    next_window: datetime | None
    partition: int = ANY_PARTITION
    closed: int = field(default=0)
    terms: TermBurstDetector = field(default_factory=TermBurstDetector)
    season_saved: datetime | None = None  # the window through which the profile is stored
    records: RecordDetector = field(default_factory=RecordDetector)
    records_saved: datetime | None = None
    due: datetime | None = None  # the end of next_window while it waits in the heap
    closed_through: datetime | None = None  # the newest window this series has closed
    last_touched: datetime | None = None  # event time when a batch last added mentions


@dataclass(slots=True)
class PartitionClock:
    """One detect partition: how far event time has got, and which series are due when."""

    watermark: datetime | None = None
    live: bool = False
    heap: list[tuple[datetime, str]] = field(default_factory=list)
    # Touched windows behind their series' closing point, closed in the next pass if open.
    late: dict[str, set[datetime]] = field(default_factory=dict)
