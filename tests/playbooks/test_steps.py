"""Steps in order: waits, escalations, acknowledgements, retries, on SQLite and PostgreSQL.

The clock is the ``now`` each call gets, so a 30-minute wait takes no time in a test.
"""

from __future__ import annotations

import asyncio
import dataclasses
import io
from datetime import UTC, datetime, timedelta

from pydantic import SecretStr
from sqlalchemy import text
from sqlmodel import Session, select

from monitor.incidents.acknowledge import acknowledge
from monitor.incidents.notifiers.console import ConsoleNotifier
from monitor.incidents.notifiers.slack import SlackNotifier
from monitor.storage.db import session_scope
from monitor.storage.models import AuditEntry, Incident
from playbooks.approvals import approve
from playbooks.channels.console import ConsoleChannel
from playbooks.models import Delivery, Draft, StepRun
from playbooks.steps import (
    MAX_ATTEMPTS,
    RETRY_MAX,
    AdvanceReport,
    advance_due,
    runs_of,
    schedule,
    unscheduled,
)
from tests.playbooks.helpers import config_copy, customers, outage_incident, send_pass, setup_for

NOW = datetime(2026, 11, 26, 12, 0, tzinfo=UTC)
MINUTE = timedelta(minutes=1)
SECOND = timedelta(seconds=1)


def _advance(engine, setup, now, stream: io.StringIO) -> AdvanceReport:
    console = ConsoleNotifier(stream)
    return asyncio.run(advance_due(engine, setup=setup, now=now, notifier_for=lambda _: console))


def _advance_with_slack(
    engine, setup, now: datetime, url: str, token: str = "xoxb-test-token"
) -> AdvanceReport:
    """Advance with team messages going to the fake Slack through the real client."""

    async def run() -> AdvanceReport:
        made: list[SlackNotifier] = []

        def slack(channel: str | None) -> SlackNotifier:
            made.append(
                SlackNotifier(token=SecretStr(token), channel=channel or "#crisis", base_url=url)
            )
            return made[-1]

        try:
            return await advance_due(engine, setup=setup, now=now, notifier_for=slack)
        finally:
            for notifier in made:
                await notifier.close()

    return asyncio.run(run())


def _team_delivery(engine, incident: int, step: str) -> Delivery:
    with Session(engine) as session:
        key = f"{incident}:team:{step}"
        found = session.exec(select(Delivery).where(Delivery.idempotency_key == key)).one()
        session.expunge(found)
        return found


def _status(engine, incident: int) -> dict[str, str]:
    return {run.step_id: run.status for run in runs_of(engine, incident_id=incident)}


def test_steps_run_in_order_and_a_wait_delays_the_rest(engine):
    setup = setup_for()
    customers(engine, now=NOW)
    incident = outage_incident(engine)
    assert schedule(engine, setup=setup, incident_id=incident, change="opened", now=NOW) == 8
    # A replayed incident event schedules nothing new.
    assert schedule(engine, setup=setup, incident_id=incident, change="opened", now=NOW) == 0
    out = io.StringIO()

    report = _advance(engine, setup, NOW, out)
    assert f"Outage playbook started for incident #{incident} (critical)" in out.getvalue()
    assert "“Is the site down? Total outage again, can't log in”" in out.getvalue()
    steps = {d.step_id for d in report.drafts}
    assert steps == {"outage-email", "outage-sms-vip", "outage-webhook", "status-investigating"}
    status_draft = next(d for d in report.drafts if d.step_id == "status-investigating")
    assert status_draft.channel == "status_page" and status_draft.status == "pending"
    assert "Service disruption" in status_draft.preview
    assert _status(engine, incident)["wait-30"] == "scheduled"
    assert _status(engine, incident)["escalate-unacknowledged"] == "scheduled"

    # 31 minutes later the wait is over; the escalation is due 15 minutes after it.
    _advance(engine, setup, NOW + 31 * MINUTE, out)
    assert _status(engine, incident)["wait-30"] == "done"
    assert "nobody has acknowledged" not in out.getvalue()

    report = _advance(engine, setup, NOW + 46 * MINUTE, out)
    assert report.posted == [f"{incident}:team:escalate-unacknowledged"]
    assert f"Incident #{incident}" in out.getvalue() and "nobody has acknowledged" in out.getvalue()
    assert f"crisismon incidents ack {incident} --who NAME" in out.getvalue()
    # Running again posts nothing twice, and the team outbox rows say what was posted.
    assert _advance(engine, setup, NOW + 50 * MINUTE, out).posted == []
    with Session(engine) as session:
        team = session.exec(select(Delivery).where(Delivery.channel == "team")).all()
    assert sorted((d.idempotency_key, d.status) for d in team) == [
        (f"{incident}:team:escalate-unacknowledged", "sent"),
        (f"{incident}:team:tell-comms", "sent"),
    ]


