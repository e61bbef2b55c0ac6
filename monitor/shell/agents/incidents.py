"""Faust wiring for incidents: correlate anomalies, alert once per incident, and edit that
alert when the incident grows."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Coroutine
from datetime import UTC, datetime, timedelta
from typing import Any

from monitor.app import app
from monitor.incidents.alerting import alerted_open_incidents, post_alert_once, refresh_alert
from monitor.incidents.service import (
    correlate,
    ingest_watermark,
    is_paged,
    resolve_quiet,
    unalerted_incidents,
)
from monitor.shell import resources
from monitor.shell.agents.outages import rides_out_database_outages
from streams.records import IncidentEvent
from streams.topics import MENTIONS_RAW, anomalies, incidents

log = logging.getLogger(__name__)

# Seconds after opening before an undelivered alert is tried again by the follow-up timer.
ALERT_RETRY_AFTER = 30.0
# A claim this old belongs to a sender that died mid-post; another may take over.
ALERT_CLAIM_STALE = 120.0


@app.agent(anomalies)
async def correlate_anomalies(stream):  # type: ignore[no-untyped-def]
    """Merge anomalies into incidents while they last; one topic partition keeps one order."""
    gap = timedelta(seconds=resources.detection_config().incidents.merge_gap_seconds)
    async for anomaly in stream:
        change = await asyncio.to_thread(
            correlate,
            resources.engine(),
            anomaly_id=anomaly.anomaly_id,
            merge_gap=gap,
            now=datetime.now(UTC),
        )
        if change is not None and change.paged_now:
            # Alert from here rather than from the incidents topic: one broker hop less between
            # a window's close and the page, and each alert in its own task, so one slow post
            # never holds up the next incident's.
            _start(_alert_after_gather(change.incident_id))
        elif change is not None and change.change == "merged" and is_paged(change.severity):
            # Already paged: the merge may have raised it or spread it; edit the alert in place.
            _start(_refresh_after_gather(change.incident_id))
        if change is not None:
            await incidents.send(
                key=str(change.incident_id),
                value=IncidentEvent(
                    incident_id=change.incident_id,
                    change=change.change,
                    severity=change.severity,
                    paged_now=change.paged_now,
                ),
            )


@app.agent(incidents)
async def notify_incidents(stream):  # type: ignore[no-untyped-def]
    """Alert on every paging incident event, whoever published it. The correlator's own events
    are usually alerted already by then (the claim keeps it to one alert per incident)."""
    async for event in stream:
        if event.paged_now:
            _start(_alert_after_gather(event.incident_id))


_alert_tasks: set[asyncio.Task[None]] = set()  # strong references while an alert is pending


def _start(coroutine: Coroutine[Any, Any, None]) -> None:
    task = asyncio.get_running_loop().create_task(coroutine)
    _alert_tasks.add(task)
    task.add_done_callback(_alert_tasks.discard)


async def _alert_after_gather(incident_id: int) -> None:
    """Alert once the incident is severe enough to page someone, after a short gather."""
    # Anomalies of the same moment on other series are still arriving; one alert names all.
    # A closing pass publishes all its findings together, so a short gather is enough.
    await asyncio.sleep(resources.detection_config().incidents.alert_gather_seconds)
    try:
        await send_alert(incident_id)
    except Exception:  # the follow-up timer retries an alert that was never delivered
        log.exception("incident %s: alert failed; the follow-up timer will retry", incident_id)


async def _refresh_after_gather(incident_id: int) -> None:
    """Edit the alert once the anomalies of the same pass have merged: one edit for all."""
    await asyncio.sleep(resources.detection_config().incidents.alert_gather_seconds)
    try:
        await refresh_alert(
            resources.engine(), incident_id=incident_id, notifier=resources.notifier()
        )
    except Exception:  # the follow-up timer compares every open alert again
        log.exception("incident %s: alert not updated; the follow-up timer will retry", incident_id)


async def send_alert(incident_id: int) -> None:
    """Post the incident's alert once, whichever worker or timer gets here first."""
    await post_alert_once(
        resources.engine(),
        incident_id=incident_id,
        notifier=resources.notifier(),
        stale_after=timedelta(seconds=ALERT_CLAIM_STALE),
    )


@app.timer(interval=30.0, on_leader=True)
@rides_out_database_outages
async def follow_up_incidents() -> None:
    """Resolve incidents that went quiet, retry alerts that were never delivered, and edit
    alerts that an incident outgrew (a merge while its alert was being posted, a failed edit)."""
    engine = resources.engine()
    config = resources.detection_config()
    now = datetime.now(UTC)
    watermark = await asyncio.to_thread(ingest_watermark, engine, topic=MENTIONS_RAW)
    resolved = await asyncio.to_thread(
        resolve_quiet,
        engine,
        watermark=watermark,
        merge_gap=timedelta(seconds=config.incidents.merge_gap_seconds),
        live_horizon=timedelta(seconds=config.live_horizon_seconds),
        now=now,
    )
    for incident_id in resolved:
        log.info("incident %s resolved: quiet for longer than the merge gap", incident_id)
        await incidents.send(
            key=str(incident_id),
            value=IncidentEvent(incident_id=incident_id, change="resolved", severity="info"),
        )
    cutoff = now - timedelta(seconds=config.incidents.alert_gather_seconds + ALERT_RETRY_AFTER)
    for incident_id in await asyncio.to_thread(unalerted_incidents, engine, opened_before=cutoff):
        await send_alert(incident_id)
    for incident_id in await asyncio.to_thread(alerted_open_incidents, engine):
        await refresh_alert(engine, incident_id=incident_id, notifier=resources.notifier())
