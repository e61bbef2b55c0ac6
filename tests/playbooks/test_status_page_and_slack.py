"""The built-in status page and Slack as a customer channel, through drafts, approval and the
outbox, on SQLite and PostgreSQL; Slack is the local fake reached by the real AsyncWebClient."""

from __future__ import annotations

import json
from datetime import UTC, datetime

from pydantic import SecretStr
from sqlmodel import Session, select

from monitor.incidents.acknowledge import ACK_ACTION, ack_block
from monitor.shell.ui import render
from playbooks.approvals import approve, edit, preapprove
from playbooks.channels.slack import METADATA_EVENT, SlackChannel
from playbooks.channels.status_page import StatusPageChannel
from playbooks.customers import import_file
from playbooks.drafting import make_drafts
from playbooks.models import Delivery
from playbooks.slack import parse_ack
from playbooks.status_page import LABEL, as_json, read_page
from tests.playbooks.helpers import config_copy, customers, outage_incident, send_pass, setup_for

NOW = datetime(2026, 11, 26, 12, 0, tzinfo=UTC)


def test_an_approved_status_update_appears_on_the_page_escaped(engine):
    setup = setup_for()
    customers(engine, now=NOW)
    incident = outage_incident(engine)
    channels = lambda: {"status_page": StatusPageChannel(engine)}  # noqa: E731
    drafts = make_drafts(engine, setup=setup, incident_id=incident, change="opened", now=NOW)
    draft = next(d for d in drafts if d.step_id == "status-investigating")
    assert (draft.channel, draft.segment, draft.recipient_count) == ("status_page", "public", 1)

    # Nothing is published before approval.
    send_pass(engine, setup=setup, channels=channels, now=NOW)
    assert read_page(engine).updates == [] and read_page(engine).overall == "operational"

    edited = edit(
        engine,
        setup=setup,
        draft_id=draft.id,
        actor="web:bo",
        subject="Login <script>alert(1)</script> outage",
        text=None,
        html=None,
        now=NOW,
    )
    assert "<script>" in edited.preview
    approve(engine, setup=setup, draft_id=draft.id, actor="web:ana", expected_hash=None, now=NOW)
    report = send_pass(engine, setup=setup, channels=channels, now=NOW)
    assert report.sent == [f"{incident}:status:status-investigating"]
    send_pass(engine, setup=setup, channels=channels, now=NOW)  # a second pass adds nothing

    page = read_page(engine)
    assert page.overall == "investigating" and page.components == {"web app": "investigating"}
    assert len(page.updates) == 1
    body = as_json(page)
    assert body["status"] == "investigating"
    assert body["updates"][0]["title"] == "Login <script>alert(1)</script> outage"
    assert body["updates"][0]["body"].startswith("Since 2026-01-05")
    html = render("status.html", title="Status", page=page, labels=LABEL, notice="")
    assert "<script>alert" not in html and "Login &lt;script&gt;alert(1)&lt;/script&gt;" in html
    assert "Investigating" in html and "Major outage" in html

    # The all-clear update, once approved, puts the page back to operational, newest first.
    clear = make_drafts(engine, setup=setup, incident_id=incident, change="resolved", now=NOW)
    resolved = next(d for d in clear if d.step_id == "status-resolved")
    approve(engine, setup=setup, draft_id=resolved.id, actor="web:ana", expected_hash=None, now=NOW)
    send_pass(engine, setup=setup, channels=channels, now=NOW)
    page = read_page(engine)
    assert page.overall == "operational"
    assert [u.status for u in page.updates] == ["resolved", "investigating"]


def test_slack_customer_channel_with_consent(engine, fake_slack, tmp_path):
    setup = setup_for()
    customers(engine, now=NOW)
    extra = tmp_path / "slack.jsonl"
    extra.write_text(
        '{"external_id": "c-slack-vip", "tags": "vip", "signup_date": "2022-01-01",'
        ' "last_activity": "2026-11-20", "slack_channel": "C0CUSTOMER1",'
        ' "slack_consent_at": "2024-01-01", "slack_consent_method": "Slack Connect invite"}\n'
        '{"external_id": "c-slack-nocons", "tags": "vip", "signup_date": "2022-01-01",'
        ' "slack_channel": "C0CUSTOMER2"}\n'
    )
    assert import_file(engine, path=extra, now=NOW).rejected == []
    incident = outage_incident(engine)
    drafts = make_drafts(engine, setup=setup, incident_id=incident, change="opened", now=NOW)
    slack = [d for d in drafts if d.channel == "slack"]
    assert [(d.step_id, d.segment, d.locale, d.recipient_count) for d in slack] == [
        ("outage-slack-vip", "vip", "en", 2)
    ]
    assert slack[0].preview.startswith("(preview for customer c-slack-vip)")

    def channels():
        return {"slack": SlackChannel(token=SecretStr("xoxb-test-token"), base_url=fake_slack.url)}

    send_pass(engine, setup=setup, channels=channels, now=NOW)
    assert fake_slack.posts == []  # nothing before approval
    approve(engine, setup=setup, draft_id=slack[0].id, actor="web:ana", expected_hash=None, now=NOW)
    report = send_pass(engine, setup=setup, channels=channels, now=NOW)
    assert len(report.sent) == 1 and len(report.suppressed) == 1
    [post] = fake_slack.posts
    assert post["channel"] == "C0CUSTOMER1"
    assert post["text"].startswith("Hello from Acme. We know about the outage")
    assert post["metadata"] == {
        "event_type": METADATA_EVENT,
        "event_payload": {"idempotency_key": report.sent[0]},
    }
    with Session(engine) as session:
        suppressed = session.exec(select(Delivery).where(Delivery.status == "suppressed")).one()
    assert suppressed.reason == "no consent for slack"


def test_the_ack_button_is_read_from_a_block_actions_payload():
    block = ack_block(42)
    [button] = block["elements"]
    assert button["action_id"].startswith(ACK_ACTION) and button["value"] == "42"
    payload = {
        "type": "block_actions",
        "user": {"id": "U123", "username": "ana"},
        "actions": [{"action_id": button["action_id"], "value": "42"}],
    }
    from urllib.parse import urlencode

    ack = parse_ack(urlencode({"payload": json.dumps(payload)}).encode())
    assert ack is not None and (ack.incident_id, ack.user_name) == (42, "ana")
    other = {**payload, "actions": [{"action_id": "crisismon_approve", "value": "1:abc"}]}
    assert parse_ack(urlencode({"payload": json.dumps(other)}).encode()) is None


def test_a_pre_approved_status_step_publishes_without_waiting(engine, tmp_path):
    config = config_copy(
        tmp_path,
        outage={
            "    status: investigating\n": "    status: investigating\n    pre_approved: true\n"
        },
    )
    setup = setup_for(config=config)
    incident = outage_incident(engine)
    # Without a standing approval of this template version it still waits for a person.
    drafts = make_drafts(engine, setup=setup, incident_id=incident, change="opened", now=NOW)
    assert [d.status for d in drafts if d.channel == "status_page"] == ["pending"]

    assert (
        preapprove(engine, setup=setup, playbook_name="service-outage", actor="cfo", now=NOW) == 2
    )
    later = outage_incident(engine, tag="later", day=3)
    drafts = make_drafts(engine, setup=setup, incident_id=later, change="opened", now=NOW)
    assert [d.status for d in drafts if d.channel == "status_page"] == ["approved"]
    send_pass(
        engine, setup=setup, channels=lambda: {"status_page": StatusPageChannel(engine)}, now=NOW
    )
    assert [u.incident_id for u in read_page(engine).updates] == [later]
