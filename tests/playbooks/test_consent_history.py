"""Every consent change is in the history (who, when, how, which channel), and a withdrawal
holds for a message already waiting in the outbox; on SQLite and PostgreSQL."""

from __future__ import annotations

import os
import subprocess
import sys
from datetime import UTC, datetime, timedelta
from pathlib import Path

from sqlmodel import Session, select

from playbooks.approvals import approve
from playbooks.channels.smtp import SmtpChannel
from playbooks.consent_history import history
from playbooks.customers import CustomerIn, grant, import_file, revoke, upsert
from playbooks.drafting import make_drafts
from playbooks.models import Consent, Customer, Delivery
from tests.conftest import REPO
from tests.playbooks.fakes import smtp_server
from tests.playbooks.helpers import CUSTOMERS, customers, outage_incident, send_pass, setup_for

NOW = datetime(2026, 11, 26, 12, 0, tzinfo=UTC)  # midday in London and Paris


def _changes(engine, customer_id: int) -> list[tuple[str, str, str, str, str | None]]:
    return [
        (c.channel, c.change, c.how, c.who, c.method)
        for c in history(engine, customer_id=customer_id).changes
    ]


def test_every_path_that_changes_consent_records_who_how_and_when(engine, tmp_path: Path):
    import_file(engine, path=CUSTOMERS, now=NOW, who="cli:ana (customers.csv)")
    with Session(engine) as session:
        vip = session.exec(select(Customer).where(Customer.external_id == "c-vip-en")).one()
    vip_id = int(vip.id or 0)
    imported = [
        ("email", "granted", "import", "cli:ana (customers.csv)", "signup form"),
        ("sms", "granted", "import", "cli:ana (customers.csv)", "signup form"),
    ]
    assert _changes(engine, vip_id) == imported
    first = history(engine, customer_id=vip_id).changes[0]
    assert first.effective_at == datetime(2020, 3, 1, tzinfo=UTC) and first.recorded_at == NOW

    # The same file again changes nothing, so it records nothing.
    import_file(engine, path=CUSTOMERS, now=NOW + timedelta(hours=1), who="cli:bo")
    assert _changes(engine, vip_id) == imported

    # The API renews email consent; the unsubscribe link withdraws it (once, however often
    # it is clicked); an import cannot clear that withdrawal, an admin can record a new grant.
    later = NOW + timedelta(days=1)
    renewed = CustomerIn.model_validate(
        {"external_id": "c-vip-en", "consent": {"email": {"granted_at": later, "method": "app"}}}
    )
    upsert(engine, customers=[renewed], now=later, how="api", who="web:ivan")
    for _ in range(2):
        revoke(
            engine,
            customer_id=vip_id,
            channel="email",
            now=later,
            how="unsubscribe",
            who=f"customer:{vip_id} (unsubscribe link)",
        )
    upsert(engine, customers=[renewed], now=later, how="import", who="cli:bo")
    with Session(engine) as session:
        assert session.get(Consent, (vip_id, "email")).revoked_at == later
    revoke(engine, customer_id=vip_id, channel="sms", now=later, how="stop", who="customer:sms")
    grant(
        engine, customer_id=vip_id, channel="email", method="phone call", now=later, who="cli:ana"
    )
    with Session(engine) as session:
        assert session.get(Consent, (vip_id, "email")).revoked_at is None
    assert _changes(engine, vip_id) == [
        *imported,
        ("email", "granted", "api", "web:ivan", "app"),
        ("email", "withdrawn", "unsubscribe", f"customer:{vip_id} (unsubscribe link)", None),
        ("sms", "withdrawn", "stop", "customer:sms", None),
        ("email", "granted", "admin", "cli:ana", "phone call"),
    ]

    # A file that carries a withdrawal records it, with the date the file gives.
    path = tmp_path / "withdrawn.csv"
    path.write_text(
        "external_id,email,email_consent_at,email_revoked_at\n"
        "c-new,new@example.com,2026-01-01,2026-02-01\n"
    )
    import_file(engine, path=path, now=later, who="cli:bo")
    with Session(engine) as session:
        new = session.exec(select(Customer).where(Customer.external_id == "c-new")).one()
    changes = history(engine, customer_id=int(new.id or 0)).changes
    assert [(c.change, c.effective_at.date().isoformat()) for c in changes] == [
        ("granted", "2026-01-01"),
        ("withdrawn", "2026-02-01"),
    ]


