"""Faust wiring for playbooks: steps scheduled on incident changes, run by timers; the sender."""

from __future__ import annotations

import asyncio
import logging
from datetime import UTC, datetime, timedelta

from monitor.app import app
from monitor.incidents.alerts import AlertMessage
from monitor.incidents.notifiers import NotifierError
from monitor.shell import resources
from monitor.shell.agents.outages import rides_out_database_outages
from monitor.shell.playbook_resources import channels, playbook_setup, team_notifier
from playbooks.announce import draft_message
from playbooks.flows import deliver_due
from playbooks.settle import wait_until_settled
from playbooks.steps import advance_due, schedule, unscheduled
from streams.topics import incidents

log = logging.getLogger(__name__)
# How often the leader looks for incidents whose steps were never scheduled, and how far back.
RECONCILE_SECONDS = 30.0
RECONCILE_WINDOW = timedelta(hours=24)
# A paged incident's playbooks are chosen once its anomaly count held still this long (at most
# the limit, well inside the reconcile grace so the reconciler does not race the agent).
SETTLE_QUIET_SECONDS = 1.0
SETTLE_LIMIT_SECONDS = 15.0


@app.agent(incidents)
async def run_playbooks(stream):  # type: ignore[no-untyped-def]
    """Schedule the steps of every matching playbook; the ``advance_playbooks`` timer runs them."""
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
            # Playbooks are chosen once, on what the incident is about: let the rest of the
            # closing pass merge first (a busy correlator takes longer than the gather).
            try:
                await wait_until_settled(
                    resources.engine(),
                    incident_id=event.incident_id,
                    quiet=max(gather, SETTLE_QUIET_SECONDS),
                    limit=SETTLE_LIMIT_SECONDS,
                )
            except Exception:  # the database is away: schedule below fails or reconcile runs
                log.exception("incident %s: could not wait for it to settle", event.incident_id)
        try:
            count = await asyncio.to_thread(
                schedule,
                resources.engine(),
                setup=playbook_setup(),
                incident_id=event.incident_id,
                change=change,
                now=datetime.now(UTC),
            )
        except Exception:  # keep the agent alive; the reconcile timer schedules it later
            log.exception("incident %s: playbook steps not scheduled", event.incident_id)
            continue
        if count:
            log.info(
                "incident %s %s: %d playbook step(s) scheduled", event.incident_id, change, count
            )


@app.timer(interval=1.0, on_leader=True)
@rides_out_database_outages
async def advance_playbooks() -> None:
    """Run the playbook steps that are due: drafts, team alerts, waits, escalations."""
    try:
        report = await advance_due(
            resources.engine(),
            setup=playbook_setup(),
            now=datetime.now(UTC),
            notifier_for=team_notifier,
        )
    except Exception:  # the database is away: the steps stay due; keep the timer alive
        log.exception("playbook steps not advanced")
        return
    for draft in report.drafts:
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


@app.timer(interval=RECONCILE_SECONDS, on_leader=True)
@rides_out_database_outages
async def reconcile_playbooks() -> None:
    """Schedule the steps an incident event could not (the database was away, say)."""
    engine, now = resources.engine(), datetime.now(UTC)
    gather = resources.detection_config().incidents.alert_gather_seconds
    try:
        missing = await asyncio.to_thread(
            unscheduled,
            engine,
            now=now,
            grace=timedelta(seconds=gather + RECONCILE_SECONDS),
            window=RECONCILE_WINDOW,
        )
        for incident_id, change in missing:
            count = await asyncio.to_thread(
                schedule,
                engine,
                setup=playbook_setup(),
                incident_id=incident_id,
                change=change,
                now=now,
            )
            log.warning(
                "incident %s %s: %d missed playbook step(s) scheduled", incident_id, change, count
            )
    except Exception:  # tried again on the next pass
        log.exception("missed playbook steps not scheduled")


async def _announce(message: AlertMessage) -> None:
    try:
        await resources.notifier().post_alert(message)
    except NotifierError as exc:
        log.error("draft announcement not delivered: %s", exc)


@app.timer(interval=1.0, on_leader=True)
@rides_out_database_outages
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
