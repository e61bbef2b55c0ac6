"""Slack request signatures (Slack's published vector), block_actions parsing, pre-approval,
retries and the dead letter."""

from __future__ import annotations

import asyncio
import json
from datetime import UTC, datetime
from pathlib import Path
from urllib.parse import quote

from pydantic import SecretStr
from sqlmodel import Session, select

from monitor import audit
from monitor.broker import free_loopback_port
from monitor.slack_api import signature_valid
from playbooks.announce import APPROVE
from playbooks.approvals import approve, preapprove
from playbooks.channels.sms import TwilioSmsChannel
from playbooks.channels.smtp import SmtpChannel
from playbooks.drafting import make_drafts
from playbooks.models import Delivery
from playbooks.policy import Retries, SendingConfig
from playbooks.slack import parse_action
from tests.playbooks.fakes import sms_server
from tests.playbooks.helpers import customers, outage_incident, send_pass, setup_for

SLACK = Path(__file__).resolve().parent.parent / "data" / "slack"
NOW = datetime(2026, 11, 26, 12, 0, tzinfo=UTC)


def test_slack_signature_vector_and_tampering():
    vector = json.loads((SLACK / "signature_vector.json").read_text())
    args = {
        "secret": vector["secret"],
        "body": vector["body"].encode(),
        "timestamp": vector["timestamp"],
        "signature": vector["signature"],
        "now": float(vector["timestamp"]) + 10,
    }
    assert signature_valid(**args)
    assert not signature_valid(**{**args, "body": args["body"] + b"x"})
    assert not signature_valid(**{**args, "signature": "v0=" + "0" * 64})
    assert not signature_valid(**{**args, "now": float(vector["timestamp"]) + 3600})  # replayed


def approval_body(draft_id: int, content_hash: str, user: str = "W111") -> bytes:
    payload = json.loads((SLACK / "block_actions.json").read_text())
    payload["user"]["id"] = user
    payload["actions"][0].update(action_id=APPROVE, value=f"{draft_id}:{content_hash}")
    return ("payload=" + quote(json.dumps(payload))).encode()


def test_block_actions_fixture_parses():
    raw = (SLACK / "block_actions_minimal.form-urlencoded.txt").read_bytes().strip()
    assert parse_action(raw) is None  # a button that is not ours
    action = parse_action(approval_body(7, "abc"))
    assert action is not None
    assert (action.decision, action.draft_id, action.content_hash, action.user_id) == (
        "approve",
        7,
        "abc",
        "W111",
    )


def test_pre_approval_binds_to_the_template_version(engine, tmp_path):
    customers(engine, now=NOW)
    setup = setup_for()
    assert (
        preapprove(engine, setup=setup, playbook_name="service-outage", actor="cfo", now=NOW) == 1
    )
    first = outage_incident(engine, tag="one")
    drafts = make_drafts(engine, setup=setup, incident_id=first, change="opened", now=NOW)
    webhook = next(d for d in drafts if d.step_id == "outage-webhook")
    assert webhook.status == "approved" and webhook.decided_by == "pre-approved by cfo"

    # Someone edits the webhook template: its standing approval no longer applies.
    step = setup.playbook("service-outage").step("outage-webhook")
    step.segments["everyone"]["en"].text += " "
    second = outage_incident(engine, tag="two", text="site down, outage", day=2)
    drafts = make_drafts(engine, setup=setup, incident_id=second, change="opened", now=NOW)
    webhook = next(d for d in drafts if d.step_id == "outage-webhook")
    assert webhook.status == "pending"
    assert "pre-approval-void" in {e.action for e in audit.entries(engine)}


def test_retries_then_dead_letter(engine):
    customers(engine, now=NOW)
    setup = setup_for(
        sending=SendingConfig(quiet_hours=None, retries=Retries(max_attempts=2, base_seconds=1))
    )
    incident = outage_incident(engine)
    drafts = make_drafts(engine, setup=setup, incident_id=incident, change="opened", now=NOW)
    for draft in drafts:
        if draft.step_id in ("outage-email", "outage-sms-vip") and draft.segment == "vip":
            approve(engine, setup=setup, draft_id=draft.id, actor="t", expected_hash=None, now=NOW)
    closed_port = free_loopback_port()  # nothing listens: a transient failure
    with sms_server(sid="AC1", token="right") as sms:
        channels = lambda: {  # noqa: E731
            "email": SmtpChannel(host="127.0.0.1", port=closed_port, sender="a@b.example"),
            "sms": TwilioSmsChannel(
                base_url=sms.url, account_sid="AC1", auth_token=SecretStr("wrong"), sender="+1555"
            ),
        }
        first = send_pass(engine, setup=setup, channels=channels, now=NOW)
        assert len(first.failed) == 2  # emails: will retry
        assert len(first.dead) == 2  # SMS refused with 401: retrying cannot help
        with Session(engine) as session:
            rows = session.exec(select(Delivery).where(Delivery.channel == "email")).all()
        assert all(r.status == "pending" and r.next_attempt_at > NOW for r in rows)
        later = max(r.next_attempt_at for r in rows)
        second = send_pass(engine, setup=setup, channels=channels, now=later)
        assert len(second.dead) == 2  # max_attempts reached
    with Session(engine) as session:
        statuses = {r.status for r in session.exec(select(Delivery))}
    assert statuses == {"dead"}
    assert sum(e.action == "dead-letter" for e in audit.entries(engine)) == 4


