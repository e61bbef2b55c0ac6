"""Export and erasure of one person, on SQLite and PostgreSQL: after erasure no column of any
table holds their external id, email, phone, pseudonyms or words, and the counts stay."""

from __future__ import annotations

import json
from datetime import timedelta

import pytest
from sqlalchemy import select
from sqlmodel import Session

from monitor import audit
from monitor.storage.models import DeadLetter, Mention, SeriesWindow, TermBaseline
from playbooks.approvals import approve
from playbooks.channels.smtp import SmtpChannel
from playbooks.customers import all_customers
from playbooks.drafting import make_drafts
from playbooks.erasure import PREVIEW_GONE, erase_person
from playbooks.export import export_person
from playbooks.models import Customer, Delivery, Draft
from playbooks.person import UnknownCustomer
from streams.ingest import ingest_raw_batch
from tests.playbooks.fakes import smtp_server
from tests.playbooks.helpers import outage_incident, send_pass, setup_for
from tests.playbooks.person_data import (
    EMAIL,
    EXTERNAL_ID,
    OBSERVED,
    PHRASE,
    PRIVACY,
    WINDOW,
    find_everywhere,
    seed_person,
    text_columns,
    their_mentions,
)
from tests.unit.factories import SCORER

NOW = OBSERVED + timedelta(days=1)


def _windows(engine) -> list[tuple]:
    table = SeriesWindow.__table__
    with Session(engine) as session:
        rows = session.execute(
            select(
                table.c.series,
                table.c.window_start,
                table.c.n,
                table.c.n_negative,
                table.c.sum_compound,
                table.c.n_copies,
                table.c.n_rated,
                table.c.sum_rating,
            ).order_by(table.c.series, table.c.window_start)
        ).all()
    return [tuple(r) for r in rows]


def _message_them(engine, setup, *, refuse: frozenset[str] = frozenset()) -> str:
    """An incident, its drafts approved, and the outbox sent: their email goes to the fake
    (which refuses the addresses in ``refuse``); the plain text they received."""
    incident = outage_incident(engine)
    drafts = make_drafts(engine, setup=setup, incident_id=incident, change="opened", now=NOW)
    mine = [d for d in drafts if d.step_id == "outage-email" and d.segment == "everyone"]
    assert mine and mine[0].preview.startswith(f"(preview for customer {EXTERNAL_ID})")
    for draft in mine:
        approve(
            engine, setup=setup, draft_id=draft.id, actor="web:ana", expected_hash=None, now=NOW
        )
    with smtp_server() as smtp:
        smtp.refuse |= refuse
        channels = lambda: {  # noqa: E731
            "email": SmtpChannel(host="127.0.0.1", port=smtp.port, sender="crisis@acme.example")
        }
        report = send_pass(engine, setup=setup, channels=channels, now=NOW)
        if refuse:
            assert report.dead and smtp.messages == []
            return ""
        (mail,) = smtp.to(EMAIL)
        assert report.sent
    return str(mail.get_body(("plain",)).get_content())


def test_export_holds_everything_about_them(engine):
    seeded = seed_person(engine)
    setup = setup_for()
    received = _message_them(engine, setup)

    document = export_person(
        engine, ref=EXTERNAL_ID, pseudonymiser=PRIVACY.pseudonymiser, setup=setup, now=NOW
    )

    assert document["customer"]["email"] == EMAIL
    assert document["customer"]["id"] == seeded.customer_id
    assert {"eu", "everyone"} <= set(document["segments"])
    assert {c["channel"] for c in document["consents"]} == {"email", "sms"}
    assert document["consents"][0]["method"] == "signup form"
    history = {(c["channel"], c["change"], c["how"]) for c in document["consent_history"]}
    assert history == {("email", "granted", "import"), ("sms", "granted", "import")}
    # Their 3 mentions (by customer id, or as author by email), redacted at ingest as stored.
    texts = [m["text"] for m in document["mentions"]]
    assert len(texts) == 3 and all(PHRASE in t.casefold() for t in texts)
    assert "Write to [EMAIL]" in texts[0] and "[PHONE]" in texts[2]
    assert {m["label"] for m in document["mentions"]} <= {"negative", "neutral", "positive"}
    assert [m["source"] for m in document["mentions"]] == ["tickets", "reviews", "tickets"]
    # The message they got, rendered again now (the text sent is not kept), and so labelled.
    (delivery,) = document["deliveries"]
    assert delivery["status"] == "sent" and delivery["message"]["rendered"] == "rendered_now"
    assert delivery["message"]["note"].startswith("rendered at export time")
    with Session(engine) as session:
        approved = session.get(Draft, delivery["draft_id"])
    assert approved is not None and approved.approved_hash
    assert delivery["message"]["approved_content_hash"] == approved.approved_hash
    assert delivery["message"]["subject"] == "Acme service disruption"
    assert delivery["message"]["text"].split() == received.split()  # what reached them
    assert [r["payload"]["text"] for r in document["inbox"]] == ["zorblax, again"]
    (letter,) = document["dead_letters"]
    assert EMAIL in letter["payload"]
    assert [e["action"] for e in document["audit"]] == ["send"]
    assert json.dumps(document)  # plain JSON all the way down
    # Nothing of the bystander's.
    assert "C-OTHER-2" not in json.dumps(document)

    for nobody in ("nobody", "a\x00b", "x" * 5000, " "):
        with pytest.raises(UnknownCustomer, match=r"^no customer '"):
            export_person(
                engine, ref=nobody, pseudonymiser=PRIVACY.pseudonymiser, setup=None, now=NOW
            )
    by_id = export_person(
        engine,
        ref=str(seeded.customer_id),
        pseudonymiser=PRIVACY.pseudonymiser,
        setup=None,
        now=NOW,
    )
    assert by_id["customer"]["external_id"] == EXTERNAL_ID
    assert by_id["deliveries"][0]["message"]["rendered"] == "template"


