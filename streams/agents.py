"""Faust wiring for ingest: thin loops around `streams.ingest`."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Sequence
from datetime import UTC, datetime, timedelta

from sqlmodel import Session, col, select

from monitor import resources
from monitor.app import app
from monitor.settings import get_settings
from monitor.storage.db import session_scope
from monitor.storage.models import DeadLetter, InboxEntry
from streams.dead_letters import dead_letter_row, expire_raw_payloads
from streams.ingest import ingest_raw_batch
from streams.poison import reason_of, refused
from streams.records import (
    DeadLetterRecord,
    SeriesTicks,
    detect_partition,
    from_epoch,
    to_epoch,
)
from streams.topics import MENTIONS_RAW, dead_letter, mentions_raw, series_ticks

log = logging.getLogger(__name__)

BATCH_SIZE = 500
BATCH_WITHIN = 0.2
INBOX_REPUBLISH_AFTER = timedelta(seconds=30)


@app.agent(mentions_raw)
async def ingest_mentions(stream):  # type: ignore[no-untyped-def]
    """Validate, score and store mentions in batches; tell detect which windows moved."""
    config = resources.detection_config()
    fan_out = resources.fan_out()
    pool = resources.scoring_pool()
    lateness = timedelta(seconds=config.allowed_lateness_seconds)
    settings = get_settings()
    async for events in stream.take_events(BATCH_SIZE, within=BATCH_WITHIN):
        now = datetime.now(UTC)
        records = [(event.message.partition, event.value) for event in events]
        outcome = await asyncio.to_thread(
            ingest_raw_batch,
            resources.engine(),
            resources.scorer(),
            records,
            window_seconds=config.window_seconds,
            now=now,
            topic=MENTIONS_RAW,
            privacy=resources.privacy(),
            fan_out=fan_out,
            pool=pool,
            not_after=settings.latest_event_time(now),
        )
        for rejected in outcome.rejected:
            await dead_letter.send(
                key=MENTIONS_RAW,
                value=DeadLetterRecord(
                    topic=MENTIONS_RAW,
                    reason=rejected.reason,
                    payload=rejected.payload,
                    received_at=to_epoch(now),
                ),
            )
        if outcome.stored.watermark is None:
            continue
        await send_ticks(outcome.stored.touched, outcome.stored.watermark - lateness, now)


async def send_ticks(
    touched: Sequence[tuple[str, datetime]], watermark: datetime, now: datetime
) -> None:
    """One record to every detect partition: its touched (series, window) pairs and the
    watermark. Each partition sees only its own series, but event time must reach them all."""
    partitions = app.conf.topic_partitions
    grouped: list[SeriesTicks] = [
        SeriesTicks(
            series=[], window_starts=[], watermark=to_epoch(watermark), observed_at=to_epoch(now)
        )
        for _ in range(partitions)
    ]
    for series, start in touched:
        ticks = grouped[detect_partition(series, partitions)]
        ticks.series.append(series)
        ticks.window_starts.append(to_epoch(start))
    for partition, ticks in enumerate(grouped):
        await series_ticks.send(value=ticks, partition=partition)


@app.agent(dead_letter)
async def store_dead_letters(stream):  # type: ignore[no-untyped-def]
    """Keep every rejected payload, with its reason, in the dead_letters table."""
    settings = get_settings()
    async for record in stream:
        row = dead_letter_row(
            topic=record.topic,
            reason=record.reason,
            payload=record.payload,
            source=record.source,
            received_at=from_epoch(record.received_at),
            retention_days=settings.raw_retention_days,
            redactor=resources.privacy().redactor,
        )
        await asyncio.to_thread(_store_dead_letter, row)
        log.warning("dead letter from %s: %s", record.source or record.topic, row.reason)


def _store_dead_letter(row: DeadLetter) -> None:
    """Store one dead letter; one the database refuses all the same is kept with its payload
    as escaped ASCII, and if even that is refused it is logged, so the partition goes on."""
    try:
        _insert(row)
        return
    except Exception as exc:
        if not refused(exc):
            raise
        first = reason_of(exc)
    fallback = DeadLetter(
        topic=ascii(row.topic)[:200],
        reason=f"{ascii(row.reason)[:1500]} (stored escaped: the database refused it: {first})",
        payload=ascii(row.payload),
        source=ascii(row.source)[:100] if row.source is not None else None,
        received_at=row.received_at,
        payload_redacted=row.payload_redacted,
        raw_expires_at=row.raw_expires_at,
    )
    try:
        _insert(fallback)
    except Exception as exc:
        if not refused(exc):
            raise
        log.error("dead letter dropped, the database refused it: %s", reason_of(exc))


def _insert(row: DeadLetter) -> None:
    with session_scope(resources.engine()) as session:
        session.add(row)


@app.timer(interval=3600.0, on_leader=True)
async def expire_dead_letter_payloads() -> None:
    """Original payloads are kept only for CRISISMON_RAW_RETENTION_DAYS, then redacted."""
    count = await asyncio.to_thread(
        expire_raw_payloads,
        resources.engine(),
        now=datetime.now(UTC),
        redactor=resources.privacy().redactor,
    )
    if count:
        log.info("redacted %d dead-letter payloads past their retention", count)


@app.timer(interval=15.0, on_leader=True)
async def republish_inbox() -> None:
    """After a crash of the in-memory broker, publish accepted-but-unprocessed mentions again."""
    if not get_settings().use_inbox:
        return
    cutoff = datetime.now(UTC) - INBOX_REPUBLISH_AFTER
    pending = await asyncio.to_thread(_pending_inbox, cutoff)
    for entry in pending:
        await mentions_raw.send(key=entry.mention_id.encode(), value=entry.payload.encode())
    if pending:
        log.warning("republished %d inbox mentions not yet ingested", len(pending))


def _pending_inbox(cutoff: datetime) -> list[InboxEntry]:
    with Session(resources.engine()) as session:
        return list(
            session.exec(
                select(InboxEntry)
                .where(col(InboxEntry.done_at).is_(None), col(InboxEntry.received_at) < cutoff)
                .limit(5000)
            ).all()
        )
