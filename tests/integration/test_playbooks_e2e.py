"""A real worker on Tansu and PostgreSQL: incident → drafts in Slack → signed approval → messages
at a local aiosmtpd, SMS API and webhook receiver; a sender killed mid-send sends no duplicate."""

from __future__ import annotations

import asyncio
import json
import subprocess
import sys
import time
import urllib.error
import urllib.parse
import urllib.request
from pathlib import Path

from aiokafka import AIOKafkaProducer
from sqlmodel import Session, select

from monitor.storage.migrate import upgrade
from playbooks.channels.sms import request_signature
from playbooks.models import Consent, Customer, Delivery, Draft
from playbooks.slack import edit_modal
from streams.records import IncidentEvent
from tests.conftest import REPO, service_env, unique_namespace, wait_until
from tests.integration.helpers import engine_for
from tests.playbooks.fakes import sms_server, smtp_server, webhook_server
from tests.playbooks.helpers import config_copy, outage_incident, seed_customers
from tests.playbooks.test_slack_and_policy import approval_body, submission_body

SIGNING_SECRET = "8f742231b10e8888abcd99yyyzzz85a5"


def _publish(broker_url: str, topic: str, incident_id: int) -> None:
    async def send() -> None:
        producer = AIOKafkaProducer(bootstrap_servers=broker_url.removeprefix("kafka://"))
        await producer.start()
        try:
            # As the correlator publishes it: opened at critical, so worth a page right away.
            event = IncidentEvent(
                incident_id=incident_id, change="opened", severity="critical", paged_now=True
            )
            await producer.send_and_wait(topic, event.dumps(), key=str(incident_id).encode())
        finally:
            await producer.stop()

    asyncio.run(send())


def _post(url: str, body: bytes, headers: dict[str, str]) -> tuple[int, str]:
    request = urllib.request.Request(url, data=body, headers=headers, method="POST")
    try:
        with urllib.request.urlopen(request, timeout=10) as response:
            return response.status, response.read().decode()
    except urllib.error.HTTPError as exc:
        return exc.code, exc.read().decode()


def _slack_post(web_url: str, body: bytes, *, tamper: bool = False) -> tuple[int, float, str]:
    import hashlib
    import hmac

    timestamp = str(int(time.time()))
    mac = hmac.new(SIGNING_SECRET.encode(), f"v0:{timestamp}:".encode() + body, hashlib.sha256)
    signed = body + b"%20" if tamper else body
    began = time.monotonic()
    status, text = _post(
        f"{web_url}/slack/interactions",
        signed,
        {
            "Content-Type": "application/x-www-form-urlencoded",
            "X-Slack-Request-Timestamp": timestamp,
            "X-Slack-Signature": "v0=" + mac.hexdigest(),
        },
    )
    return status, time.monotonic() - began, text


def _drafts(engine) -> dict[tuple[str, str, str], Draft]:
    with Session(engine) as session:
        return {(d.step_id, d.segment, d.locale): d for d in session.exec(select(Draft))}


def _delivery(engine, step: str) -> Delivery:
    with Session(engine) as session:
        return session.exec(
            select(Delivery).where(Delivery.idempotency_key.endswith(f":{step}"))  # type: ignore[attr-defined]
        ).one()


