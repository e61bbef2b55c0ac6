"""No secret is stored in the database, on SQLite and PostgreSQL.

crisismon keeps no secret in SQL (API tokens, keys and passwords live only in CRISISMON_*
variables), so there is nothing to encrypt. These tests keep it that way: every column whose
name sounds like a secret must be listed below with the reason it is not one, and a full
playbook run with secrets configured leaves none of them in any row.
"""

from __future__ import annotations

import re
from datetime import UTC, datetime

from pydantic import SecretStr
from sqlalchemy import Engine, inspect, text
from sqlmodel import Session

from monitor import audit
from playbooks.approvals import approve
from playbooks.channels import Channel
from playbooks.channels.sms import TwilioSmsChannel
from playbooks.channels.smtp import SmtpChannel
from playbooks.channels.status_page import StatusPageChannel
from playbooks.channels.webhook import WebhookChannel
from playbooks.drafting import make_drafts
from tests.playbooks.fakes import sms_server, smtp_server, webhook_server
from tests.playbooks.helpers import outage_incident, seed_customers, send_pass, setup_for

SOUNDS_SECRET = re.compile(
    r"secret|token|passw|key|credential|auth|signature|hash|private|cookie|session", re.I
)
# Columns that match and are not secrets. A new column that holds a secret does not belong
# here: encrypt it with a key from a CRISISMON_* variable (docs/privacy.md) instead.
NOT_SECRETS = {
    ("audit_log", "prev_hash"): "the previous row's chain hash",
    ("audit_log", "hash"): "this row's chain hash (an HMAC when CRISISMON_AUDIT_KEY is set)",
    ("deliveries", "idempotency_key"): "incident:customer:step",
    ("status_updates", "idempotency_key"): "incident:step",
    ("drafts", "content_hash"): "SHA-256 of the message text",
    ("drafts", "approved_hash"): "the content hash that was approved",
    ("template_approvals", "content_hash"): "SHA-256 of the approved template",
    ("mentions", "author"): "a keyed pseudonym (psn:…), not the key",
    ("mentions", "series_keys"): "series names",
    ("near_duplicate_bands", "hash"): "a MinHash band of the text",
    ("near_duplicate_signatures", "signature"): "the MinHash signature of the text",
    ("sentiment_labels", "content_hash"): "SHA-256 of a taught label's text and label",
    ("web_users", "password_hash"): "an argon2id hash, not the password",
    ("web_users", "password_changed_at"): "a time",
    ("web_sessions", "id_hash"): "SHA-256 of the session cookie, not the cookie",
    ("web_sessions", "csrf_token"): "bound to its session, useless without the cookie",
    ("api_tokens", "token_hash"): "SHA-256 of a 256-bit random token, not the token",
}
NOW = datetime(2026, 11, 26, 15, 0, tzinfo=UTC)  # daytime in the customers' zones
UNSUBSCRIBE = "us-0d9e8f7a-unsubscribe-secret"
SMS_TOKEN = "sms-3c4b5a69-auth-token"
HOOK_SECRET = "wh-1a2b3c4d-webhook-secret"
AUDIT_KEY = b"ak-5e6f7a8b-audit-chain-key"


def test_no_column_of_the_schema_holds_a_secret(engine: Engine):
    schema = inspect(engine)
    sounding = {
        (table, column["name"])
        for table in schema.get_table_names()
        for column in schema.get_columns(table)
        if SOUNDS_SECRET.search(column["name"])
    }
    assert sounding <= set(NOT_SECRETS), (
        f"new secret-sounding columns: {sounding - set(NOT_SECRETS)}"
    )
    assert ("mentions", "author") in sounding  # the scan does see the schema


def _every_value(engine: Engine) -> str:
    with engine.connect() as conn:
        return "\n".join(
            repr(tuple(row))
            for table in inspect(engine).get_table_names()
            for row in conn.execute(text(f'SELECT * FROM "{table}"'))
        )


def test_a_playbook_run_with_secrets_configured_stores_none_of_them(engine: Engine, tmp_path):
    setup = setup_for(public_url="http://crisis.example")
    setup = type(setup)(**{**setup.__dict__, "unsubscribe_secret": UNSUBSCRIBE})
    with (
        smtp_server() as smtp,
        sms_server(sid="AC1", token=SMS_TOKEN) as sms,
        webhook_server(secret=HOOK_SECRET) as hook,
    ):
        seed_customers(engine, hook_url=hook.url, tmp_path=tmp_path, now=NOW)
        incident = outage_incident(engine)
        drafts = make_drafts(engine, setup=setup, incident_id=incident, change="opened", now=NOW)
        for draft in drafts:
            approve(
                engine,
                setup=setup,
                draft_id=int(draft.id or 0),
                actor="web:ana",
                expected_hash=draft.content_hash,
                now=NOW,
            )
        with Session(engine) as session:
            audit.append(
                session, actor="t", action="check", subject="s", detail={}, now=NOW, key=AUDIT_KEY
            )
            session.commit()

        def channels() -> dict[str, Channel]:
            return {
                "status_page": StatusPageChannel(engine),
                "email": SmtpChannel(
                    host="127.0.0.1", port=smtp.port, sender="crisis@acme.example"
                ),
                "sms": TwilioSmsChannel(
                    base_url=sms.url,
                    account_sid="AC1",
                    auth_token=SecretStr(SMS_TOKEN),
                    sender="+1",
                ),
                "webhook": WebhookChannel(secret=SecretStr(HOOK_SECRET)),
            }

        report = send_pass(engine, setup=setup, channels=channels, now=NOW)

    assert report.sent and smtp.messages and sms.requests  # secrets were used
    stored = _every_value(engine)
    assert "unsubscribe?c=" in stored or "vip@example.com" in stored  # rows were read
    for secret in (UNSUBSCRIBE, SMS_TOKEN, HOOK_SECRET, AUDIT_KEY.decode()):
        assert secret not in stored
