"""A real worker on Tansu and PostgreSQL runs the new step kinds: a status page update that
appears at GET /status once approved, a customer message in a shared Slack channel, and an
escalation that fires for an unacknowledged incident and stands down for one acknowledged in
Slack (signed button payload) or over the API. The outage playbook's waits are shortened."""

from __future__ import annotations

import json
import subprocess
import sys
import urllib.request
from datetime import UTC, datetime
from pathlib import Path
from urllib.parse import quote

from sqlmodel import Session, select

from monitor.storage.migrate import upgrade
from monitor.storage.models import Incident
from playbooks.customers import import_file
from playbooks.models import Draft, StepRun
from tests.conftest import REPO, service_env, unique_namespace, wait_until
from tests.integration.helpers import engine_for
from tests.integration.test_playbooks_e2e import SIGNING_SECRET, _post, _publish, _slack_post
from tests.playbooks.helpers import config_copy, customers, outage_incident

ESCALATION = "nobody has acknowledged"


def _get(url: str) -> tuple[int, str]:
    with urllib.request.urlopen(url, timeout=10) as response:
        return response.status, response.read().decode()


def _drafts(engine, incident: int) -> dict[str, Draft]:
    with Session(engine) as session:
        rows = session.exec(select(Draft).where(Draft.incident_id == incident)).all()
        return {f"{d.step_id}/{d.segment}/{d.locale}": d for d in rows}


def _run(engine, incident: int, step: str) -> StepRun | None:
    with Session(engine) as session:
        return session.exec(
            select(StepRun).where(StepRun.incident_id == incident, StepRun.step_id == step)
        ).first()


def _escalations(fake_slack, incident: int) -> list[dict]:
    return [
        p
        for p in fake_slack.posts
        if ESCALATION in str(p.get("text", "")) and f"Incident #{incident} " in str(p["text"])
    ]


def _ack_button(fake_slack, incident: int) -> dict | None:
    """The Acknowledge button on the incident's alert, as the worker posted it."""
    for post in fake_slack.posts:
        for block in post.get("blocks") or []:
            for element in block.get("elements") or []:
                if element.get("action_id") == f"incident_ack_{incident}":
                    return dict(element)
    return None


def _ack_payload(button: dict, user: str = "ana", user_id: str = "U42") -> bytes:
    payload = {
        "type": "block_actions",
        "user": {"id": user_id, "username": user, "name": user},
        "trigger_id": "1.2.3",
        "actions": [{"type": "button", "action_id": button["action_id"], "value": button["value"]}],
    }
    return ("payload=" + quote(json.dumps(payload))).encode()