def test_an_acknowledged_incident_is_not_escalated(engine):
    setup = setup_for()
    incident = outage_incident(engine)
    schedule(engine, setup=setup, incident_id=incident, change="opened", now=NOW)
    out = io.StringIO()
    _advance(engine, setup, NOW, out)

    done = acknowledge(engine, incident_id=incident, who="web:ana", now=NOW + 10 * MINUTE)
    assert done.first and done.by == "web:ana"
    again = acknowledge(engine, incident_id=incident, who="cli:bo", now=NOW + 11 * MINUTE)
    assert not again.first and again.by == "web:ana"  # the first acknowledgement counts

    _advance(engine, setup, NOW + 31 * MINUTE, out)
    report = _advance(engine, setup, NOW + 46 * MINUTE, out)
    assert report.posted == [] and "nobody has acknowledged" not in out.getvalue()
    with Session(engine) as session:
        run = session.exec(
            select(StepRun).where(StepRun.step_id == "escalate-unacknowledged")
        ).one()
        acks = session.exec(select(AuditEntry).where(AuditEntry.action == "acknowledge")).all()
    assert (run.status, run.last_error) == ("skipped", "acknowledged by web:ana")
    assert [(a.actor, a.subject) for a in acks] == [
        ("web:ana", f"incident:{incident}"),
        ("cli:bo", f"incident:{incident}"),
    ]


def test_escalation_reaches_slack_with_the_group_mention_and_an_ack_button(
    engine, fake_slack, tmp_path
):
    config = config_copy(
        tmp_path,
        outage={"# mention_group: S012AB3CD": "mention_group: S0ONCALL1"},
    )
    setup = setup_for(config=config)
    incident = outage_incident(engine)
    schedule(engine, setup=setup, incident_id=incident, change="opened", now=NOW)

    def run(now: datetime) -> AdvanceReport:
        return _advance_with_slack(engine, setup, now, fake_slack.url)

    run(NOW)
    assert [p["channel"] for p in fake_slack.posts] == ["#crisis-comms"]
    run(NOW + 46 * MINUTE)
    escalation = fake_slack.posts[-1]
    assert escalation["channel"] == "#incident-leads"
    assert escalation["text"].startswith("<!subteam^S0ONCALL1> ")
    buttons = [e for b in escalation["blocks"] if b["type"] == "actions" for e in b["elements"]]
    assert [(b["action_id"], b["value"]) for b in buttons] == [
        (f"incident_ack_{incident}", str(incident))
    ]


def test_a_slack_alert_slack_could_not_take_is_posted_later_exactly_once(engine, fake_slack):
    setup = setup_for()
    incident = outage_incident(engine)
    schedule(engine, setup=setup, incident_id=incident, change="opened", now=NOW)
    fake_slack.fail_next = [429, 429, 429]  # every attempt of the first run is rate-limited
    report = _advance_with_slack(engine, setup, NOW, fake_slack.url)
    assert fake_slack.posts == []
    assert [name.split("/")[-1] for name in report.retrying] == ["tell-comms"]
    assert _team_delivery(engine, incident, "tell-comms").status == "retrying"
    assert _status(engine, incident)["tell-comms"] == "scheduled"

    _advance_with_slack(engine, setup, NOW + 2 * SECOND, fake_slack.url)  # not due yet
    assert fake_slack.posts == []
    _advance_with_slack(engine, setup, NOW + 6 * SECOND, fake_slack.url)
    _advance_with_slack(engine, setup, NOW + 20 * SECOND, fake_slack.url)
    assert [p["channel"] for p in fake_slack.posts] == ["#crisis-comms"]
    assert _team_delivery(engine, incident, "tell-comms").status == "sent"
    assert _status(engine, incident)["tell-comms"] == "done"


