"""What could make an export or erasure miss something, on SQLite and PostgreSQL: no pseudonym
key, ids no integer column holds, a send in flight, and the placeholders read back as words."""

from __future__ import annotations

import json
from datetime import timedelta

import pytest
from sqlalchemy import select
from sqlmodel import Session

from detectors.pass_texts import PassTexts
from detectors.sentiment.corrections import add_correction, corrections_after
from detectors.term_store import window_terms
from monitor import audit
from monitor.privacy import Pseudonymiser
from monitor.storage.models import Mention, TermBaseline
from playbooks.approvals import approve
from playbooks.channels import ChannelError, OutgoingMessage
from playbooks.drafting import make_drafts
from playbooks.erasure import erase_person
from playbooks.export import export_person
from playbooks.models import Delivery
from playbooks.person import PseudonymKeyNeeded, UnknownCustomer
from streams.ingest import ingest_raw_batch
from streams.retention import expire_mention_text
from tests.playbooks.helpers import outage_incident, send_pass, setup_for
from tests.playbooks.person_data import (
    EXTERNAL_ID,
    OBSERVED,
    PRIVACY,
    START,
    WINDOW,
    find_everywhere,
    seed_person,
)
from tests.unit.factories import SCORER

NOW = OBSERVED + timedelta(days=1)
# Digits that are no internal id: too long for any integer, a superscript two (str.isdigit
# says yes, int() says no), one past PostgreSQL's INTEGER.
NOT_IDS = ("9" * 30, "²", str(2**31))


def test_without_the_key_nothing_is_exported_or_erased(engine):
    seeded = seed_person(engine)
    before = find_everywhere(engine, seeded.needles)
    logged = audit.entries(engine)

    for pseudonymiser in (None, Pseudonymiser(None)):  # a PostgreSQL shell without the key
        with pytest.raises(PseudonymKeyNeeded, match=r"^erasure needs the pseudonym key .*done\)$"):
            erase_person(engine, ref=EXTERNAL_ID, pseudonymiser=pseudonymiser, actor="x", now=NOW)
        with pytest.raises(PseudonymKeyNeeded, match=r"^an export needs the pseudonym key"):
            export_person(engine, ref=EXTERNAL_ID, pseudonymiser=pseudonymiser, setup=None, now=NOW)

    # Untouched, so the erasure can be done once the key is there.
    assert find_everywhere(engine, seeded.needles) == before
    assert audit.entries(engine) == logged
    erase_person(
        engine, ref=EXTERNAL_ID, pseudonymiser=PRIVACY.pseudonymiser, actor="cli:dpo", now=NOW
    )
    assert find_everywhere(engine, seeded.needles) == []


def test_digits_no_integer_column_holds_are_no_customer(engine):
    for ref in NOT_IDS:
        with pytest.raises(UnknownCustomer, match=r"^no customer "):
            export_person(engine, ref=ref, pseudonymiser=PRIVACY.pseudonymiser, setup=None, now=NOW)
        with pytest.raises(UnknownCustomer, match=r"^no customer "):
            erase_person(engine, ref=ref, pseudonymiser=PRIVACY.pseudonymiser, actor="x", now=NOW)


class ErasingChannel:
    """An email channel during whose send the person is erased (the send is in flight), which
    then accepts the message or refuses it quoting the address, as SMTP servers do."""

    name = "email"

    def __init__(self, engine, *, refuse: bool) -> None:
        self.engine, self.refuse = engine, refuse

    async def send(self, message: OutgoingMessage) -> str:
        erase_person(
            self.engine,
            ref=EXTERNAL_ID,
            pseudonymiser=PRIVACY.pseudonymiser,
            actor="cli:dpo",
            now=NOW,
        )
        if self.refuse:
            raise ChannelError(f"550 5.1.1 <{message.to}>: mailbox unavailable", permanent=True)
        return "queued-1"

    async def close(self) -> None:
        pass


