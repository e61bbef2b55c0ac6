"""The ingest flow: score, fan out and store a batch of mentions in ONE transaction.

SQL decides what is new (``ON CONFLICT DO NOTHING ... RETURNING``), and only the new mentions
are added to their window aggregates, so a replayed or redelivered mention counts zero times.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime

from sqlalchemy import Engine, func, select, update
from sqlmodel import Session

from detectors.sentiment import Scorer
from detectors.series import NO_FAN_OUT, FanOut, encode_keys, series_keys
from monitor.privacy import NO_KEY, Privacy
from monitor.storage.db import insert_for, session_scope
from monitor.storage.models import InboxEntry, IngestProgress, Mention, SeriesWindow
from monitor.storage.poison import store_surviving
from streams.fingerprints import Fingerprint
from streams.mention_bundles import decode_record
from streams.mentions import InvalidMention, MentionIn
from streams.near_duplicates import candidate_of, collapse
from streams.scoring import BatchScorer, InProcessScorer
from streams.windows import Counted, aggregate

# Mentions stored per transaction: a few hundred milliseconds of work.
MENTIONS_PER_TRANSACTION = 2_000


@dataclass(frozen=True, slots=True)
class ScoredMention:
    # Its ``lang`` is the mention's own tag or the detected language.
    mention: MentionIn
    compound: float
    label: str
    series_keys: tuple[str, ...]
    # The text's fingerprint for near-duplicate collapse; None when no word is left of it.
    signature: Fingerprint | None = None
    confidence: float | None = None
    drivers: tuple[str, ...] = ()

    def counted(self, *, copy: bool = False) -> Counted:
        return Counted(
            self.series_keys,
            self.mention.event_time,
            self.compound,
            self.label == "negative",
            self.mention.rating,
            copy,
        )


@dataclass(frozen=True, slots=True)
class StoredBatch:
    new_mention_ids: frozenset[str]
    touched: tuple[tuple[str, datetime], ...]
    duplicates: int
    # Minimum over partitions of the highest event time ingested; None before any data.
    watermark: datetime | None = None
    # New mentions that are near-duplicates of an earlier one: {copy id: canonical id}.
    copies: dict[str, str] = field(default_factory=dict)


def score_batch(
    mentions: Sequence[MentionIn],
    scorer: Scorer,
    *,
    fan_out: FanOut = NO_FAN_OUT,
    now: datetime | None = None,
    pool: BatchScorer | None = None,
) -> list[ScoredMention]:
    """Score each mention; its language (own tag or detected) routes it to a ``lang:`` series,
    its customer to ``segment:`` series (as segments stand at ``now``), its text to topics.

    ``pool`` scores the texts elsewhere (`streams.scoring.ScoringPool`); by default ``scorer``
    scores them here."""
    known = fan_out.attribution(mentions, now=now or datetime.now(UTC))
    texts = [(mention.text, mention.lang) for mention in mentions]
    results = (pool or InProcessScorer(scorer)).score_many(texts)
    scored = []
    for mention, (sentiment, minhash) in zip(mentions, results, strict=True):
        if sentiment.lang and sentiment.lang != mention.lang:
            mention = replace(mention, lang=sentiment.lang)
        scored.append(
            ScoredMention(
                mention,
                sentiment.compound,
                sentiment.label,
                tuple(series_keys(mention, known)),
                signature=minhash,
                confidence=sentiment.confidence,
                drivers=sentiment.drivers,
            )
        )
    return scored


def store_batch(
    engine: Engine,
    batch: Sequence[ScoredMention],
    *,
    window_seconds: int,
    now: datetime,
    progress: dict[int, datetime] | None = None,
    topic: str = "mentions.raw",
) -> StoredBatch:
    """Insert new mentions and add exactly those to their window aggregates, atomically.

    ``progress`` maps each source partition to the highest event time in this batch; it is
    recorded in the same transaction, and the resulting watermark is returned.
    """
    unique: dict[str, ScoredMention] = {}
    for item in batch:
        unique.setdefault(item.mention.mention_id, item)

    mention_table = Mention.__table__  # type: ignore[attr-defined]
    window_table = SeriesWindow.__table__  # type: ignore[attr-defined]
    with session_scope(engine) as session:
        # Executemany with a constant statement: SQLAlchemy caches the compiled form and sends
        # multi-row VALUES itself ("insertmanyvalues"); building .values(rows) instead
        # recompiled a 500-row statement every batch and cost more than scoring.
        rows = [_mention_row(mid, item, now) for mid, item in unique.items()]
        new_ids: set[str] = set()
        if rows:
            insert = (
                insert_for(session, mention_table)
                .on_conflict_do_nothing(index_elements=["mention_id"])
                .returning(mention_table.c.mention_id)
            )
            new_ids.update(session.execute(insert, rows).scalars())

        copies = collapse(
            session,
            [
                candidate_of(item.mention, item.signature)
                for mid in sorted(new_ids)
                if (item := unique[mid]).signature is not None
            ],
        )
        deltas = aggregate(
            (unique[mid].counted(copy=mid in copies) for mid in sorted(new_ids)), window_seconds
        )
        window_rows = [
            {
                "series": series,
                "window_start": start,
                "window_seconds": window_seconds,
                "n": d.n,
                "n_negative": d.n_negative,
                "sum_compound": d.sum_compound,
                "n_rated": d.n_rated,
                "sum_rating": d.sum_rating,
                "n_copies": d.n_copies,
            }
            for (series, start), d in deltas.items()
        ]
        if window_rows:
            upsert = insert_for(session, window_table)
            upsert = upsert.on_conflict_do_update(
                index_elements=["series", "window_start"],
                set_={
                    "n": window_table.c.n + upsert.excluded.n,
                    "n_negative": window_table.c.n_negative + upsert.excluded.n_negative,
                    "sum_compound": window_table.c.sum_compound + upsert.excluded.sum_compound,
                    "n_rated": window_table.c.n_rated + upsert.excluded.n_rated,
                    "sum_rating": window_table.c.sum_rating + upsert.excluded.sum_rating,
                    "n_copies": window_table.c.n_copies + upsert.excluded.n_copies,
                },
            )
            session.execute(upsert, window_rows)

        if unique:
            session.execute(
                update(InboxEntry)
                .where(InboxEntry.mention_id.in_(list(unique)))  # type: ignore[attr-defined]
                .where(InboxEntry.done_at.is_(None))  # type: ignore[union-attr]
                .values(done_at=now)
            )
        watermark = _record_progress(session, topic, progress or {}, now)
    return StoredBatch(
        frozenset(new_ids), tuple(deltas), len(unique) - len(new_ids), watermark, copies
    )


def _record_progress(
    session: Session, topic: str, progress: dict[int, datetime], now: datetime
) -> datetime | None:
    table = IngestProgress.__table__  # type: ignore[attr-defined]
    for partition in sorted(progress):
        upsert = insert_for(session, table).values(
            topic=topic, partition=partition, max_event_time=progress[partition], updated_at=now
        )
        upsert = upsert.on_conflict_do_update(
            index_elements=["topic", "partition"],
            set_={"max_event_time": upsert.excluded.max_event_time, "updated_at": now},
            where=table.c.max_event_time < upsert.excluded.max_event_time,
        )
        session.execute(upsert)
    # min() keeps the column's type, so the value comes back as an aware UTC datetime.
    result: datetime | None = session.execute(
        select(func.min(table.c.max_event_time)).where(table.c.topic == topic)
    ).scalar()
    return result


def _mention_row(mid: str, item: ScoredMention, now: datetime) -> dict[str, object]:
    mention = item.mention
    return {
        "mention_id": mid,
        "source": mention.source,
        "external_id": mention.external_id,
        "text": mention.text,
        "text_truncated": mention.text_truncated,
        "author": mention.author,
        "url": mention.url,
        "lang": mention.lang,
        "compound": item.compound,
        "label": item.label,
        "sentiment_confidence": item.confidence,
        "sentiment_drivers": encode_drivers(item.drivers),
        "series_keys": encode_keys(item.series_keys),
        "event_time": mention.event_time,
        "ingest_time": now,
        "customer_id": mention.customer_id,
        "priority": mention.priority,
        "product": mention.product,
        "network": mention.network,
        "tags": " ".join(mention.tags) or None,
        "rating": mention.rating,
        "drill": mention.drill,
        "attributes": (
            json.dumps(dict(mention.attributes), ensure_ascii=False) if mention.attributes else None
        ),
    }


def encode_drivers(drivers: Sequence[str]) -> str | None:
    """The drivers as stored: " | "-separated, cut to fit the column.

    >>> encode_drivers(["on hold", '"great" (sarcastic)']), encode_drivers([])
    ('on hold | "great" (sarcastic)', None)
    """
    kept: list[str] = []
    for driver in drivers:
        if len(" | ".join([*kept, driver])) > 500:
            break
        kept.append(driver)
    return " | ".join(kept) or None


@dataclass(frozen=True, slots=True)
class Rejected:
    payload: str
    reason: str


@dataclass(frozen=True, slots=True)
class IngestOutcome:
    stored: StoredBatch
    rejected: tuple[Rejected, ...]


def ingest_raw_batch(
    engine: Engine,
    scorer: Scorer,
    records: Sequence[tuple[int, bytes | None]],
    *,
    window_seconds: int,
    now: datetime,
    topic: str = "mentions.raw",
    privacy: Privacy = NO_KEY,
    fan_out: FanOut = NO_FAN_OUT,
    pool: BatchScorer | None = None,
    not_after: datetime | None = None,
) -> IngestOutcome:
    """Everything the ingest agent does between the broker and the ticks, in plain Python.

    ``records`` are (source partition, raw value) pairs; a value may be one mention or a
    bundle of them (`streams.mention_bundles.bundles`). A mention dated after ``not_after``, or one
    the database refuses (`monitor.storage.poison`), is rejected with the reason, and the rest
    of the batch is stored.
    """
    valid: list[MentionIn] = []
    rejected: list[Rejected] = []
    progress: dict[int, datetime] = {}
    for partition, raw in records:
        for element, mention in decode_record(raw, privacy, not_after=not_after):
            if isinstance(mention, InvalidMention):
                text = element
                if text is None:
                    text = raw.decode("utf-8", "replace") if isinstance(raw, bytes) else str(raw)
                rejected.append(Rejected(text, str(mention)))
                continue
            valid.append(mention)
            if partition not in progress or mention.event_time > progress[partition]:
                progress[partition] = mention.event_time
    # A batch of bundles can hold 10,000 mentions: stored in parts, each its own transaction,
    # so progress shows and SQLite's writer is free between them. Each part is idempotent on
    # its own; the partitions' progress is recorded with the last part only, once all are in.
    parts: list[StoredBatch] = []
    poisoned: list[tuple[ScoredMention, str]] = []
    for offset in range(0, max(len(valid), 1), MENTIONS_PER_TRANSACTION):
        last = offset + MENTIONS_PER_TRANSACTION >= len(valid)
        scored = score_batch(
            valid[offset : offset + MENTIONS_PER_TRANSACTION],
            scorer,
            fan_out=fan_out,
            now=now,
            pool=pool,
        )

        def store(
            items: Sequence[ScoredMention], whole: int = len(scored), last: bool = last
        ) -> StoredBatch:
            # Progress goes with the whole last part; when that part had to be split, it is
            # recorded by _settle below instead.
            return store_batch(
                engine,
                items,
                window_seconds=window_seconds,
                now=now,
                progress=progress if last and len(items) == whole else None,
                topic=topic,
            )

        stored, refused = store_surviving(scored, store)
        parts.extend(stored)
        poisoned.extend(refused)
    if poisoned:
        parts.append(_settle(engine, [item for item, _ in poisoned], progress, now, topic))
        rejected.extend(
            Rejected(item.mention.to_bytes().decode(), f"the database refused it: {why}")
            for item, why in poisoned
        )
    return IngestOutcome(_joined(parts), tuple(rejected))


def _settle(
    engine: Engine,
    refused: Sequence[ScoredMention],
    progress: dict[int, datetime],
    now: datetime,
    topic: str,
) -> StoredBatch:
    """After refused mentions: record the batch's progress, and take them out of the inbox,
    so they are not republished forever (they are in the dead letters)."""
    with session_scope(engine) as session:
        session.execute(
            update(InboxEntry)
            .where(InboxEntry.mention_id.in_([i.mention.mention_id for i in refused]))  # type: ignore[attr-defined]
            .where(InboxEntry.done_at.is_(None))  # type: ignore[union-attr]
            .values(done_at=now)
        )
        watermark = _record_progress(session, topic, progress, now)
    return StoredBatch(frozenset(), (), 0, watermark)


def _joined(parts: Sequence[StoredBatch]) -> StoredBatch:
    """The parts of one batch as one: the last part carries the watermark."""
    if len(parts) == 1:
        return parts[0]
    touched = sorted({pair for part in parts for pair in part.touched})
    return StoredBatch(
        frozenset().union(*(part.new_mention_ids for part in parts)),
        tuple(touched),
        sum(part.duplicates for part in parts),
        parts[-1].watermark,
        {copy: canonical for part in parts for copy, canonical in part.copies.items()},
    )
