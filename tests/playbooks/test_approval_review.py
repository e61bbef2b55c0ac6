"""What the approvals page shows of a draft: preview, pseudonymised sample, why, hash, diff."""

from __future__ import annotations

import threading
import time
from datetime import UTC, datetime

import pytest
from sqlalchemy import text
from sqlmodel import Session, select

from monitor.privacy import Pseudonymiser, customer_pseudonym
from playbooks.approval_review import review_draft, review_queue
from playbooks.approvals import approve, edit
from playbooks.copy_diff import diff_copy
from playbooks.drafting import make_drafts
from playbooks.models import Delivery, Draft
from playbooks.service import DraftError
from tests.playbooks.helpers import customers, outage_incident, setup_for

NOW = datetime(2026, 11, 26, 12, 0, tzinfo=UTC)
KEY = Pseudonymiser(b"k" * 32)


def _drafts(engine):
    customers(engine, now=NOW)
    incident = outage_incident(engine)
    setup = setup_for()
    drafts = make_drafts(engine, setup=setup, incident_id=incident, change="opened", now=NOW)
    return setup, {(d.step_id, d.segment, d.locale): d for d in drafts}


def test_review_shows_the_message_who_gets_it_and_why(engine):
    setup, drafts = _drafts(engine)
    vip_fr = drafts[("outage-email", "vip", "fr")]
    review = review_draft(engine, setup=setup, pseudonymiser=KEY, draft_id=vip_fr.id, now=NOW)

    # Rendered as c-vip-fr would get it, French copy, named by pseudonym only.
    pseudonym = customer_pseudonym(KEY, "c-vip-fr")
    assert review.preview.rendered_for == pseudonym
    assert "chargé de compte" in review.preview.text
    assert review.preview.subject and review.preview.html.startswith("<")
    assert review.recipients.count == 1 and review.recipients.sample == [pseudonym]
    # The recipient's own signed unsubscribe link would work for whoever reads the page.
    assert "/unsubscribe?c=…&ch=email&t=…" in review.preview.text
    assert "/unsubscribe?c=…&amp;ch=email&amp;t=…" in review.preview.html
    as_text = str(review.as_json())
    for identity in ("c-vip-fr", "vip.fr@example.com", "+33612345678"):
        assert identity not in as_text

    why = review.why
    assert why["incident"]["severity"] == "critical"
    assert why["playbook"]["name"] == "service-outage"
    assert why["matches_now"] is True
    assert why["rules"] and all(rule["holds"] for rule in why["rules"])
    assert review.as_json()["content_hash"] == vip_fr.content_hash
    assert review.compared_with is None and review.diff == []

    everyone = drafts[("outage-email", "everyone", "en")]
    plain = review_draft(
        engine, setup=setup, pseudonymiser=Pseudonymiser(None), draft_id=everyone.id, now=NOW
    )
    assert plain.recipients.count == everyone.recipient_count == 3
    assert all(s.startswith("customer #") for s in plain.recipients.sample)

    status = drafts[("status-investigating", "public", "en")]
    page = review_draft(engine, setup=setup, pseudonymiser=KEY, draft_id=status.id, now=NOW)
    assert page.recipients.note == "the public status page" and page.preview.subject


def test_an_edit_after_approval_diffs_against_the_approved_copy(engine):
    setup, drafts = _drafts(engine)
    draft = drafts[("outage-email", "everyone", "en")]
    approve(engine, setup=setup, draft_id=draft.id, actor="web:ana", expected_hash=None, now=NOW)
    approved_text = draft.body_text.rstrip("\n")
    edit(
        engine,
        setup=setup,
        draft_id=draft.id,
        actor="web:ana",
        subject=None,
        text=approved_text + "\nWe will refund <b>every</b> charge.",
        html=None,
        now=NOW,
    )
    edit(
        engine,
        setup=setup,
        draft_id=draft.id,
        actor="web:bo",
        subject="Changed subject",
        text=None,
        html=None,
        now=NOW,
    )
    review = review_draft(engine, setup=setup, pseudonymiser=KEY, draft_id=draft.id, now=NOW)

    assert review.draft.status == "pending" and review.needs_new_approval
    assert review.compared_with is not None and review.compared_with.label == "approved"
    assert review.compared_with.content_hash == draft.content_hash  # the hash when approved
    changed = {part.part: part for part in review.diff if part.changed}
    assert set(changed) == {"subject", "text"}
    added = [line.text for line in changed["text"].lines if line.op == "+"]
    assert added == ["We will refund <b>every</b> charge."]
    assert [line.op for line in changed["subject"].lines] == ["-", "+"]

    queue = review_queue(engine, setup=setup, pseudonymiser=KEY, now=NOW)
    assert draft.id in [r.draft.id for r in queue.pending]
    assert all(r.draft.status == "pending" for r in queue.pending)


