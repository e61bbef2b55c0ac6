"""Incident → drafts → approval → outbox → real local receivers, on SQLite and PostgreSQL."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from pydantic import SecretStr
from sqlalchemy import text
from sqlmodel import Session, select

from monitor import audit
from playbooks.approvals import approve, edit
from playbooks.channels.sms import TwilioSmsChannel
from playbooks.channels.smtp import SmtpChannel
from playbooks.channels.status_page import StatusPageChannel
from playbooks.channels.webhook import WebhookChannel
from playbooks.drafting import make_drafts
from playbooks.models import Delivery
from playbooks.service import list_drafts
from tests.playbooks.fakes import sms_server, smtp_server, webhook_server
from tests.playbooks.helpers import customers, outage_incident, seed_customers, send_pass, setup_for

NOW = datetime(2026, 11, 26, 12, 0, tzinfo=UTC)  # 07:00 in New York: quiet hours there


def _channels(smtp, sms, hook, engine):
    return {
        "status_page": StatusPageChannel(engine),
        "email": SmtpChannel(host="127.0.0.1", port=smtp.port, sender="crisis@acme.example"),
        "sms": TwilioSmsChannel(
            base_url=sms.url, account_sid="AC1", auth_token=SecretStr("tok"), sender="+15550001"
        ),
        "webhook": WebhookChannel(secret=SecretStr("hook-secret")),
    }


def _seed(engine, hook_url, tmp_path):
    return seed_customers(engine, hook_url=hook_url, tmp_path=tmp_path, now=NOW)


def test_incident_to_messages_per_segment_and_locale(engine, tmp_path):
    setup = setup_for()
    with (
        smtp_server() as smtp,
        sms_server(sid="AC1", token="tok") as sms,
        webhook_server(secret="hook-secret") as hook,
    ):
        _seed(engine, hook.url, tmp_path)
        channels = lambda: _channels(smtp, sms, hook, engine)  # noqa: E731
        incident = outage_incident(engine)

        drafts = make_drafts(engine, setup=setup, incident_id=incident, change="opened", now=NOW)
        keys = {(d.step_id, d.segment, d.locale): d for d in drafts}
        assert set(keys) == {
            ("outage-email", "vip", "en"),
            ("outage-email", "vip", "fr"),
            ("outage-email", "new", "en"),
            ("outage-email", "new", "fr"),
            ("outage-email", "everyone", "en"),
            ("outage-sms-vip", "vip", "en"),
            ("outage-sms-vip", "vip", "fr"),
            ("outage-webhook", "everyone", "en"),
            ("status-investigating", "public", "en"),
        }
        assert keys[("outage-email", "everyone", "en")].recipient_count == 4
        vip_fr = keys[("outage-email", "vip", "fr")]
        assert vip_fr.preview.startswith("(preview for customer c-vip-fr)")
        assert "chargé de compte" in vip_fr.preview
        assert all(d.status == "pending" for d in drafts)

        # Nothing leaves before approval.
        report = send_pass(engine, setup=setup, channels=channels, now=NOW)
        assert report.sent == [] and smtp.messages == [] and sms.requests == []

        for draft in drafts:
            approve(
                engine,
                setup=setup,
                draft_id=draft.id,
                actor="web:ana",
                expected_hash=draft.content_hash,
                now=NOW,
            )
        report = send_pass(engine, setup=setup, channels=channels, now=NOW)
        assert len(report.sent) == 4 + 2 + 1 + 1  # emails, SMS, webhook, status page
        assert len(report.deferred) == 1  # c-new-en: 07:00 in New York
        assert len(report.suppressed) == 3

        subjects = {m["To"]: str(m["Subject"]) for m in smtp.messages}
        assert subjects == {
            "vip.en@example.com": "Acme: we are on it, and your account team is with you",
            "vip.fr@example.com": "Acme : nous sommes sur le coup, votre équipe dédiée aussi",
            "new.fr@example.com": "Acme rencontre un problème ; ce n'est pas vous",
            "all.en@example.com": "Acme service disruption",
        }
        mail = smtp.to("vip.en@example.com")[0]
        assert mail.get_content_type() == "multipart/alternative"
        html = mail.get_body(("html",)).get_content()
        plain = mail.get_body(("plain",)).get_content()
        assert '<a href="http://crisis.example/unsubscribe?c=' in html
        assert mail["List-Unsubscribe"].startswith("<http://crisis.example/unsubscribe?c=")
        assert "Unsubscribe: http://crisis.example/unsubscribe?c=" in plain
        assert mail["X-Idempotency-Key"].endswith(":outage-email")

        assert sorted(m["To"] for m in sms.messages.values()) == ["+33612345678", "+447700900001"]
        fr_sms = next(m for m in sms.messages.values() if m["To"] == "+33612345678")
        assert "STOP" in fr_sms["Body"] and "panne" in fr_sms["Body"]
        assert next(m["text"] for m in hook.messages.values()).startswith(
            '{"event": "incident.opened"'
        )

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

        # After 08:00 in New York the deferred message goes.
        later = NOW + timedelta(hours=1, minutes=1)
        report = send_pass(engine, setup=setup, channels=channels, now=later)
        assert len(report.sent) == 1
        assert str(smtp.to("new.en@example.com")[0]["Subject"]) == (
            "Acme is having a problem; it is not you"
        )

        # Replaying the incident, the approvals and the outbox sends nothing more.
        sent_before = (len(smtp.messages), len(sms.requests), len(hook.requests))
        assert (
            make_drafts(engine, setup=setup, incident_id=incident, change="opened", now=later) == []
        )
        for draft in drafts:
            assert (
                approve(
                    engine,
                    setup=setup,
                    draft_id=draft.id,
                    actor="web:ana",
                    expected_hash=None,
                    now=later,
                )
                == 0
            )
        send_pass(engine, setup=setup, channels=channels, now=later)
        assert (len(smtp.messages), len(sms.requests), len(hook.requests)) == sent_before

    count, problems = audit.verify(engine)
    assert problems == [] and count > 0
    actions = {e.action for e in audit.entries(engine)}
    assert {"draft", "approve", "send", "suppress"} <= actions


def test_edit_after_approval_needs_a_new_approval(engine, tmp_path):
    setup = setup_for()
    with (
        smtp_server() as smtp,
        sms_server(sid="AC1", token="tok") as sms,
        webhook_server(secret="hook-secret") as hook,
    ):
        _seed(engine, hook.url, tmp_path)
        channels = lambda: _channels(smtp, sms, hook, engine)  # noqa: E731
        incident = outage_incident(engine)
        make_drafts(engine, setup=setup, incident_id=incident, change="opened", now=NOW)
        draft = next(
            d
            for d in list_drafts(engine, incident_id=incident)
            if (d.step_id, d.segment, d.locale) == ("outage-email", "vip", "en")
        )
        approve(
            engine,
            setup=setup,
            draft_id=draft.id,
            actor="web:ana",
            expected_hash=draft.content_hash,
            now=NOW,
        )
        edited = edit(
            engine,
            setup=setup,
            draft_id=draft.id,
            actor="web:bo",
            subject="Acme: an update for {{ customer.plan }} customers",
            text=None,
            html=None,
            now=NOW,
        )
        assert edited.status == "pending"
        send_pass(engine, setup=setup, channels=channels, now=NOW)
        assert smtp.messages == []  # the approval was for the old content
        approve(
            engine,
            setup=setup,
            draft_id=draft.id,
            actor="web:ana",
            expected_hash=edited.content_hash,
            now=NOW,
        )
        send_pass(engine, setup=setup, channels=channels, now=NOW)
        assert [str(m["Subject"]) for m in smtp.messages] == [
            "Acme: an update for enterprise customers"
        ]


def test_audit_verify_detects_an_edited_row(engine, tmp_path):
    setup = setup_for()
    customers(engine, now=NOW)
    incident = outage_incident(engine)
    drafts = make_drafts(engine, setup=setup, incident_id=incident, change="opened", now=NOW)
    approve(
        engine, setup=setup, draft_id=drafts[0].id, actor="web:ana", expected_hash=None, now=NOW
    )
    assert audit.verify(engine)[1] == []
    with engine.begin() as conn:
        conn.execute(text("UPDATE audit_log SET actor = 'web:mallory' WHERE action = 'approve'"))
    _count, problems = audit.verify(engine)
    assert len(problems) == 1 and "content changed" in problems[0]


def test_rejecting_an_approved_draft_cancels_what_is_not_sent(engine, tmp_path):
    from playbooks.approvals import reject

    setup = setup_for()
    with (
        smtp_server() as smtp,
        sms_server(sid="AC1", token="tok") as sms,
        webhook_server(secret="hook-secret") as hook,
    ):
        _seed(engine, hook.url, tmp_path)
        incident = outage_incident(engine)
        drafts = make_drafts(engine, setup=setup, incident_id=incident, change="opened", now=NOW)
        everyone = next(d for d in drafts if (d.step_id, d.segment) == ("outage-email", "everyone"))
        approve(
            engine, setup=setup, draft_id=everyone.id, actor="web:ana", expected_hash=None, now=NOW
        )
        reject(engine, draft_id=everyone.id, actor="web:bo", reason="wrong tone", now=NOW)
        send_pass(engine, setup=setup, channels=lambda: _channels(smtp, sms, hook, engine), now=NOW)
        assert smtp.messages == []
        with Session(engine) as session:
            rows = session.exec(select(Delivery).where(Delivery.draft_id == everyone.id)).all()
        assert {r.status for r in rows} == {"cancelled"} and len(rows) == 4


def test_all_clear_only_after_customers_were_told(engine, tmp_path):
    setup = setup_for()
    with (
        smtp_server() as smtp,
        sms_server(sid="AC1", token="tok") as sms,
        webhook_server(secret="hook-secret") as hook,
    ):
        _seed(engine, hook.url, tmp_path)
        incident = outage_incident(engine)
        drafts = make_drafts(engine, setup=setup, incident_id=incident, change="opened", now=NOW)
        early = make_drafts(engine, setup=setup, incident_id=incident, change="resolved", now=NOW)
        # Nothing was sent to customers yet: no all-clear; the status page still gets one.
        assert [(d.step_id, d.channel) for d in early] == [("status-resolved", "status_page")]
        vip = next(
            d for d in drafts if (d.step_id, d.segment, d.locale) == ("outage-email", "vip", "en")
        )
        approve(engine, setup=setup, draft_id=vip.id, actor="web:ana", expected_hash=None, now=NOW)
        send_pass(engine, setup=setup, channels=lambda: _channels(smtp, sms, hook, engine), now=NOW)
        clear = make_drafts(engine, setup=setup, incident_id=incident, change="resolved", now=NOW)
        # Only the customer who was told about the crisis hears that it is over.
        assert [(d.step_id, d.segment, d.locale, d.recipient_count) for d in clear] == [
            ("all-clear-email", "everyone", "en", 1)
        ]
