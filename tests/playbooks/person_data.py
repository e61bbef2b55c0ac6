"""One person with data in every place crisismon keeps it, made through the real code paths,
and a search of every column of every table for what identifies them."""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

from sqlalchemy import Engine, MetaData, Table, inspect, select
from sqlalchemy.types import JSON, LargeBinary, String
from sqlmodel import Session

from detectors.closing import SeriesDetectors
from detectors.config import DetectionConfig
from monitor.privacy import Privacy
from monitor.storage.db import session_scope
from monitor.storage.models import InboxEntry
from playbooks.customers import from_flat, upsert
from playbooks.models import Customer
from streams.dead_letters import dead_letter_row, store_dead_letter
from streams.ingest import ingest_raw_batch
from streams.mentions import parse_mention
from tests.conftest import TEST_PSEUDONYM_KEY
from tests.unit.factories import SCORER

PRIVACY = Privacy.from_key(TEST_PSEUDONYM_KEY)
START = datetime(2026, 3, 2, 10, tzinfo=UTC)
OBSERVED = START + timedelta(days=1)  # ingest and closing long after the event times
WINDOW = 60

EXTERNAL_ID = "C-ZX-4471"
EMAIL = "ana.kowalczyk@example.org"
PHONE = "+14155550123"
PHRASE = "zorblax"  # in every text they wrote, and in nobody else's
BYSTANDER = "C-OTHER-2"


@dataclass(frozen=True)
class Seeded:
    customer_id: int
    bystander_id: int
    pseudonyms: tuple[str, ...]  # what their mentions carry
    detectors: SeriesDetectors  # what closed their windows, with its baselines in memory

    @property
    def needles(self) -> tuple[str, ...]:
        return (EXTERNAL_ID, EMAIL, PHONE, PHONE.lstrip("+"), PHRASE, *self.pseudonyms)


def their_mentions() -> list[dict[str, Any]]:
    """Raw mention payloads as a webhook or producer sends them: ids in clear."""
    at = START + timedelta(minutes=5)
    return [
        {
            "source": "tickets",
            "external_id": "t-901",
            "text": f"Zorblax checkout keeps failing and I am furious. Write to {EMAIL}",
            "customer_id": EXTERNAL_ID,
            "event_time": at.isoformat(),
        },
        {
            "source": "reviews",
            "external_id": "r-77",
            "text": "the zorblax bundle is the worst purchase I ever made, refund me",
            "author": EMAIL,
            "rating": 1,
            "event_time": (at + timedelta(minutes=7)).isoformat(),
        },
        {
            "source": "tickets",
            "external_id": "t-902",
            "text": f"Still no answer about the zorblax charge, call me on {PHONE}",
            "customer_id": EXTERNAL_ID,
            "author": EXTERNAL_ID,
            "event_time": (at + timedelta(minutes=21)).isoformat(),
        },
    ]


def others_mentions() -> list[dict[str, Any]]:
    texts = [
        "checkout keeps failing for me too",
        "love the new dashboard, great work",
        "is the checkout down again?",
        "refund took two weeks, not great",
    ]
    return [
        {
            "source": "tickets",
            "external_id": f"bystander-{k}",
            "text": texts[k % len(texts)],
            "customer_id": BYSTANDER if k % 2 else None,
            "event_time": (START + timedelta(minutes=k)).isoformat(),
        }
        for k in range(40)
    ]


def seed_person(engine: Engine) -> Seeded:
    """Customers, their consent, mentions through the ingest path, closed windows, an inbox
    row not ingested yet, and a dead letter kept raw that names them."""
    records = [
        {
            "external_id": EXTERNAL_ID,
            "email": EMAIL,
            "phone": PHONE,
            "region": "eu",
            "plan": "pro",
            "tags": "early-adopter",
            "signup_date": "2024-02-01",
            "email_consent_at": "2024-02-01T09:00:00Z",
            "email_consent_method": "signup form",
            "sms_consent_at": "2024-02-01T09:00:00Z",
        },
        # Sorted before them, but reachable by no channel: the drafts' preview shows them.
        {"external_id": BYSTANDER, "region": "us"},
    ]
    upsert(
        engine,
        customers=[from_flat(r) for r in records],
        now=OBSERVED,
        pseudonymiser=PRIVACY.pseudonymiser,
    )
    raw = [json.dumps(m).encode() for m in others_mentions() + their_mentions()]
    outcome = ingest_raw_batch(
        engine,
        SCORER,
        [(0, value) for value in raw],
        window_seconds=WINDOW,
        now=OBSERVED,
        privacy=PRIVACY,
    )
    assert outcome.rejected == ()
    # Close every window, so the term baselines learn their words (saved in SQL).
    detectors = SeriesDetectors(engine, DetectionConfig())
    for series in ("global", "source:tickets", "source:reviews"):
        detectors.on_touch(series, START, START + timedelta(hours=1), OBSERVED, 0)
    # Accepted over HTTP while the broker was down: in the inbox, not ingested yet.
    pending = parse_mention(
        {
            "source": "tickets",
            "external_id": "t-903",
            "text": "zorblax, again",
            "customer_id": EXTERNAL_ID,
            "event_time": (START + timedelta(minutes=50)).isoformat(),
        },
        privacy=PRIVACY,
    )
    with session_scope(engine) as session:
        session.add(
            InboxEntry(
                mention_id=pending.mention_id,
                payload=pending.to_bytes().decode(),
                received_at=OBSERVED,
            )
        )
    # A webhook body refused for a missing field, kept raw for 30 days (retention on).
    body = json.dumps({"requester": {"email": EMAIL, "phone": PHONE}, "id": EXTERNAL_ID})
    letter = dead_letter_row(
        topic="webhooks/helpdesk",
        reason="no text in the payload",
        payload=body,
        source="helpdesk",
        received_at=OBSERVED,
        retention_days=30,
    )
    assert store_dead_letter(engine, letter)
    with Session(engine) as session:
        ids = {c.external_id: int(c.id or 0) for c in session.scalars(select(Customer))}
        person = session.scalars(select(Customer).where(Customer.external_id == EXTERNAL_ID)).one()
    pseudonyms = (
        person.pseudonym,
        PRIVACY.pseudonymiser.pseudonym("author", EMAIL),
        PRIVACY.pseudonymiser.pseudonym("author", EXTERNAL_ID),
    )
    return Seeded(ids[EXTERNAL_ID], ids[BYSTANDER], pseudonyms, detectors)


def text_columns(engine: Engine) -> dict[str, list[str]]:
    """Every text, JSON and binary column of every table, found by introspection."""
    inspector = inspect(engine)
    found: dict[str, list[str]] = {}
    for table in inspector.get_table_names():
        names = [
            c["name"]
            for c in inspector.get_columns(table)
            if isinstance(c["type"], String | JSON | LargeBinary)
        ]
        if names:
            found[table] = names
    return found


def find_everywhere(engine: Engine, needles: tuple[str, ...]) -> list[str]:
    """'table.column: needle' for every place a needle occurs, case-insensitively."""
    hits: list[str] = []
    lowered = [n.casefold() for n in needles]
    with engine.connect() as conn:
        for name, columns in text_columns(engine).items():
            table = Table(name, MetaData(), autoload_with=conn)
            for row in conn.execute(select(*[table.c[c] for c in columns])):
                for column, value in zip(columns, row, strict=True):
                    if value is None:
                        continue
                    text = (
                        bytes(value).decode("latin-1")
                        if isinstance(value, bytes | memoryview)
                        else str(value)
                    ).casefold()
                    hits += [f"{name}.{column}: {n}" for n in lowered if n in text]
    return hits
