"""Faust wiring for polled sources: one leader-only timer, one pooled aiohttp session."""

from __future__ import annotations

import asyncio
import logging
import random
from collections.abc import Sequence
from datetime import UTC, datetime

from monitor.app import app
from monitor.metrics import MENTIONS_RECEIVED
from monitor.settings import get_settings
from monitor.shell import resources
from monitor.shell.agents.outages import rides_out_database_outages
from streams.mention_bundles import bundles
from streams.mentions import MentionIn
from streams.records import DeadLetterRecord
from streams.sources.polling import PolledSource, due, poll_once
from streams.topics import MENTIONS_RAW, dead_letter, mentions_raw

log = logging.getLogger(__name__)

ACK_TIMEOUT = 15.0
_in_flight: set[str] = set()
_tasks: set[asyncio.Task[None]] = set()  # strong references while a poll runs
_rng = random.Random()


async def publish(mentions: Sequence[MentionIn], letters: Sequence[tuple[str, str]]) -> None:
    """Send and wait for every acknowledgement; raises when the broker does not answer."""
    now = datetime.now(UTC).timestamp()
    acks = [await mentions_raw.send(key=key, value=value) for key, value in bundles(mentions)]
    for reason, payload in letters:
        acks.append(
            await dead_letter.send(
                key=MENTIONS_RAW,
                value=DeadLetterRecord(
                    topic=MENTIONS_RAW, reason=reason, payload=payload, received_at=now
                ),
            )
        )
    await asyncio.wait_for(asyncio.gather(*acks), ACK_TIMEOUT)


async def _poll(source: PolledSource) -> None:
    now = datetime.now(UTC)
    try:
        outcome = await poll_once(
            source,
            http=app.http_client,
            engine=resources.engine(),
            publish=publish,
            privacy=resources.privacy(),
            now=now,
            rng=_rng,
            not_after=get_settings().latest_event_time(now),
        )
        if outcome.error:
            log.warning("source %s: %s", source.name, outcome.error)
        elif outcome.published or outcome.rejected:
            MENTIONS_RECEIVED.labels("poll", source.name).inc(outcome.published)
            log.info(
                "source %s: %d new, %d rejected", source.name, outcome.published, outcome.rejected
            )
    finally:
        _in_flight.discard(source.name)


@app.timer(interval=1.0, on_leader=True)
@rides_out_database_outages
async def poll_sources() -> None:
    """Start a poll of every polled source that is due and not already being polled."""
    sources = resources.polled_sources()
    if not sources:
        return
    ready = await asyncio.to_thread(due, sources, resources.engine(), now=datetime.now(UTC))
    for source in ready:
        if source.name not in _in_flight:
            _in_flight.add(source.name)
            task = asyncio.ensure_future(_poll(source))
            _tasks.add(task)
            task.add_done_callback(_tasks.discard)
