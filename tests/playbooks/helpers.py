"""Shared setup for the playbook tests: customers, an incident, the shipped playbooks."""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from datetime import datetime, timedelta
from pathlib import Path

from sqlalchemy import Engine
from sqlmodel import Session, select

from monitor.incidents.service import correlate
from monitor.settings import shipped_config_dir
from playbooks.channels import Channel
from playbooks.customers import import_file
from playbooks.flows import PassReport, deliver_due
from playbooks.models import Customer, Delivery
from playbooks.policy import SendingConfig, load_sending
from playbooks.schema import load_all
from playbooks.service import Setup
from tests.unit.factories import T0, add_anomaly, mention, store

DATA = Path(__file__).resolve().parent.parent / "data"
CUSTOMERS = DATA / "customers" / "customers.csv"
OUTAGE_TEXT = "Is the site down? Total outage again, can't log in"


def config_copy(tmp_path: Path, *, outage: dict[str, str] | None = None) -> Path:
    """A copy of the shipped config; ``outage`` replaces text in the outage playbook (for
    example its waits in minutes, shortened so a test sees the escalation)."""
    import shutil

    config = tmp_path / "config-copy"
    shutil.copytree(shipped_config_dir(), config)
    path = config / "playbooks" / "service-outage.yaml"
    text = path.read_text()
    for old, new in (outage or {}).items():
        assert old in text, old
        text = text.replace(old, new, 1)
    path.write_text(text)
    return config


def setup_for(
    *,
    public_url: str = "http://crisis.example",
    sending: SendingConfig | None = None,
    config: Path | None = None,
) -> Setup:
    segments, catalogue = load_all(config or shipped_config_dir())
    assert catalogue.errors == []
    return Setup(
        segments=segments,
        catalogue=catalogue,
        sending=sending or load_sending(shipped_config_dir() / "sending.yaml"),
        public_url=public_url,
        unsubscribe_secret="test-secret",
    )


def outage_incident(
    engine: Engine, *, tag: str = "o", text: str = OUTAGE_TEXT, day: int = 0
) -> int:
    """An incident opened by the real correlator, quoting one angry mention."""
    at = T0 + timedelta(days=day)
    stored = store(engine, [mention(f"{tag}-1", text=text, at=at)], now=at + timedelta(hours=1))
    add_anomaly(
        engine,
        f"anomaly-{tag}",
        severity="critical",
        start=at,
        example_mention_ids=sorted(stored.new_mention_ids),
    )
    change = correlate(
        engine,
        anomaly_id=f"anomaly-{tag}",
        merge_gap=timedelta(minutes=30),
        now=at + timedelta(hours=1),
    )
    assert change is not None and change.change == "opened"
    return change.incident_id


def customers(engine: Engine, *, now: datetime) -> dict[str, int]:
    import_file(engine, path=CUSTOMERS, now=now)
    with Session(engine) as session:
        return {c.external_id: int(c.id or 0) for c in session.exec(select(Customer))}


def send_pass(
    engine: Engine, *, setup: Setup, channels: Callable[[], dict[str, Channel]], now: datetime
) -> PassReport:
    """One outbox pass with fresh channels in one event loop, closed afterwards."""

    async def run() -> PassReport:
        made = channels()
        try:
            return await deliver_due(engine, setup=setup, channels=made, now=now)
        finally:
            for channel in made.values():
                await channel.close()

    return asyncio.run(run())


def seed_customers(engine: Engine, *, hook_url: str, tmp_path: Path, now: datetime) -> None:
    """The example customers, c-all-en's webhook at ``hook_url``, and c-capped, who already got
    two crisis messages an hour before ``now`` (the cap is 2 in 24 h)."""
    customers(engine, now=now)
    extra = tmp_path / "extra.jsonl"
    extra.write_text(
        f'{{"external_id": "c-all-en", "webhook_url": "{hook_url}"}}\n'
        '{"external_id": "c-capped", "timezone": "UTC", "signup_date": "2024-01-01",'
        ' "email": "capped@example.com", "email_consent_at": "2024-01-01"}\n'
    )
    import_file(engine, path=extra, now=now)
    earlier = now - timedelta(hours=1)
    with Session(engine) as session:
        capped = session.exec(select(Customer).where(Customer.external_id == "c-capped")).one()
        for k in range(2):
            session.add(
                Delivery(
                    idempotency_key=f"earlier:{capped.id}:{k}",
                    draft_id=0,
                    customer_id=int(capped.id or 0),
                    channel="email",
                    status="sent",
                    next_attempt_at=earlier,
                    created_at=earlier,
                    sent_at=earlier,
                )
            )
        session.commit()