def test_a_withdrawal_holds_for_a_message_already_in_the_outbox(engine):
    setup = setup_for()
    ids = customers(engine, now=NOW)
    incident = outage_incident(engine)
    drafts = make_drafts(engine, setup=setup, incident_id=incident, change="opened", now=NOW)
    vip_en = next(
        d for d in drafts if (d.step_id, d.segment, d.locale) == ("outage-email", "vip", "en")
    )
    approve(engine, setup=setup, draft_id=vip_en.id, actor="web:ana", expected_hash=None, now=NOW)
    with Session(engine) as session:
        queued = session.exec(select(Delivery).where(Delivery.draft_id == vip_en.id)).one()
    assert (queued.customer_id, queued.status) == (ids["c-vip-en"], "pending")

    # The customer clicks unsubscribe in an earlier message while this one waits.
    revoke(
        engine,
        customer_id=ids["c-vip-en"],
        channel="email",
        now=NOW,
        how="unsubscribe",
        who="customer (unsubscribe link)",
    )
    with smtp_server() as smtp:
        channels = lambda: {  # noqa: E731
            "email": SmtpChannel(host="127.0.0.1", port=smtp.port, sender="crisis@acme.example")
        }
        report = send_pass(engine, setup=setup, channels=channels, now=NOW + timedelta(seconds=1))
        assert smtp.messages == []
    assert report.sent == [] and report.suppressed == [queued.idempotency_key]
    with Session(engine) as session:
        row = session.get(Delivery, queued.id)
    assert (row.status, row.reason) == ("suppressed", "opted out of email")


def test_cli_shows_the_history_and_records_an_admin_withdrawal(engine, database_url):
    import_file(engine, path=CUSTOMERS, now=NOW, who="cli:ana (customers.csv)")
    env = {k: v for k, v in os.environ.items() if not k.startswith("CRISISMON_")}
    env["CRISISMON_DATABASE_URL"] = database_url

    def cli(*args: str) -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            [sys.executable, "-m", "monitor", "customers", "consent", *args],
            env=env,
            capture_output=True,
            text=True,
            check=False,
            cwd=REPO,
        )

    shown = cli("c-vip-fr", "--withdraw", "sms")
    assert shown.returncode == 0, shown.stderr
    assert "sms consent withdrawn" in shown.stderr
    lines = shown.stdout.splitlines()
    assert lines[0].startswith("consent history of customer ") and "(c-vip-fr)" in lines[0]
    assert (
        "2021-05-01 00:00 UTC email granted by import (cli:ana (customers.csv), signup form)"
        in lines[1]
    )
    assert "sms granted by import (cli:ana (customers.csv), sms keyword)" in lines[2]
    assert " sms withdrawn by admin (cli:" in lines[3]

    unknown = cli("nobody")
    assert unknown.returncode == 1
    assert unknown.stderr.strip() == "crisismon: error: no customer with id or external id 'nobody'"


def test_consents_given_before_the_history_become_its_first_entries(database_url):
    from sqlalchemy import text

    from monitor.settings import Settings
    from monitor.storage.db import make_engine
    from monitor.storage.migrate import upgrade

    engine = make_engine(Settings(database_url=database_url).resolved_database_url)
    try:
        upgrade(engine, "0004d")
        with engine.begin() as conn:
            conn.execute(
                text(
                    "INSERT INTO customers (external_id, locale, timezone, lifetime_value, tags,"
                    " updated_at) VALUES ('old-1', 'en', 'UTC', 0, ' ', :now)"
                ),
                {"now": NOW},
            )
            conn.execute(
                text(
                    "INSERT INTO customer_consents (customer_id, channel, granted_at, method,"
                    " revoked_at) SELECT id, 'email', :granted, 'paper form', :revoked"
                    " FROM customers"
                ),
                {"granted": datetime(2024, 1, 1, tzinfo=UTC), "revoked": NOW},
            )
        upgrade(engine)
        with Session(engine) as session:
            old = session.exec(select(Customer).where(Customer.external_id == "old-1")).one()
        changes = history(engine, customer_id=int(old.id or 0)).changes
        assert [(c.change, c.how, c.who, c.method, c.effective_at) for c in changes] == [
            (
                "granted",
                "import",
                "before consent history",
                "paper form",
                datetime(2024, 1, 1, tzinfo=UTC),
            ),
            ("withdrawn", "import", "before consent history", None, NOW),
        ]
    finally:
        engine.dispose()