def test_erasure_leaves_no_trace_in_any_column_and_keeps_the_counts(engine):
    seeded = seed_person(engine)
    setup = setup_for()
    _message_them(engine, setup)
    columns = text_columns(engine)
    assert "text" in columns["mentions"] and "signature" in columns["near_duplicate_signatures"]
    assert "payload" in columns["dead_letters"] and "state" in columns["term_baselines"]
    # Before: every identifier is somewhere, including the words the term baselines learnt.
    before = find_everywhere(engine, seeded.needles)
    for needle in seeded.needles:
        assert any(hit.endswith(f": {needle.casefold()}") for hit in before), needle
    assert any(hit.startswith("term_baselines.state") for hit in before)
    assert any(hit.startswith("drafts.preview") for hit in before)
    windows = _windows(engine)
    with Session(engine) as session:
        stored = len(session.scalars(select(Mention)).all())

    report = erase_person(
        engine, ref=EXTERNAL_ID, pseudonymiser=PRIVACY.pseudonymiser, actor="cli:dpo", now=NOW
    )

    assert find_everywhere(engine, seeded.needles) == []
    assert (report.mentions, report.deliveries, report.dead_letters, report.inbox) == (3, 1, 1, 1)
    assert (report.consents, report.consent_history, report.drafts) == (2, 2, 1)
    assert report.derived["terms"] >= 1 and report.derived["term_baselines"] >= 1
    # The counts detection and reports rest on are unchanged; the rows are all still there.
    assert _windows(engine) == windows
    with Session(engine) as session:
        assert len(session.scalars(select(Mention)).all()) == stored
        erased = session.scalars(select(Mention).where(Mention.text == "[ERASED]")).all()
        assert len(erased) == 3 and all(m.customer_id is None and m.author is None for m in erased)
        (delivery,) = session.scalars(
            select(Delivery).where(Delivery.customer_id == seeded.customer_id)
        ).all()
        assert delivery.status == "sent" and delivery.sent_at is not None
        tombstone = session.get(Customer, seeded.customer_id)
        assert tombstone is not None and tombstone.external_id == f"erased:{seeded.customer_id}"
        assert [c.external_id for c in all_customers(session)] == ["C-OTHER-2"]
        letter = session.scalars(select(DeadLetter)).one()
        assert (letter.payload, letter.reason) == ("[ERASED]", "no text in the payload")
        draft = session.scalars(select(Draft).where(Draft.step_id == "outage-email")).first()
        assert draft is not None and draft.preview == PREVIEW_GONE
        # Words others also used stay in the baseline: detection keeps them.
        baseline = session.get(TermBaseline, "global")
        assert baseline is not None and "checkout" in json.loads(baseline.state)["counts"]
    # The audit log says an erasure happened, with counts only, and its chain still verifies.
    count, problems = audit.verify(engine)
    assert problems == [] and count >= 3
    last = audit.entries(engine)[-1]
    assert (last.action, last.actor, last.subject) == (
        "erase",
        "cli:dpo",
        f"customer:{seeded.customer_id}",
    )
    assert json.loads(last.detail)["mentions"] == 3

    # The broker redelivers their records (a replay, a recycle): the erased rows stay erased.
    redelivered = [(0, json.dumps(m).encode()) for m in their_mentions()]
    again = ingest_raw_batch(
        engine, SCORER, redelivered, window_seconds=WINDOW, now=NOW, privacy=PRIVACY
    )
    assert again.stored.new_mention_ids == set() and _windows(engine) == windows
    assert find_everywhere(engine, seeded.needles) == []

    # Erased is gone: no second erasure, no export; the bystander is untouched.
    keyed = PRIVACY.pseudonymiser
    with pytest.raises(UnknownCustomer, match="erased already"):
        erase_person(engine, ref=str(seeded.customer_id), pseudonymiser=keyed, actor="x", now=NOW)
    with pytest.raises(UnknownCustomer, match="no customer"):
        export_person(engine, ref=EXTERNAL_ID, pseudonymiser=keyed, setup=None, now=NOW)
    other = export_person(
        engine, ref="C-OTHER-2", pseudonymiser=PRIVACY.pseudonymiser, setup=None, now=NOW
    )
    assert len(other["mentions"]) == 20


def test_a_refused_address_never_reaches_the_audit_log(engine):
    """The audit log cannot be erased (its chain), so what it keeps must hold no address."""
    seeded = seed_person(engine)
    _message_them(engine, setup_for(), refuse=frozenset({EMAIL}))
    with Session(engine) as session:
        (delivery,) = session.scalars(select(Delivery).where(Delivery.status == "dead")).all()
    assert "[EMAIL]" in (delivery.last_error or "")  # the outbox row says why, redacted
    dead = [e for e in audit.entries(engine) if e.action == "dead-letter"]
    assert len(dead) == 1 and "[EMAIL]" in json.loads(dead[0].detail)["error"]
    assert EMAIL not in dead[0].detail

    erase_person(
        engine, ref=EXTERNAL_ID, pseudonymiser=PRIVACY.pseudonymiser, actor="cli:dpo", now=NOW
    )
    assert find_everywhere(engine, seeded.needles) == []
    assert audit.verify(engine)[1] == []
