"""Faust wiring for detection: thin loops around `detectors.closing.SeriesDetectors`."""

from __future__ import annotations

import asyncio
from collections.abc import Iterable
from datetime import UTC, datetime
from typing import Any

from detectors.closing import DetectedAnomaly
from monitor import resources
from monitor.app import app
from streams.records import AnomalyEvent, from_epoch, to_epoch
from streams.topics import anomalies, series_ticks


@app.agent(series_ticks)
async def detect_anomalies(stream):  # type: ignore[no-untyped-def]
    """Advance watermarks; close, score and learn windows; publish what is unusual."""
    detectors = resources.series_detectors()
    async for event in stream.events():
        tick = event.value
        if tick.series is None:
            found = await asyncio.to_thread(
                detectors.on_watermark,
                tick.partition,
                from_epoch(tick.watermark),
                from_epoch(tick.observed_at),
            )
        else:
            found = await asyncio.to_thread(
                detectors.on_touch,
                tick.series,
                from_epoch(tick.window_start),
                from_epoch(tick.watermark),
                from_epoch(tick.observed_at),
                event.message.partition,
            )
        await _publish(found)


@app.timer(interval=2.0)
async def advance_live_series() -> None:
    """Close windows of live series by wall clock, so silence is scored too."""
    found = await asyncio.to_thread(resources.series_detectors().advance_live, datetime.now(UTC))
    await _publish(found)


@app.on_partitions_revoked.connect  # type: ignore[arg-type]
async def _forget_revoked(sender: Any, *args: Any, **kwargs: Any) -> None:
    revoked: Iterable[Any] = args[0] if args else kwargs.get("revoked", ())
    ours = [tp.partition for tp in revoked if tp.topic == series_ticks.get_topic_name()]
    if ours:
        resources.series_detectors().forget_partitions(ours)


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
