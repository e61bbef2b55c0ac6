"""The tables. SQL is the system of record; the broker only carries work in flight."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import BigInteger, Column, Index, LargeBinary, Text, UniqueConstraint, text
from sqlmodel import Field, SQLModel

from monitor.storage.types import UTCDateTime

# What retention (streams.retention) and an erasure (playbooks.erasure) write over a text.
# They are not anyone's words: whatever reads texts for terms leaves them out.
EXPIRED_TEXT = "[EXPIRED]"
ERASED_TEXT = "[ERASED]"
REPLACED_TEXTS = frozenset({EXPIRED_TEXT, ERASED_TEXT})
# Text still kept. SQL literal, not a parameter, so SQLite and PostgreSQL both use the partial
# index it defines.
TEXT_KEPT = f"text <> '{EXPIRED_TEXT}' AND text <> '{ERASED_TEXT}'"


def _utc(**kwargs: object) -> object:
    return Field(sa_type=UTCDateTime, **kwargs)  # type: ignore[call-overload]


class Mention(SQLModel, table=True):
    """One mention, stored once: the id is derived from source + external id."""

    __tablename__ = "mentions"
    __table_args__ = (
        Index("ix_mentions_event_time", "event_time"),
        # Mentions whose text is still kept, by ingest time: what retention looks through
        # (streams.retention), without reading the years of rows it already expired.
        Index(
            "ix_mentions_text_kept",
            "ingest_time",
            "mention_id",
            sqlite_where=text(TEXT_KEPT),
            postgresql_where=text(TEXT_KEPT),
        ),
    )

    mention_id: str = Field(primary_key=True, max_length=32)
    source: str = Field(max_length=100)
    external_id: str = Field(max_length=300)
    text: str = Field(sa_column=Column(Text, nullable=False))
    text_truncated: bool = False
    author: str | None = Field(default=None, max_length=200)
    url: str | None = Field(default=None, max_length=2000)
    lang: str | None = Field(default=None, max_length=16)
    compound: float
    label: str = Field(max_length=10)
    # How sure the scorer was of the label (0..1), and the words or phrases that drove it,
    # " | "-separated; None for mentions stored before these columns existed.
    sentiment_confidence: float | None = None
    sentiment_drivers: str | None = Field(default=None, max_length=500)
    # Space-delimited with a leading and trailing space (" global source:x "), so that
    # "mentions of series S" is one portable LIKE '% S %' on SQLite and PostgreSQL alike.
    series_keys: str = Field(max_length=1000)
    event_time: datetime = _utc()  # type: ignore[assignment]
    ingest_time: datetime = _utc()  # type: ignore[assignment]
    # Pseudonyms (psn:…), never the id in clear.
    customer_id: str | None = Field(default=None, max_length=40)
    priority: str | None = Field(default=None, max_length=20)
    product: str | None = Field(default=None, max_length=200)
    network: str | None = Field(default=None, max_length=50)
    tags: str | None = Field(default=None, max_length=1100)  # space-separated
    rating: float | None = None  # stars, 1 to 5
    drill: bool = False
    # Near-duplicates: a copy points at its canonical mention and is not counted as volume;
    # the canonical counts its copies.
    canonical_id: str | None = Field(default=None, max_length=32, index=True)
    copies: int = 0
    # The sender's attributes (region, plan…) as a JSON object of strings; None when there
    # are none (streams.attributes).
    attributes: str | None = Field(default=None, sa_column=Column(Text, nullable=True))


class SeriesWindow(SQLModel, table=True):
    """Per-series tumbling window aggregate on event time; the verdict is added once closed."""

    __tablename__ = "series_windows"
    __table_args__ = (Index("ix_series_windows_open", "series", "closed", "window_start"),)

    series: str = Field(primary_key=True, max_length=200)
    window_start: datetime = _utc(primary_key=True)  # type: ignore[assignment]
    window_seconds: int
    n: int = 0
    n_negative: int = 0
    sum_compound: float = 0.0
    # Near-duplicate copies seen in this window: a separate signal, not part of n.
    n_copies: int = 0
    # Reviews: how many mentions carried a star rating, and the sum of their stars.
    n_rated: int = 0
    sum_rating: float = 0.0
    closed: bool = False
    closed_at: datetime | None = _utc(default=None, nullable=True)  # type: ignore[assignment]
    score: float | None = None
    expected_n: float | None = None


class Anomaly(SQLModel, table=True):
    """A closed window that a detector found unusual, with the figures that explain it."""

    __tablename__ = "anomalies"

    anomaly_id: str = Field(primary_key=True, max_length=32)
    series: str = Field(max_length=200, index=True)
    window_start: datetime = _utc()  # type: ignore[assignment]
    window_end: datetime = _utc()  # type: ignore[assignment]
    detector: str = Field(max_length=100)
    metric: str = Field(max_length=50)
    observed: float
    expected: float
    lower: float
    upper: float
    score: float
    severity: str = Field(max_length=10)
    summary: str = Field(sa_column=Column(Text, nullable=False))
    example_mention_ids: str = Field(default="", max_length=2000)
    detected_at: datetime = _utc()  # type: ignore[assignment]
    incident_id: int | None = Field(default=None, index=True)
    # The window's most risen terms against the series' baseline, as JSON
    # [[term, mentions saying it, expected], ...] (see detectors.terms.encode_top_terms).
    top_terms: str | None = Field(default=None, sa_column=Column(Text, nullable=True))


class TermBaseline(SQLModel, table=True):
    """A series' term-burst baseline as of its latest closed window with mentions.

    Written in the transaction that closes the window, so a restarted or rebalanced worker
    continues from exactly what was learnt (the count detectors replay their windows instead).
    """

    __tablename__ = "term_baselines"

    series: str = Field(primary_key=True, max_length=200)
    through_window: datetime = _utc()  # type: ignore[assignment]
    state: str = Field(sa_column=Column(Text, nullable=False))  # JSON, TermBurstDetector.snapshot


class SeasonalBaseline(SQLModel, table=True):
    """A series' learnt hour-of-week volume profile as of ``through_window``.

    Saved at most hourly by window closing; the count detectors' level is rebuilt by replaying
    recent windows, but weeks of rhythm are not in those windows.
    """

    __tablename__ = "seasonal_baselines"

    series: str = Field(primary_key=True, max_length=200)
    through_window: datetime = _utc()  # type: ignore[assignment]
    state: str = Field(sa_column=Column(Text, nullable=False))  # JSON, SeasonalProfile.snapshot


class Incident(SQLModel, table=True):
    """Anomalies merged while a crisis lasts; one alert per incident, not per window."""

    __tablename__ = "incidents"

    id: int | None = Field(default=None, primary_key=True)
    status: str = Field(default="open", max_length=20, index=True)
    severity: str = Field(max_length=10)
    title: str = Field(max_length=300)
    series: str = Field(max_length=1000)
    anomaly_count: int = 0
    first_window_start: datetime = _utc()  # type: ignore[assignment]
    last_window_end: datetime = _utc()  # type: ignore[assignment]
    opened_at: datetime = _utc()  # type: ignore[assignment]
    resolved_at: datetime | None = _utc(default=None, nullable=True)  # type: ignore[assignment]
    alert_text: str | None = Field(default=None, sa_column=Column(Text, nullable=True))
    alerted_at: datetime | None = _utc(default=None, nullable=True)  # type: ignore[assignment]
    # Set by the sender that is posting the alert, so two senders never post the same one.
    alert_claimed_at: datetime | None = _utc(default=None, nullable=True)  # type: ignore[assignment]
    alert_ref: str | None = Field(default=None, max_length=200)
    # Opened by a drill (`crisismon drill start`): kept apart from real incidents.
    drill: bool = False
    # Someone took it (Slack button, API or CLI): escalation steps stand down.
    acknowledged_at: datetime | None = _utc(default=None, nullable=True)  # type: ignore[assignment]
    acknowledged_by: str | None = Field(default=None, max_length=200)


class DeadLetter(SQLModel, table=True):
    """Anything that could not be used, with the reason and the original payload."""

    __tablename__ = "dead_letters"

    id: int | None = Field(default=None, primary_key=True)
    topic: str = Field(max_length=200)
    reason: str = Field(max_length=2000)
    payload: str = Field(sa_column=Column(Text, nullable=False))
    received_at: datetime = _utc()  # type: ignore[assignment]
    source: str | None = Field(default=None, max_length=100)
    # False while the original payload is kept (CRISISMON_RAW_RETENTION_DAYS); after that, or
    # without retention, only a PII-redacted copy is.
    payload_redacted: bool = True
    raw_expires_at: datetime | None = _utc(default=None, nullable=True, index=True)  # type: ignore[assignment]


class InboxEntry(SQLModel, table=True):
    """A mention accepted over HTTP while the broker is the in-memory embedded one.

    Written before the 2xx, marked done by the ingest transaction, republished after a crash.
    """

    __tablename__ = "inbox"

    mention_id: str = Field(primary_key=True, max_length=32)
    payload: str = Field(sa_column=Column(Text, nullable=False))
    received_at: datetime = _utc()  # type: ignore[assignment]
    done_at: datetime | None = _utc(default=None, nullable=True, index=True)  # type: ignore[assignment]


class IngestProgress(SQLModel, table=True):
    """Highest event time ingested per ``mentions.raw`` partition.

    The event-time watermark is the minimum over partitions, read after each batch: a partition
    that lags behind (its records not yet consumed, or on a slower worker) holds windows open
    until its mentions are counted, whichever worker ingests it.
    """

    __tablename__ = "ingest_progress"

    topic: str = Field(primary_key=True, max_length=200)
    partition: int = Field(primary_key=True, sa_column_kwargs={"autoincrement": False})
    max_event_time: datetime = _utc()  # type: ignore[assignment]
    updated_at: datetime = _utc()  # type: ignore[assignment]


class DetectorFeedback(SQLModel, table=True):
    """What a person said about an incident: a false alarm, a miss, or a real crisis."""

    __tablename__ = "detector_feedback"

    id: int | None = Field(default=None, primary_key=True)
    incident_id: int = Field(index=True)
    verdict: str = Field(max_length=20)
    given_by: str = Field(max_length=200)
    note: str | None = Field(default=None, max_length=2000)
    created_at: datetime = _utc()  # type: ignore[assignment]


class SeriesThreshold(SQLModel, table=True):
    """A series' own alert score, moved by feedback within bounds; absent means the default."""

    __tablename__ = "series_thresholds"

    series: str = Field(primary_key=True, max_length=200)
    alert_score: float
    updated_at: datetime = _utc()  # type: ignore[assignment]


