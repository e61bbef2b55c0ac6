"""Why did I get this? The chain of one delivery, from incident to consent, on SQLite and
PostgreSQL, in the domain and through `crisismon deliveries explain`."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from datetime import UTC, datetime, timedelta

import pytest
from sqlmodel import Session, select

from playbooks.approvals import approve
from playbooks.channels.smtp import SmtpChannel
from playbooks.drafting import make_drafts
from playbooks.explain import UnknownDelivery, explain, lines
from playbooks.models import Delivery
from tests.conftest import REPO
from tests.playbooks.fakes import smtp_server
from tests.playbooks.helpers import customers, outage_incident, send_pass, setup_for

NOW = datetime(2026, 11, 26, 12, 0, tzinfo=UTC)
SENT = NOW + timedelta(minutes=1)


def sent_to_vip(engine) -> tuple[int, int, str]:
    """(delivery id, incident id, approved hash) of the outage email sent to c-vip-en."""
    setup = setup_for()
    ids = customers(engine, now=NOW)
    incident = outage_incident(engine)
    drafts = make_drafts(engine, setup=setup, incident_id=incident, change="opened", now=NOW)
    draft = next(
        d for d in drafts if (d.step_id, d.segment, d.locale) == ("outage-email", "vip", "en")
    )
    approve(engine, setup=setup, draft_id=draft.id, actor="web:ana", expected_hash=None, now=NOW)
    with smtp_server() as smtp:
        channels = lambda: {  # noqa: E731
            "email": SmtpChannel(host="127.0.0.1", port=smtp.port, sender="crisis@acme.example")
        }
        assert len(send_pass(engine, setup=setup, channels=channels, now=SENT).sent) == 1
    with Session(engine) as session:
        row = session.exec(
            select(Delivery).where(
                Delivery.draft_id == draft.id, Delivery.customer_id == ids["c-vip-en"]
            )
        ).one()
    return int(row.id or 0), incident, draft.content_hash


def test_the_chain_of_a_sent_message(engine):
    delivery_id, incident, digest = sent_to_vip(engine)
    chain = explain(engine, setup=setup_for(), delivery_id=delivery_id, now=SENT)

    assert chain["delivery"]["status"] == "sent"
    assert chain["delivery"]["sent_at"] == SENT.isoformat()
    assert chain["customer"]["external_id"] == "c-vip-en"
    assert chain["incident"]["id"] == incident and chain["incident"]["severity"] == "critical"
    assert chain["step"] == {
        "draft_id": chain["step"]["draft_id"],
        "playbook": "service-outage",
        "step": "outage-email",
        "channel": "email",
        "segment": "vip",
        "locale": "en",
        "kind": "customer_message",
        "trigger": "opened",
        "pre_approved": False,
    }
    segment = chain["segment"]
    assert segment["name"] == "vip" and segment["matches_now"] is True
    assert segment["any_of"] == [
        {"min_lifetime_value": 5000.0},
        {"plan": ["enterprise"]},
        {"tags_any": ["vip"]},
    ]
    assert segment["any_of_matched"] == [0, 1, 2]  # 12,000 of value, enterprise, tagged vip
    assert chain["approval"] == {
        "by": "web:ana",
        "at": NOW.isoformat(),
        "content_hash": digest,
        "status": "approved",
    }
    granted = chain["consent"]["granted"]
    assert (granted["how"], granted["method"]) == ("import", "signup form")
    assert granted["at"] == datetime(2020, 3, 1, tzinfo=UTC).isoformat()

    text = lines(chain)
    assert text[0] == f"delivery {delivery_id}: email, sent, sent {SENT.isoformat()}"
    assert any(line.startswith(f"incident {incident}: ") for line in text)
    assert f"approval: approved by web:ana at {NOW.isoformat()}, hash {digest}" in text
    assert text[-1].startswith("consent: 2020-03-01 00:00 UTC email granted by import")


def test_an_unknown_delivery_is_one_clear_error(engine):
    with pytest.raises(UnknownDelivery, match=r"^no delivery with id 424242$"):
        explain(engine, setup=setup_for(), delivery_id=424242, now=NOW)


def test_cli_explains_a_delivery_and_refuses_an_unknown_id(engine, database_url):
    delivery_id, incident, digest = sent_to_vip(engine)
    env = {k: v for k, v in os.environ.items() if not k.startswith("CRISISMON_")}
    env["CRISISMON_DATABASE_URL"] = database_url

    def cli(*args: str) -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            [sys.executable, "-m", "monitor", "deliveries", "explain", *args],
            env=env,
            capture_output=True,
            text=True,
            check=False,
            cwd=REPO,
        )

    listed = subprocess.run(
        [sys.executable, "-m", "monitor", "deliveries", "list", "c-vip-en"],
        env={**env, "COLUMNS": "200"},
        capture_output=True,
        text=True,
        check=False,
        cwd=REPO,
    )
    assert listed.returncode == 0, listed.stderr
    row = next(line for line in listed.stdout.splitlines() if "outage-email" in line)
    assert row.split("│")[1].strip() == str(delivery_id) and " sent " in row

    with Session(engine) as session:
        key = session.get(Delivery, delivery_id).idempotency_key
    shown = cli(key, "--json")  # the key the audit log and the receiver saw works too
    assert shown.returncode == 0, shown.stderr
    chain = json.loads(shown.stdout)
    assert chain["delivery"]["id"] == delivery_id
    assert chain["incident"]["id"] == incident
    assert chain["approval"]["content_hash"] == digest
    assert chain["consent"]["granted"]["how"] == "import"

    unknown = cli("424242")
    assert unknown.returncode == 1
    assert unknown.stderr.strip() == "crisismon: error: no delivery with id 424242"