def test_a_refused_slack_alert_is_dead_at_once_and_a_lasting_outage_gives_up(engine, fake_slack):
    setup = setup_for()
    refused = outage_incident(engine, tag="r")
    schedule(engine, setup=setup, incident_id=refused, change="opened", now=NOW)
    # A wrong token is a refusal (invalid_auth): no point in trying again.
    _advance_with_slack(engine, setup, NOW, fake_slack.url, token="xoxb-revoked")
    assert _team_delivery(engine, refused, "tell-comms").status == "dead"
    assert _status(engine, refused)["tell-comms"] == "done"

    # Slack down for longer than the step's attempts: the step fails, the message is dead.
    other = outage_incident(engine, tag="u", day=2)
    schedule(engine, setup=setup, incident_id=other, change="opened", now=NOW)
    fake_slack.fail_next = [429] * 3 * MAX_ATTEMPTS
    now = NOW
    for _ in range(MAX_ATTEMPTS):
        _advance_with_slack(engine, setup, now, fake_slack.url)
        now += RETRY_MAX
    assert "#crisis-comms" not in [p["channel"] for p in fake_slack.posts]
    assert _status(engine, other)["tell-comms"] == "failed"
    delivery = _team_delivery(engine, other, "tell-comms")
    assert (delivery.status, delivery.attempts) == ("dead", MAX_ATTEMPTS)
    with Session(engine) as session:
        audit = session.exec(
            select(AuditEntry).where(AuditEntry.subject == f"delivery:{other}:team:tell-comms")
        ).all()
    assert [a.action for a in audit] == ["dead-letter"]  # once, when it gave up


def test_resolving_cancels_waiting_steps_and_schedules_the_all_clear(engine):
    setup = setup_for()
    customers(engine, now=NOW)
    incident = outage_incident(engine)
    schedule(engine, setup=setup, incident_id=incident, change="opened", now=NOW)
    out = io.StringIO()
    drafts = _advance(engine, setup, NOW, out).drafts
    vip = next(
        d for d in drafts if (d.step_id, d.segment, d.locale) == ("outage-email", "vip", "en")
    )
    approve(engine, setup=setup, draft_id=vip.id, actor="web:ana", expected_hash=None, now=NOW)
    console = lambda: {"email": ConsoleChannel("email", out)}  # noqa: E731
    assert len(send_pass(engine, setup=setup, channels=console, now=NOW).sent) == 1
    with session_scope(engine) as session:
        row = session.get(Incident, incident)
        row.status, row.resolved_at = "resolved", NOW + 5 * MINUTE
        session.add(row)
    assert schedule(engine, setup=setup, incident_id=incident, change="resolved", now=NOW) == 2
    report = _advance(engine, setup, NOW + 6 * MINUTE, out)
    status = _status(engine, incident)
    assert status["wait-30"] == status["escalate-unacknowledged"] == "cancelled"
    assert status["status-resolved"] == status["all-clear-email"] == "done"
    # The status page gets its update to approve; the all-clear goes to the one customer told.
    assert [(d.step_id, d.segment, d.recipient_count) for d in report.drafts] == [
        ("status-resolved", "public", 1),
        ("all-clear-email", "everyone", 1),
    ]
    assert _advance(engine, setup, NOW + 60 * MINUTE, out).posted == []


def test_a_drafting_step_that_failed_on_a_database_error_is_completed_later(engine):
    setup = setup_for()
    customers(engine, now=NOW)
    incident = outage_incident(engine)
    schedule(engine, setup=setup, incident_id=incident, change="opened", now=NOW)
    out = io.StringIO()
    # The drafts table is away (a failover, a lock timeout…): drafting fails.
    with engine.begin() as conn:
        conn.execute(text("ALTER TABLE drafts RENAME TO drafts_away"))
    report = _advance(engine, setup, NOW, out)
    assert f"{incident}:service-outage/outage-email" in report.retrying
    with Session(engine) as session:
        failed = session.exec(select(StepRun).where(StepRun.step_id == "outage-email")).one()
    assert failed.attempts == 1 and "drafts" in (failed.last_error or "")
    status = _status(engine, incident)
    assert status["tell-comms"] == "done"
    # Steps run in order: nothing after the failed step ran.
    assert status["outage-email"] == status["status-investigating"] == "scheduled"
    with engine.begin() as conn:
        conn.execute(text("ALTER TABLE drafts_away RENAME TO drafts"))

    # Too early for the back-off: nothing happens yet.
    assert _advance(engine, setup, NOW + timedelta(seconds=1), out).drafts == []
    report = _advance(engine, setup, NOW + MINUTE, out)
    assert {d.step_id for d in report.drafts} == {
        "outage-email",
        "outage-sms-vip",
        "outage-webhook",
        "status-investigating",
    }
    with Session(engine) as session:
        drafts = session.exec(select(Draft)).all()
        retried = session.exec(select(StepRun).where(StepRun.step_id == "outage-email")).one()
    assert len(drafts) == len(report.drafts) == 9  # each once
    assert retried.status == "done" and retried.attempts == 1