def test_an_edit_of_a_pending_draft_diffs_against_the_copy_before_it(engine):
    setup, drafts = _drafts(engine)
    draft = drafts[("outage-sms-vip", "vip", "en")]
    edit(
        engine,
        setup=setup,
        draft_id=draft.id,
        actor="web:ana",
        subject=None,
        text="Short and new.",
        html=None,
        now=NOW,
    )
    review = review_draft(engine, setup=setup, pseudonymiser=KEY, draft_id=draft.id, now=NOW)
    assert review.compared_with is not None
    assert review.compared_with.label == "before the last edit"
    assert not review.needs_new_approval  # never approved: it simply awaits its first


def test_unknown_draft_and_empty_queue(engine):
    setup = setup_for()
    with pytest.raises(DraftError) as raised:
        review_draft(engine, setup=setup, pseudonymiser=KEY, draft_id=99, now=NOW)
    assert raised.value.status == 404
    queue = review_queue(engine, setup=setup, pseudonymiser=KEY, now=NOW)
    assert queue.pending == [] and queue.decided == []


def test_diff_of_parts():
    parts = diff_copy({"subject": "a", "text": "x\ny"}, {"subject": "a", "text": "x\nz"})
    assert [(p.part, p.changed) for p in parts] == [("subject", False), ("text", True)]


def test_an_edit_with_a_nul_character_is_refused_with_a_message(engine):
    # PostgreSQL refuses NUL in text columns: the edit must be a 400, not a 500 on flush.
    setup, drafts = _drafts(engine)
    draft = drafts[("outage-email", "everyone", "en")]
    with pytest.raises(DraftError) as raised:
        edit(
            engine,
            setup=setup,
            draft_id=draft.id,
            actor="web:ana",
            subject="a\x00b",
            text="x\x00y",
            html=None,
            now=NOW,
        )
    assert raised.value.status == 400 and "NUL" in str(raised.value)
    review = review_draft(engine, setup=setup, pseudonymiser=KEY, draft_id=draft.id, now=NOW)
    assert review.draft.content_hash == draft.content_hash  # nothing was saved


def test_an_approval_racing_a_rejection_does_not_send_the_rejected_draft(engine):
    # Another approver's rejection is being written while this approval starts: the approval
    # must wait for it and see the draft rejected, not write "approved" over it and queue
    # the messages (PostgreSQL), nor fail with "database is locked" (SQLite).
    setup, drafts = _drafts(engine)
    draft = drafts[("outage-email", "everyone", "en")]
    outcome: dict[str, object] = {}

    def approving() -> None:
        try:
            outcome["rows"] = approve(
                engine, setup=setup, draft_id=draft.id, actor="web:ana", expected_hash=None,
                now=NOW,
            )  # fmt: skip
        except Exception as exc:
            outcome["error"] = exc

    with engine.connect() as other, other.begin():
        other.execute(
            text("UPDATE drafts SET status = 'rejected', decided_by = 'web:bo' WHERE id = :id"),
            {"id": draft.id},
        )
        racer = threading.Thread(target=approving)
        racer.start()
        time.sleep(1.0)  # the approval is under way, waiting on the rejection's write
    racer.join(timeout=60)

    error = outcome.get("error")
    assert isinstance(error, DraftError) and error.status == 409, outcome
    with Session(engine) as session:
        assert session.get(Draft, draft.id).status == "rejected"
        assert session.exec(select(Delivery).where(Delivery.draft_id == draft.id)).all() == []


def test_approve_says_how_many_messages_it_queued(engine):
    # POST /api/drafts/ID/approve answers this count and the audit log keeps it: PostgreSQL's
    # driver reported -1 per row for these INSERTs, so it said -3.
    setup, drafts = _drafts(engine)
    draft = drafts[("outage-email", "everyone", "en")]
    rows = approve(
        engine, setup=setup, draft_id=draft.id, actor="web:ana", expected_hash=None, now=NOW
    )
    with Session(engine) as session:
        queued = session.exec(select(Delivery).where(Delivery.draft_id == draft.id)).all()
    assert rows == len(queued) == 3
    assert approve(engine, setup=setup, draft_id=draft.id, actor="web:ana", expected_hash=None,
                   now=NOW) == 0  # fmt: skip
