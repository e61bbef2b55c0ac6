"""Faust wiring for detection: thin loops around `detectors.closing.SeriesDetectors`."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable, Iterable
from datetime import UTC, datetime
from typing import Any

from sqlalchemy.exc import DBAPIError

from detectors.closing import DetectedAnomaly
from monitor.app import app
from monitor.shell import resources
from monitor.shell.agents.outages import rides_out_database_outages
from monitor.storage.outage import FIRST_PAUSE, LONGEST_PAUSE, is_outage
from streams.records import AnomalyEvent, from_epoch, to_epoch
from streams.topics import anomalies, series_ticks

# How often the wall clock is checked against the earliest live deadline. A window closes within
# this of its end plus the allowed lateness; a check with nothing due is a look at a heap's top.
LIVE_CHECK_SECONDS = 0.2


# Tick records taken together when detect lags ingest: one closing pass then covers them all.
TAKE_TICKS = 64
TAKE_WITHIN = 0.05

log = logging.getLogger(__name__)


@app.agent(series_ticks)
async def detect_anomalies(stream):  # type: ignore[no-untyped-def]
    """One record per ingest batch and partition: note the touched windows, close what is due
    in one pass per partition, publish what is unusual."""
    detectors = resources.detect_stage()
    async for events in stream.take_events(TAKE_TICKS, within=TAKE_WITHIN):
        found: list[DetectedAnomaly] = []
        for partition, (touched, watermark, observed) in merge_ticks(events).items():
            found.extend(
                await _while_the_database_is_away(
                    lambda p=partition, t=touched, w=watermark, o=observed: detectors.on_batch(
                        p, t, w, o
                    )
                )
            )
        # In window order across series and partitions, as the correlator merges them: a pass
        # that closes an hour of a fast replay must not hand it 11:20 before 10:05.
        await _publish(sorted(found, key=lambda anomaly: anomaly.window_start))


def merge_ticks(
    events: Iterable[Any],
) -> dict[int, tuple[list[tuple[str, datetime]], datetime, datetime]]:
    """Per partition: every touched pair, the furthest watermark and the latest wall clock."""
    merged: dict[int, tuple[list[tuple[str, datetime]], datetime, datetime]] = {}
    for event in events:
        ticks = event.value
        touched, watermark, observed = merged.get(
            event.message.partition,
            ([], from_epoch(ticks.watermark), from_epoch(ticks.observed_at)),
        )
        touched.extend(
            (series, from_epoch(start))
            for series, start in zip(ticks.series, ticks.window_starts, strict=True)
        )
        merged[event.message.partition] = (
            touched,
            max(watermark, from_epoch(ticks.watermark)),
            max(observed, from_epoch(ticks.observed_at)),
        )
    return merged


@app.timer(interval=LIVE_CHECK_SECONDS)
@rides_out_database_outages
async def advance_live_series() -> None:
    """Close windows of live series at their deadline by wall clock, so silence is scored too."""
    detectors = resources.detect_stage()
    now = datetime.now(UTC)
    deadline = detectors.next_deadline()
    if deadline is None or deadline > now:
        return
    await _publish(await detectors.advance_live(now))


@app.on_partitions_revoked.connect  # type: ignore[arg-type]
async def _forget_revoked(sender: Any, *args: Any, **kwargs: Any) -> None:
    revoked: Iterable[Any] = args[0] if args else kwargs.get("revoked", ())
    ours = [tp.partition for tp in revoked if tp.topic == series_ticks.get_topic_name()]
    if ours:
        await resources.detect_stage().forget_partitions(ours)


async def _publish(found: list[DetectedAnomaly]) -> None:
    for anomaly in found:
        await anomalies.send(
            key=anomaly.series,
            value=AnomalyEvent(
                anomaly_id=anomaly.anomaly_id,
                series=anomaly.series,
                window_start=to_epoch(anomaly.window_start),
                metric=anomaly.metric,
                score=anomaly.score,
                severity=anomaly.severity,
            ),
        )


async def _while_the_database_is_away(
    call: Callable[[], Awaitable[list[DetectedAnomaly]]],
) -> list[DetectedAnomaly]:
    """``call()`` again, with a growing pause, while the database is unreachable.

    The batch's ticks are kept rather than dropped, so the windows they touched are closed
    once the database answers, and the worker rides the outage out instead of crashing.
    """
    pause = FIRST_PAUSE
    while True:
        try:
            return await call()
        except DBAPIError as exc:
            if not is_outage(exc):
                raise
            log.warning("database unavailable while detecting; trying again in %.1fs", pause)
            await asyncio.sleep(pause)
            pause = min(pause * 2, LONGEST_PAUSE)