def test_playbook_end_to_end(tansu, postgres, fake_slack, start_worker, tmp_path: Path):
    database_url = postgres.create()
    engine = engine_for(database_url)
    upgrade(engine)
    namespace = unique_namespace()
    config = config_copy(tmp_path)
    # Quiet hours depend on when the test runs; they have their own test.
    (config / "sending.yaml").write_text("quiet_hours: null\n")

    with (
        smtp_server() as smtp,
        sms_server(sid="AC1", token="tok") as sms,
        webhook_server(secret="hook-secret") as hook,
    ):
        from datetime import UTC, datetime

        now = datetime.now(UTC)
        seed_customers(engine, hook_url=hook.url, tmp_path=tmp_path, now=now)
        incident = outage_incident(engine)

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
                "CRISISMON_SMTP_HOST": "127.0.0.1",
                "CRISISMON_SMTP_PORT": str(smtp.port),
                "CRISISMON_SMTP_FROM": "crisis@acme.example",
                "CRISISMON_SMS_BASE_URL": sms.url,
                "CRISISMON_SMS_ACCOUNT_SID": "AC1",
                "CRISISMON_SMS_AUTH_TOKEN": "tok",
                "CRISISMON_SMS_FROM": "+15550001",
                "CRISISMON_WEBHOOK_SECRET": "hook-secret",
                "CRISISMON_API_TOKENS": "ana-token=ana:approver,bo-token=bo:editor,"
                "imp=ivan:importer,vic=vic:viewer",
                "CRISISMON_SLACK_SIGNING_SECRET": SIGNING_SECRET,
                "CRISISMON_SLACK_APPROVERS": "W111",
                "CRISISMON_UNSUBSCRIBE_SECRET": "unsub-secret",
            }
        )
        worker = start_worker(env)
        _publish(tansu, f"{namespace}.incidents", incident)

        # Five emails, two SMS, a webhook and the status page update.
        wait_until(lambda: len(_drafts(engine)) == 9, 60, "nine drafts")
        buttons = lambda: [p for p in fake_slack.posts if "crisismon_approve" in json.dumps(p)]  # noqa: E731
        wait_until(lambda: len(buttons()) == 9, 30, "nine drafts posted to Slack with buttons")
        team = lambda: [t for t in fake_slack.texts() if "Outage playbook started" in t]  # noqa: E731
        wait_until(lambda: len(team()) == 1, 30, "the internal alert step")
        assert f"started for incident #{incident} (critical)" in team()[0]
        time.sleep(3)
        assert smtp.messages == [] and sms.requests == [] and hook.requests == []

        drafts = _drafts(engine)
        vip_en = drafts[("outage-email", "vip", "en")]
        body = approval_body(vip_en.id, vip_en.content_hash)
        assert _slack_post(worker.web_url, body, tamper=True)[0] == 401
        status, took, _ = _slack_post(worker.web_url, body)
        assert status == 200 and took < 3.0
        wait_until(lambda: len(smtp.messages) == 1, 30, "the email approved in Slack")

        approve_url = f"{worker.web_url}/api/drafts/{{}}/approve"
        assert _post(approve_url.format(vip_en.id), b"{}", {})[0] == 401
        assert (
            _post(approve_url.format(vip_en.id), b"{}", {"Authorization": "Bearer bo-token"})[0]
            == 403
        )
        # The edit modal, saved in Slack: only approvers may, and the draft needs a new approval.
        new_en = drafts[("outage-email", "new", "en")]
        change = {"subject": "Acme: a problem on our side, your data is safe"}
        stranger = submission_body(edit_modal(new_en), user="U999", changes=change)
        _, _, answer = _slack_post(worker.web_url, stranger)
        assert json.loads(answer)["response_action"] == "errors"
        saved = submission_body(edit_modal(new_en), changes=change)
        _, took, answer = _slack_post(worker.web_url, saved)
        assert json.loads(answer) == {"response_action": "clear"} and took < 3.0
        drafts = _drafts(engine)
        assert drafts[("outage-email", "new", "en")].content_hash != new_en.content_hash

        for key, draft in drafts.items():
            if key[0] == "outage-webhook" or draft.id == vip_en.id:
                continue
            body = json.dumps({"content_hash": draft.content_hash}).encode()
            status, text = _post(
                approve_url.format(draft.id), body, {"Authorization": "Bearer ana-token"}
            )
            assert status == 200, text

        wait_until(lambda: len(smtp.messages) == 5 and len(sms.messages) == 2, 30, "messages")
        time.sleep(2)
        subjects = {m["To"]: str(m["Subject"]) for m in smtp.messages}
        assert subjects == {
            "vip.en@example.com": "Acme: we are on it, and your account team is with you",
            "vip.fr@example.com": "Acme : nous sommes sur le coup, votre équipe dédiée aussi",
            "new.en@example.com": "Acme: a problem on our side, your data is safe",
            "new.fr@example.com": "Acme rencontre un problème ; ce n'est pas vous",
            "all.en@example.com": "Acme service disruption",
        }
        assert sorted(m["To"] for m in sms.messages.values()) == ["+33612345678", "+447700900001"]
        assert len(sms.requests) == 2

        assert smtp.to("capped@example.com") == []
        with Session(engine) as session:
            reasons = sorted(
                d.reason or ""
                for d in session.exec(select(Delivery).where(Delivery.status == "suppressed"))
            )
        assert reasons == [
            "frequency cap: 2 messages in 24 h already",
            "no consent for email",
            "opted out of email",
        ]

        # Replying STOP to an SMS withdraws SMS consent (Twilio's signed inbound webhook).
        inbound = f"{worker.web_url}/api/sms/inbound"
        form = {"From": "+33612345678", "To": "+15550001", "Body": "Stop", "MessageSid": "SM1"}
        signed = {"X-Twilio-Signature": request_signature("tok", inbound, form)}
        encoded = urllib.parse.urlencode(form).encode()
        assert _post(inbound, encoded, {"X-Twilio-Signature": "forged"})[0] == 403
        assert _post(inbound, encoded, signed)[0] == 200
        with Session(engine) as session:
            vip_fr = session.exec(select(Customer).where(Customer.external_id == "c-vip-fr")).one()
            assert session.get(Consent, (vip_fr.id, "sms")).revoked_at is not None
            assert session.get(Consent, (vip_fr.id, "email")).revoked_at is None

        # The unsubscribe link in an email works.
        link = smtp.to("all.en@example.com")[0]["List-Unsubscribe"].strip("<>")
        with urllib.request.urlopen(link, timeout=10) as response:
            assert response.status == 200

        # The sender dies after the webhook receiver got the message, before marking it sent.
        hook.hold_key_prefix = f"{incident}:"
        webhook = drafts[("outage-webhook", "everyone", "en")]
        assert (
            _post(approve_url.format(webhook.id), b"{}", {"Authorization": "Bearer ana-token"})[0]
            == 200
        )
        assert hook.held.wait(30), "the webhook was not sent"
        worker.kill()
        hook.release.set()
        assert _delivery(engine, "outage-webhook").status == "pending"
        worker = start_worker(env)
        wait_until(lambda: _delivery(engine, "outage-webhook").status == "sent", 60, "resend")
        key = _delivery(engine, "outage-webhook").idempotency_key
        assert hook.keys_seen() == [key, key]  # the same key twice: the receiver drops the repeat
        assert list(hook.messages) == [key]

        # Failures and suppressions are visible per channel.
        with urllib.request.urlopen(
            urllib.request.Request(
                f"{worker.web_url}/api/outbox",
                headers={"Authorization": "Bearer ana-token"},
            ),
            timeout=10,
        ) as response:
            health = json.loads(response.read())["channels"]
        assert health["email"] == {"sent": 5 + 2, "suppressed": 3}  # 2 sent earlier to c-capped
        assert health["webhook"] == {"sent": 1}

        # Customers can be upserted over the API too (role responder: the old importer role);
        # bad rows name their index.
        customers_url = f"{worker.web_url}/api/customers"
        bad = json.dumps([{"external_id": "api-1"}, {"external_id": "api-2", "locale": "xx_1"}])
        status, text = _post(customers_url, bad.encode(), {"Authorization": "Bearer imp"})
        assert status == 400 and json.loads(text)["errors"][0]["index"] == 1
        assert _post(customers_url, b"{}", {"Authorization": "Bearer vic"})[0] == 403
        good = json.dumps({"external_id": "api-1", "email": "api@example.com"}).encode()
        status, text = _post(customers_url, good, {"Authorization": "Bearer imp"})
        assert (status, json.loads(text)) == (200, {"upserted": 1})

        # Replaying the incident event drafts and sends nothing new.
        _publish(tansu, f"{namespace}.incidents", incident)
        time.sleep(6)
        assert len(_drafts(engine)) == 9
        assert len(team()) == 1
        assert (len(smtp.messages), len(sms.requests), len(hook.requests)) == (5, 2, 2)

    cli_env = {**env, "CRISISMON_DATABASE_URL": database_url}
    ok = subprocess.run(
        [sys.executable, "-m", "monitor", "audit", "verify"],
        env=cli_env,
        capture_output=True,
        text=True,
        check=False,
        cwd=REPO,
    )
    assert ok.returncode == 0, ok.stderr
    with engine.begin() as conn:
        from sqlalchemy import text

        conn.execute(text("UPDATE audit_log SET detail = '{}' WHERE action = 'send'"))
    bad = subprocess.run(
        [sys.executable, "-m", "monitor", "audit", "verify"],
        env=cli_env,
        capture_output=True,
        text=True,
        check=False,
        cwd=REPO,
    )
    assert bad.returncode == 1
    assert "audit log tampered with" in bad.stderr