@pytest.mark.parametrize("refuse", [True, False], ids=["refused", "accepted"])
def test_a_send_in_flight_writes_nothing_back_after_the_erasure(engine, refuse):
    seeded = seed_person(engine)
    setup = setup_for()
    incident = outage_incident(engine)
    for draft in make_drafts(engine, setup=setup, incident_id=incident, change="opened", now=NOW):
        if draft.step_id == "outage-email":
            approve(
                engine, setup=setup, draft_id=draft.id, actor="web:ana", expected_hash=None, now=NOW
            )

    report = send_pass(
        engine,
        setup=setup,
        channels=lambda: {"email": ErasingChannel(engine, refuse=refuse)},
        now=NOW,
    )

    assert report.sent == [] and report.dead == []
    with Session(engine) as session:
        (row,) = session.scalars(
            select(Delivery).where(Delivery.customer_id == seeded.customer_id)
        ).all()
    assert (row.status, row.reason, row.last_error) == ("cancelled", "recipient erased", None)
    assert find_everywhere(engine, seeded.needles) == []
    assert audit.entries(engine)[-1].action == "erase"  # nothing recorded after it


def test_a_refused_address_is_kept_redacted(engine):
    seed_person(engine)
    setup = setup_for()
    incident = outage_incident(engine)
    for draft in make_drafts(engine, setup=setup, incident_id=incident, change="opened", now=NOW):
        if draft.step_id == "outage-email":
            approve(
                engine, setup=setup, draft_id=draft.id, actor="web:ana", expected_hash=None, now=NOW
            )

    class Refusing(ErasingChannel):
        async def send(self, message: OutgoingMessage) -> str:
            raise ChannelError(f"550 5.1.1 <{message.to}>: mailbox unavailable", permanent=True)

    report = send_pass(
        engine, setup=setup, channels=lambda: {"email": Refusing(engine, refuse=True)}, now=NOW
    )
    assert len(report.dead) == 1
    with Session(engine) as session:
        row = session.scalars(select(Delivery).where(Delivery.status == "dead")).one()
    assert row.last_error == "550 5.1.1 <[EMAIL]>: mailbox unavailable"


def _ingest(engine, mentions: list[dict]) -> None:
    raw = [(0, json.dumps(m).encode()) for m in mentions]
    ingest_raw_batch(engine, SCORER, raw, window_seconds=WINDOW, now=NOW, privacy=PRIVACY)


def test_erased_and_expired_texts_teach_the_detectors_no_words(engine):
    seeded = seed_person(engine)
    at = START + timedelta(hours=2)  # a window not closed yet
    _ingest(
        engine,
        [
            {
                "source": "tickets",
                "external_id": f"late-{k}",
                "text": "my zorblax order never came",
                "customer_id": EXTERNAL_ID,
                "event_time": (at + timedelta(seconds=k)).isoformat(),
            }
            for k in range(3)
        ],
    )
    erase_person(
        engine, ref=EXTERNAL_ID, pseudonymiser=PRIVACY.pseudonymiser, actor="cli:dpo", now=NOW
    )
    _ingest(
        engine,
        [
            {
                "source": "tickets",
                "external_id": f"old-{k}",
                "text": "checkout slow",
                "event_time": (at + timedelta(seconds=10 + k)).isoformat(),
            }
            for k in range(3)
        ],
    )
    assert expire_mention_text(engine, before=NOW + timedelta(days=1), batch=50, dry_run=False)
    with Session(engine) as session:
        texts = {m.text for m in session.scalars(select(Mention).where(Mention.event_time >= at))}
        assert texts == {"[ERASED]", "[EXPIRED]"}
        # What a closing window reads, per series and for a whole pass.
        assert window_terms(session, "global", [at], WINDOW) == {at: {}}
        shared = PassTexts(at, WINDOW)
        assert shared.texts(session, at)[("global", at)] == [(), (), (), (), (), ()]

    seeded.detectors.on_touch("global", at, at + timedelta(minutes=5), NOW, 0)
    with Session(engine) as session:
        baseline = session.get(TermBaseline, "global")
        assert baseline is not None
        learnt = json.loads(baseline.state)["counts"]
        assert "erased" not in learnt and "expired" not in learnt and "checkout" in learnt
        # A staff correction of an erased mention teaches the sentiment scorer nothing.
        erased_id = session.scalars(select(Mention.mention_id).where(Mention.text == "[ERASED]"))
        add_correction(engine, mention_id=erased_id.first(), label="positive", who="ana", now=NOW)
    assert corrections_after(engine, after_id=0) == []
