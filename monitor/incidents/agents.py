"""Faust wiring for incidents: correlate anomalies, then alert once per incident."""

from __future__ import annotations

import asyncio
import logging
from datetime import UTC, datetime, timedelta

from monitor import resources
from monitor.app import app
from monitor.incidents.alerts import render_alert
from monitor.incidents.service import correlate, get_detail, mark_alerted
from monitor.notifiers import NotifierError
from streams.records import IncidentEvent
from streams.topics import anomalies, incidents

log = logging.getLogger(__name__)


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
        if change is not None:
            await incidents.send(
                key=str(change.incident_id),
                value=IncidentEvent(
                    incident_id=change.incident_id, change=change.change, severity=change.severity
                ),
            )


@app.agent(incidents)
async def notify_incidents(stream):  # type: ignore[no-untyped-def]
    """Alert on every newly opened incident, once."""
    gather = resources.detection_config().incidents.alert_gather_seconds
    async for event in stream:
        if event.change != "opened":
            continue
        # Anomalies of the same moment on other series are still arriving; one alert names all.
        await asyncio.sleep(gather)
        await send_alert(event.incident_id)


async def send_alert(incident_id: int) -> None:
    engine = resources.engine()
    detail = await asyncio.to_thread(get_detail, engine, incident_id=incident_id)
    if detail is None or detail.incident.alerted_at is not None:
        return
    alert = render_alert(detail)
    notifier = resources.notifier()
    try:
        ref = await notifier.post_alert(alert)
    except NotifierError as exc:
        log.error("incident %s: alert not delivered by %s: %s", incident_id, notifier.name, exc)
        return
    await asyncio.to_thread(
        mark_alerted,
        engine,
        incident_id=incident_id,
        text=alert.text,
        ref=ref,
        now=datetime.now(UTC),
    )
    log.info("incident %s: alert sent via %s (%s)", incident_id, notifier.name, ref)
