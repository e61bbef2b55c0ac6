"""Faust wiring for ingest: thin loops around `streams.ingest`."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Sequence
from datetime import UTC, datetime, timedelta
from functools import partial

from sqlalchemy.exc import DBAPIError

from monitor.app import app
from monitor.settings import Settings, get_settings
from monitor.shell import resources
from monitor.shell.agents.outages import rides_out_database_outages
from monitor.storage.models import DeadLetter
from monitor.storage.outage import while_unavailable
from streams import inbox
from streams.dead_letters import dead_letter_row, expire_raw_payloads, store_dead_letter
from streams.ingest import ingest_raw_batch
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


@app.agent(mentions_raw)
async def ingest_mentions(stream):  # type: ignore[no-untyped-def]
    """Validate, score and store mentions in batches; tell detect which windows moved."""
    config = resources.detection_config()
    fan_out = resources.fan_out()
    # Off the event loop: building the scorer fits its taught layer, seconds for many labels.
    pool = await asyncio.to_thread(resources.scoring_pool)
    lateness = timedelta(seconds=config.allowed_lateness_seconds)
    settings = get_settings()
    async for events in stream.take_events(BATCH_SIZE, within=BATCH_WITHIN):
        now = datetime.now(UTC)
        records = [(event.message.partition, event.value) for event in events]
        outcome = await while_unavailable(
            partial(
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
            ),
            what="storing mentions",
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
        await while_unavailable(partial(_store_dead_letter, row), what="storing a dead letter")
        log.warning("dead letter from %s: %s", record.source or record.topic, row.reason)


def _store_dead_letter(row: DeadLetter) -> None:
    store_dead_letter(resources.engine(), row)  # never stops the partition for one row


@app.timer(interval=3600.0, on_leader=True)
@rides_out_database_outages
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


# How long a mention may stay not done after ingest had read everything on the broker.
INBOX_GRACE = timedelta(seconds=30)
INBOX_CHECK_SECONDS = 5.0
_stuck_clock = inbox.StuckClock(grace=INBOX_GRACE)
_lost_swept = False


@app.timer(interval=INBOX_CHECK_SECONDS, on_leader=True)
@rides_out_database_outages
async def republish_inbox() -> None:
    """Publish again the accepted mentions the broker lost or never got (`streams.inbox`):
    once, everything from before this broker started; then only what is really stuck."""
    settings = get_settings()
    if not settings.use_inbox:
        return
    try:
        await _republish_due(settings)
    except DBAPIError as exc:  # the database is away: the next check tries again
        log.warning("inbox check skipped, database unavailable: %s", type(exc.orig).__name__)


async def _republish_due(settings: Settings) -> None:
    global _lost_swept
    if not _lost_swept:
        if settings.inbox_lost_before is not None:
            lost_before = datetime.fromtimestamp(settings.inbox_lost_before, UTC)
            count = await _republish(before=lost_before, since=None)
            if count:
                log.warning("republished %d inbox mentions lost with the previous broker", count)
            _stuck_clock.since = lost_before
        _lost_swept = True
        return
    span = _stuck_clock.observe(datetime.now(UTC), caught_up=await _ingest_caught_up())
    if span is None:
        return
    since, until = span
    try:
        count = await _republish(before=until, since=since)
    except BaseException:
        _stuck_clock.since = since  # not done: the next check takes the span again
        raise
    if count:
        log.warning("republished %d inbox mentions that never reached ingest", count)


async def _republish(*, before: datetime, since: datetime | None) -> int:
    """Publish every pending inbox entry received in ``[since, before)``; how many."""
    count = 0
    after: tuple[datetime, str] | None = None
    engine = resources.engine()
    while True:
        page = await asyncio.to_thread(
            inbox.pending_page, engine, before=before, since=since, after=after
        )
        if not page:
            return count
        acks = [await mentions_raw.send(key=key, value=value) for key, value in inbox.records(page)]
        await asyncio.gather(*acks)
        count += len(page)
        after = (page[-1].received_at, page[-1].mention_id)


async def _ingest_caught_up() -> bool:
    """Whether this worker has fetched every record on its ``mentions.raw`` partitions."""
    consumer = app.consumer
    if consumer is None:
        return False
    partitions = [tp for tp in consumer.assignment() if tp.topic == MENTIONS_RAW]
    for tp in partitions:
        end = consumer.highwater(tp)
        position = await consumer.position(tp)
        if end is None or position is None or position < end:
            return False
    return bool(partitions)