def test_incidents_whose_steps_were_never_scheduled_are_found(engine):
    setup = setup_for()
    incident = outage_incident(engine)
    with Session(engine) as session:
        opened = session.get(Incident, incident).opened_at
    later = opened + 2 * MINUTE
    window = timedelta(hours=24)
    assert unscheduled(engine, now=later, grace=MINUTE, window=window) == [(incident, "opened")]
    # Not before the agent had its chance (the grace), nor for old incidents (the window).
    assert unscheduled(engine, now=opened, grace=MINUTE, window=window) == []
    assert unscheduled(engine, now=opened + timedelta(days=2), grace=MINUTE, window=window) == []
    schedule(engine, setup=setup, incident_id=incident, change="opened", now=later)
    assert unscheduled(engine, now=later, grace=MINUTE, window=window) == []


def test_a_drill_runs_no_playbook_steps(engine):
    setup = setup_for()
    incident = outage_incident(engine)
    with session_scope(engine) as session:
        row = session.get(Incident, incident)
        row.drill = True
        session.add(row)
    assert schedule(engine, setup=setup, incident_id=incident, change="opened", now=NOW) == 0
    with Session(engine) as session:
        opened = session.get(Incident, incident).opened_at
    found = unscheduled(engine, now=opened + 2 * MINUTE, grace=MINUTE, window=timedelta(days=1))
    assert found == []


def test_an_old_incident_resolved_by_hand_gets_its_resolved_steps(engine):
    # The web app's Resolve button writes the incident resolved without an event on the
    # incidents topic; the reconciler must schedule its all-clear even for an incident
    # opened days ago (a long outage), or customers and the status page never hear it is over.
    from monitor.incidents.actions import resolve

    setup = setup_for()
    incident = outage_incident(engine)
    with Session(engine) as session:
        opened = session.get(Incident, incident).opened_at
    window = timedelta(hours=24)
    schedule(engine, setup=setup, incident_id=incident, change="opened", now=opened + MINUTE)
    never_paged = outage_incident(engine, tag="quiet", day=-1)  # no playbook started
    days_later = opened + timedelta(days=3)
    for one in (incident, never_paged):
        resolve(engine, incident_id=one, who="web:ana", now=days_later)

    assert unscheduled(engine, now=days_later, grace=MINUTE, window=window) == []  # the grace
    later = days_later + 2 * MINUTE
    assert unscheduled(engine, now=later, grace=MINUTE, window=window) == [(incident, "resolved")]
    schedule(engine, setup=setup, incident_id=incident, change="resolved", now=later)
    assert unscheduled(engine, now=later, grace=MINUTE, window=window) == []
    assert unscheduled(engine, now=days_later + 2 * window, grace=MINUTE, window=window) == []


def test_an_incident_that_matched_no_playbook_yet_is_chosen_for_again(engine):
    """Under load the first choice can see an early, thin incident that matches nothing and
    grows a second later: it must not be marked as done, or its playbook never runs."""
    full = setup_for()
    nothing_matches = dataclasses.replace(
        full, catalogue=dataclasses.replace(full.catalogue, playbooks=[])
    )
    incident = outage_incident(engine)
    with Session(engine) as session:
        later = session.get(Incident, incident).opened_at + 2 * MINUTE
    window = timedelta(hours=24)
    assert (
        schedule(engine, setup=nothing_matches, incident_id=incident, change="opened", now=later)
        == 0
    )
    assert unscheduled(engine, now=later, grace=MINUTE, window=window) == [(incident, "opened")]
    assert schedule(engine, setup=full, incident_id=incident, change="opened", now=later) > 0
    assert unscheduled(engine, now=later, grace=MINUTE, window=window) == []