class ThresholdChange(SQLModel, table=True):
    """Append-only record of every threshold move and why: the audit of feedback."""

    __tablename__ = "threshold_changes"

    id: int | None = Field(default=None, primary_key=True)
    series: str = Field(max_length=200, index=True)
    old_score: float
    new_score: float
    feedback_id: int
    reason: str = Field(max_length=300)
    changed_at: datetime = _utc()  # type: ignore[assignment]


class SourceHealth(SQLModel, table=True):
    """How each configured source is doing: shown by `crisismon sources`."""

    __tablename__ = "source_health"

    source: str = Field(primary_key=True, max_length=100)
    kind: str = Field(max_length=30)
    last_attempt_at: datetime | None = _utc(default=None, nullable=True)  # type: ignore[assignment]
    last_success_at: datetime | None = _utc(default=None, nullable=True)  # type: ignore[assignment]
    last_error_at: datetime | None = _utc(default=None, nullable=True)  # type: ignore[assignment]
    last_error: str | None = Field(default=None, max_length=500)
    consecutive_failures: int = 0
    items_seen: int = 0
    next_attempt_at: datetime | None = _utc(default=None, nullable=True)  # type: ignore[assignment]
    # Conditional GET validators and the paging cursor (Mastodon since_id) of pollers.
    etag: str | None = Field(default=None, max_length=500)
    last_modified: str | None = Field(default=None, max_length=100)
    cursor: str | None = Field(default=None, max_length=2000)