def test_status_page_slack_customers_and_escalation(
    tansu, postgres, fake_slack, start_worker, tmp_path: Path
):
    database_url = postgres.create()
    engine = engine_for(database_url)
    upgrade(engine)
    namespace = unique_namespace()
    # Wait 6 s instead of 30 minutes, escalate 6 s after instead of 15 minutes.
    config = config_copy(
        tmp_path,
        outage={
            "    minutes: 30\n": "    minutes: 0.1\n",
            "    minutes: 15\n": "    minutes: 0.1\n",
        },
    )
    (config / "sending.yaml").write_text("quiet_hours: null\n")
    now = datetime.now(UTC)
    customers(engine, now=now)
    shared = tmp_path / "slack-customers.jsonl"
    shared.write_text(
        '{"external_id": "c-slack-vip", "tags": "vip", "signup_date": "2022-01-01",'
        ' "last_activity": "2026-11-20", "slack_channel": "C0CUSTOMER1",'
        ' "slack_consent_at": "2024-01-01", "slack_consent_method": "Slack Connect invite"}\n'
    )
    import_file(engine, path=shared, now=now)

    env = service_env(
        broker_url=tansu,
        database_url=database_url,
        data_dir=tmp_path / "data",
        namespace=namespace,
        slack=fake_slack,
    )
    env.update(
        {
            "CRISISMON_CONFIG_DIR": str(config),
            "CRISISMON_API_TOKENS": "ana-token=ana:approver,imp=ivan:importer,vic=vic:viewer",
            "CRISISMON_SLACK_SIGNING_SECRET": SIGNING_SECRET,
            "CRISISMON_SLACK_APPROVERS": "W111",
            "CRISISMON_SLACK_RESPONDERS": "U42",  # ana may acknowledge; mallory (U99) may not
            "CRISISMON_UNSUBSCRIBE_SECRET": "unsub-secret",
            "CRISISMON_STATUS_PAGE_TITLE": "Acme status",
        }
    )
    worker = start_worker(env)
    web = worker.web_url
    ana = {"Authorization": "Bearer ana-token"}

    # Incident A: the drafts include the status page and the Slack customer message.
    a = outage_incident(engine, tag="a", day=0)
    _publish(tansu, f"{namespace}.incidents", a)
    wanted = {"status-investigating/public/en", "outage-slack-vip/vip/en"}
    wait_until(lambda: wanted <= set(_drafts(engine, a)), 60, "status page and Slack drafts")
    wait_until(lambda: _ack_button(fake_slack, a) is not None, 30, "the alert's Acknowledge button")
    step_alert = lambda: [p for p in fake_slack.posts if f"incident #{a} " in p["text"]]  # noqa: E731
    wait_until(lambda: len(step_alert()) == 1, 30, "the slack_alert step")
    assert step_alert()[0]["channel"] == "#crisis-comms"

    # The worker dies during the wait: the steps after it are in SQL and a new worker runs them.
    assert _run(engine, a, "wait-30").status == "scheduled"
    worker.kill()
    worker = start_worker(env)
    web = worker.web_url
    # Nothing on the status page before approval.
    status, page = _get(f"{web}/api/status")
    status = json.loads(page)
    assert (status["status"], status["indicator"]) == ("operational", "operational")
    assert (status["components"], status["updates"]) == ({}, [])

    for key in wanted:
        draft = _drafts(engine, a)[key]
        body = json.dumps({"content_hash": draft.content_hash}).encode()
        assert _post(f"{web}/api/drafts/{draft.id}/approve", body, ana)[0] == 200

    def published() -> dict:
        return json.loads(_get(f"{web}/api/status")[1])

    wait_until(lambda: published()["status"] == "investigating", 30, "the status page update")
    [update] = published()["updates"]
    assert (update["incident_id"], update["component"], update["title"]) == (
        a,
        "web app",
        "Service disruption",
    )
    status, html = _get(f"{web}/status")
    assert status == 200 and "<title>Acme status</title>" in html
    assert "Service disruption" in html and "Investigating" in html

    to_customer = lambda: [p for p in fake_slack.posts if p.get("channel") == "C0CUSTOMER1"]  # noqa: E731
    wait_until(lambda: len(to_customer()) == 1, 30, "the message in the customer's Slack channel")
    assert to_customer()[0]["text"].startswith("Hello from Acme. We know about the outage")

    # Nobody acknowledged A: the escalation goes to the incident leads' channel.
    wait_until(lambda: len(_escalations(fake_slack, a)) == 1, 60, "the escalation of A")
    assert _escalations(fake_slack, a)[0]["channel"] == "#incident-leads"
    # The step is marked done just after Slack accepted the post.
    wait_until(
        lambda: _run(engine, a, "escalate-unacknowledged").status == "done",
        30,
        "A's escalation step marked done",
    )

    # Incident B: acknowledged with its alert's button before the escalation is due.
    b = outage_incident(engine, tag="b", day=1)
    _publish(tansu, f"{namespace}.incidents", b)
    wait_until(lambda: _ack_button(fake_slack, b) is not None, 30, "B's Acknowledge button")
    body = _ack_payload(_ack_button(fake_slack, b))
    assert _slack_post(web, body, tamper=True)[0] == 401
    # Someone not among the responders: Slack gets its answer, the click changes nothing (the
    # audit at the end has no acknowledgement by mallory).
    outsider = _ack_payload(_ack_button(fake_slack, b), user="mallory", user_id="U99")
    assert _slack_post(web, outsider)[0] == 200
    status, took, _ = _slack_post(web, body)
    assert status == 200 and took < 3.0

    def acknowledged_by(incident: int) -> str | None:
        with Session(engine) as session:
            return session.get(Incident, incident).acknowledged_by

    wait_until(lambda: acknowledged_by(b) == "slack:ana", 10, "B acknowledged in Slack")
    wait_until(
        lambda: (
            (run := _run(engine, b, "escalate-unacknowledged")) is not None
            and run.status == "skipped"
        ),
        60,
        "B's escalation standing down",
    )
    assert _run(engine, b, "escalate-unacknowledged").last_error == "acknowledged by slack:ana"
    assert _escalations(fake_slack, b) == []

    # Incident C: acknowledged over the API, with the bearer-token roles.
    c = outage_incident(engine, tag="c", day=2)
    ack_url = f"{web}/api/incidents/{c}/ack"
    assert _post(ack_url, b"", {})[0] == 401
    assert _post(ack_url, b"", {"Authorization": "Bearer vic"})[0] == 403
    assert _post(f"{web}/api/incidents/999999/ack", b"", ana)[0] == 404
    status, answer = _post(ack_url, b"", ana)
    assert status == 200 and json.loads(answer)["acknowledged_by"] == "web:ana"
    _publish(tansu, f"{namespace}.incidents", c)
    wait_until(
        lambda: (
            (run := _run(engine, c, "escalate-unacknowledged")) is not None
            and run.status == "skipped"
        ),
        60,
        "C's escalation standing down",
    )
    assert _escalations(fake_slack, c) == [] and len(_escalations(fake_slack, a)) == 1

    # The CLI: an unknown id is one line and exit 1; a repeat says who has it.
    cli_env = {**env, "CRISISMON_DATABASE_URL": database_url}

    def cli(*args: str) -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            [sys.executable, "-m", "monitor", *args],
            env=cli_env,
            capture_output=True,
            text=True,
            check=False,
            cwd=REPO,
        )

    unknown = cli("incidents", "ack", "999999", "--who", "bo")
    assert unknown.returncode == 1
    assert unknown.stderr.strip() == "crisismon: error: no incident 999999"
    repeat = cli("incidents", "ack", str(c), "--who", "bo")
    assert repeat.returncode == 0 and "already acknowledged by web:ana" in repeat.stdout
    verified = cli("audit", "verify")
    assert verified.returncode == 0, verified.stderr
    with Session(engine) as session:
        from monitor.storage.models import AuditEntry

        acks = session.exec(select(AuditEntry).where(AuditEntry.action == "acknowledge")).all()
    assert [(x.actor, x.subject) for x in acks] == [
        ("slack:ana", f"incident:{b}"),
        ("web:ana", f"incident:{c}"),
        ("bo", f"incident:{c}"),
    ]