def submission_body(view: dict, *, user: str = "W111", changes: dict | None = None) -> bytes:
    """What Slack posts when the modal is saved: the inputs' values under view.state."""
    values = {}
    for block in view["blocks"]:
        element = block["element"]
        value = (changes or {}).get(block["block_id"], element["initial_value"])
        values[block["block_id"]] = {
            element["action_id"]: {"type": "plain_text_input", "value": value}
        }
    payload = {
        "type": "view_submission",
        "user": {"id": user},
        "view": {**view, "state": {"values": values}},
    }
    return ("payload=" + quote(json.dumps(payload))).encode()


def test_edit_modal_opens_through_the_real_client_and_its_submission_parses(engine):
    from playbooks.slack import edit_modal, open_modal, parse_submission
    from tests.playbooks.fakes import slack_views_server

    customers(engine, now=NOW)
    setup = setup_for()
    incident = outage_incident(engine)
    draft = make_drafts(engine, setup=setup, incident_id=incident, change="opened", now=NOW)[0]
    view = edit_modal(draft)
    with slack_views_server() as slack:
        problem = asyncio.run(
            open_modal(
                token=SecretStr("xoxb-test-token"),
                trigger_id="111.222.valid",
                view=view,
                base_url=slack.url,
            )
        )
    assert problem is None
    sent = slack.requests[0]
    assert sent["trigger_id"] == "111.222.valid"
    assert sent["view"]["private_metadata"] == str(draft.id)
    assert [b["block_id"] for b in sent["view"]["blocks"]] == ["subject", "text", "html"]

    parsed = parse_submission(submission_body(view, changes={"subject": "New subject"}))
    assert parsed is not None and parsed.draft_id == draft.id and parsed.user_id == "W111"
    assert parsed.values["subject"] == "New subject"
    assert parsed.values["text"] == draft.body_text
    assert parse_submission(approval_body(1, "x")) is None


def test_outbox_command_shows_failures_per_channel(engine, tmp_path):
    import os
    import subprocess
    import sys

    test_retries_then_dead_letter(engine)
    env = {k: v for k, v in os.environ.items() if not k.startswith("CRISISMON_")}
    env["CRISISMON_DATABASE_URL"] = engine.url.render_as_string(hide_password=False)
    env["CRISISMON_DATA_DIR"] = str(tmp_path)
    result = subprocess.run(
        [sys.executable, "-m", "monitor", "outbox", "--dead", "3"],
        env=env,
        capture_output=True,
        text=True,
        check=False,
    )
    assert result.returncode == 0, result.stderr
    rows = {
        cells[0]: cells[1:]
        for line in result.stdout.splitlines()
        if (cells := [c.strip() for c in line.strip("│┃ ").split("│")])[0] in ("email", "sms")
    }
    # pending, sent, suppressed, cancelled, dead
    assert rows == {"email": ["0", "0", "0", "0", "2"], "sms": ["0", "0", "0", "0", "2"]}
    dead = [line for line in result.stdout.splitlines() if line.startswith("dead: ")]
    assert len(dead) == 3
    assert any("(email, 2 attempts): SMTP server unreachable" in line for line in dead)
    assert any("(sms, 1 attempts): SMS API answered 401" in line for line in dead)


def test_a_message_that_cannot_be_prepared_goes_to_the_dead_letter(engine):
    from dataclasses import replace

    customers(engine, now=NOW)
    setup = setup_for(sending=SendingConfig(quiet_hours=None))
    incident = outage_incident(engine)
    draft = make_drafts(engine, setup=setup, incident_id=incident, change="opened", now=NOW)[0]
    approve(engine, setup=setup, draft_id=draft.id, actor="t", expected_hash=None, now=NOW)
    # The playbook was removed from the config after approval.
    without = replace(setup, catalogue=replace(setup.catalogue, playbooks=[]))
    report = send_pass(engine, setup=without, channels=dict, now=NOW)
    assert len(report.dead) == draft.recipient_count - 2  # the other two are suppressed first
    with Session(engine) as session:
        dead = session.exec(select(Delivery).where(Delivery.status == "dead")).all()
    assert all("no longer configured" in (d.last_error or "") for d in dead)