class NearDuplicateBand(SQLModel, table=True):
    """One LSH band hash of a canonical mention's MinHash; a conflicting insert is "seen"."""

    __tablename__ = "near_duplicate_bands"

    band: int = Field(primary_key=True, sa_column_kwargs={"autoincrement": False})
    hash: int = Field(sa_column=Column(BigInteger, primary_key=True, autoincrement=False))
    mention_id: str = Field(max_length=32)


class NearDuplicateSignature(SQLModel, table=True):
    """The MinHash signature of a canonical mention, to confirm an LSH candidate."""

    __tablename__ = "near_duplicate_signatures"

    mention_id: str = Field(primary_key=True, max_length=32)
    signature: bytes = Field(sa_column=Column(LargeBinary, nullable=False))


class DimensionValue(SQLModel, table=True):
    """A value admitted to its own ``<dimension>:<value>`` series, first come first served.

    ``slot`` counts from 0 and is unique per dimension, as is the value: an insert that finds
    either taken does nothing, so workers racing for the last slot never admit one too many.
    Values that find every slot taken count in ``<dimension>:other``.
    """

    __tablename__ = "dimension_values"
    __table_args__ = (UniqueConstraint("dimension", "value"),)

    dimension: str = Field(primary_key=True, max_length=40)
    slot: int = Field(primary_key=True, sa_column_kwargs={"autoincrement": False})
    value: str = Field(max_length=100)
    admitted_at: datetime = _utc()  # type: ignore[assignment]


