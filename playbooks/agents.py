"""Faust wiring for playbooks: drafts on incident changes, and the outbox sender."""

from __future__ import annotations

import asyncio
import logging
from datetime import UTC, datetime

from monitor import resources
from monitor.app import app
from monitor.incidents.alerts import AlertMessage
from monitor.notifiers import NotifierError
from playbooks.announce import draft_message
from playbooks.flows import deliver_due
from playbooks.resources import channels, playbook_setup, team_notifier
from playbooks.service import make_drafts
from playbooks.team import claim_team_alerts, record_team_alert
from streams.topics import incidents

log = logging.getLogger(__name__)


@app.agent(incidents)
async def run_playbooks(stream):  # type: ignore[no-untyped-def]
    """Draft the messages of every matching playbook step, then ask people to approve them."""
    gather = resources.detection_config().incidents.alert_gather_seconds
    async for event in stream:
        # Customer steps start when an incident becomes worth a page (opened at warning or
        # above, or raised there by later anomalies), never for a lone single-source blip.
        if event.paged_now:
            change = "opened"
        elif event.change == "resolved":
            change = "resolved"
        else:
            continue
        if change == "opened":
            await asyncio.sleep(gather)  # let the incident collect its examples first
        try:
            drafts = await asyncio.to_thread(
                make_drafts,
                resources.engine(),
                setup=playbook_setup(),
                incident_id=event.incident_id,
                change=change,
                now=datetime.now(UTC),
            )
        except Exception:  # keep the agent alive for the next incident
            log.exception("incident %s: playbooks failed", event.incident_id)
            continue
        await _post_team_alerts(event.incident_id, change)
        for draft in drafts:
            log.info(
                "incident %s: draft %s (%s/%s/%s, %s recipients) is %s",
                draft.incident_id,
                draft.id,
                draft.step_id,
                draft.segment,
                draft.locale,
                draft.recipient_count,
                draft.status,
            )
            if draft.status == "pending":
                await _announce(draft_message(draft))


async def _post_team_alerts(incident_id: int, change: str) -> None:
    """Internal alert steps: posted at once, once per (incident, step)."""
    engine = resources.engine()
    alerts = await asyncio.to_thread(
        claim_team_alerts,
        engine,
        setup=playbook_setup(),
        incident_id=incident_id,
        change=change,
        now=datetime.now(UTC),
    )
    for alert in alerts:
        notifier = team_notifier(alert.slack_channel)
        error = None
        try:
            await notifier.post_alert(AlertMessage(text=alert.text))
        except NotifierError as exc:
            error = str(exc)
            log.error("internal alert %s not delivered: %s", alert.key, exc)
        await asyncio.to_thread(
            record_team_alert,
            engine,
            key=alert.key,
            via=notifier.name,
            error=error,
            now=datetime.now(UTC),
        )


async def _announce(message: AlertMessage) -> None:
    try:
        await resources.notifier().post_alert(message)
    except NotifierError as exc:
        log.error("draft announcement not delivered: %s", exc)


@app.timer(interval=1.0, on_leader=True)
async def send_outbox() -> None:
    """Deliver what is approved and due; suppressions and failures are recorded."""
    report = await deliver_due(
        resources.engine(), setup=playbook_setup(), channels=channels(), now=datetime.now(UTC)
    )
    if report.sent or report.suppressed or report.dead:
        log.info(
            "outbox: %d sent, %d suppressed, %d deferred, %d failed, %d dead",
            len(report.sent),
            len(report.suppressed),
            len(report.deferred),
            len(report.failed),
            len(report.dead),
        )