class Drill(SQLModel, table=True):
    """One `crisismon drill start`: what was injected, and when."""

    __tablename__ = "drills"

    id: str = Field(primary_key=True, max_length=32)
    scenario: str = Field(max_length=100)
    started_at: datetime = _utc()  # type: ignore[assignment]
    first_event_time: datetime = _utc()  # type: ignore[assignment]
    injected: int = 0


class SentimentCorrection(SQLModel, table=True):
    """A staff member's verdict on one mention's sentiment; every worker's scorer learns it."""

    __tablename__ = "sentiment_corrections"

    # Increasing: workers learn corrections in id order and remember the last one learnt.
    id: int | None = Field(default=None, primary_key=True)
    mention_id: str = Field(max_length=32, index=True)
    label: str = Field(max_length=10)
    who: str = Field(max_length=200)
    created_at: datetime = _utc()  # type: ignore[assignment]


class RecordBaseline(SQLModel, table=True):
    """A series' busiest totals per span over the record memory (weeks), as of
    ``through_window``; saved with the seasonal profile, at most hourly."""

    __tablename__ = "record_baselines"

    series: str = Field(primary_key=True, max_length=200)
    through_window: datetime = _utc()  # type: ignore[assignment]
    state: str = Field(sa_column=Column(Text, nullable=False))  # JSON, RecordDetector.snapshot


class AuditEntry(SQLModel, table=True):
    """Append-only: each row carries the hash of the previous one (``crisismon audit verify``)."""

    __tablename__ = "audit_log"
    # One incident's or draft's entries, in order, without scanning a row per message sent.
    __table_args__ = (Index("ix_audit_log_subject", "subject", "id"),)

    id: int | None = Field(default=None, primary_key=True)
    at: datetime = _utc()  # type: ignore[assignment]
    actor: str = Field(max_length=200)
    action: str = Field(max_length=50)
    subject: str = Field(max_length=200)
    detail: str = Field(sa_column=Column(Text, nullable=False))
    # Unique: two writers that read the same tail cannot both append after it.
    prev_hash: str = Field(max_length=64, unique=True)
    hash: str = Field(max_length=64)


class SentimentLabelRequest(SQLModel, table=True):
    """A mention offered to staff for a label (detectors.sentiment.label_queue), and the answer.

    One row per mention: offering it twice is a no-op. The first answer claims the row (its
    ``answered_at`` goes from NULL to set in one UPDATE), so two clicks record one correction.
    """

    __tablename__ = "sentiment_label_requests"

    id: int | None = Field(default=None, primary_key=True)
    mention_id: str = Field(max_length=32, unique=True)
    reason: str = Field(max_length=100)  # "incident #12" or "least sure"
    # Where it was first offered or answered: slack, cli, api or web (the /labels page).
    surface: str = Field(max_length=10)
    # Counts toward the day's cap (queue.daily_cap in config/sentiment.yaml).
    offered_at: datetime = _utc(index=True)  # type: ignore[assignment]
    slack_ref: str | None = Field(default=None, max_length=200)  # CHANNEL/ts of the message
    label: str | None = Field(default=None, max_length=10)
    answered_by: str | None = Field(default=None, max_length=200)
    answered_at: datetime | None = _utc(default=None, nullable=True)  # type: ignore[assignment]
    correction_id: int | None = None
