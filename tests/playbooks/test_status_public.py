"""The public status page's logic on SQLite and PostgreSQL: states and impacts, 90 days of
history, the Atom feed (parsed by feedparser), and email subscription with double opt-in
through the outbox to a local aiosmtpd."""

from __future__ import annotations

import re
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime, timedelta

import feedparser
import pytest
from sqlmodel import Session, col, select

from playbooks.approvals import approve
from playbooks.channels.smtp import SmtpChannel
from playbooks.channels.status_page import StatusPageChannel
from playbooks.customers import all_customers, revoke
from playbooks.drafting import make_drafts
from playbooks.models import ConsentChange, Customer, Delivery, StatusSubscriber, StatusUpdate
from playbooks.status_feed import atom_feed
from playbooks.status_page import read_page
from playbooks.status_subscribers import (
    SUBSCRIBER_CHANNEL,
    BadAddress,
    BadToken,
    confirm,
    confirm_token,
    forget_unconfirmed,
    normal_address,
    subscribe,
)
from tests.playbooks.fakes import smtp_server
from tests.playbooks.helpers import outage_incident, send_pass, setup_for

NOW = datetime(2026, 11, 26, 12, 0, tzinfo=UTC)
PUBLIC = "http://crisis.example"


def _publish(engine, setup, channels, incident: int, change: str, step: str, now) -> None:
    drafts = make_drafts(engine, setup=setup, incident_id=incident, change=change, now=now)
    draft = next(d for d in drafts if d.step_id == step)
    approve(engine, setup=setup, draft_id=draft.id, actor="web:ana", expected_hash=None, now=now)
    send_pass(engine, setup=setup, channels=channels, now=now)


def test_states_history_and_atom_feed(engine):
    setup = setup_for(public_url=PUBLIC)
    channels = lambda: {"status_page": StatusPageChannel(engine)}  # noqa: E731

    # An empty page is operational and its feed is valid, without entries.
    empty = read_page(engine, now=NOW)
    assert (empty.indicator, empty.headline, empty.incidents) == (
        "operational",
        "All systems operational",
        [],
    )
    parsed = feedparser.parse(atom_feed(empty, public_url=PUBLIC, title="Acme status"))
    assert parsed.bozo == 0 and parsed.entries == [] and parsed.feed.title == "Acme status"

    incident = outage_incident(engine)  # critical
    _publish(engine, setup, channels, incident, "opened", "status-investigating", NOW)
    # The updates of a replayed incident are dated in event time: when it began.
    began = read_page(engine).updates[0].posted_at
    page = read_page(engine, now=began)
    assert page.components == {"web app": "investigating"}
    assert page.impacts == {"web app": "major_outage"} and page.headline == "Major outage"
    assert [i.incident_id for i in page.incidents] == [incident]

    later = NOW + timedelta(hours=2)
    _publish(engine, setup, channels, incident, "resolved", "status-resolved", later)
    resolved_at = read_page(engine).updates[0].posted_at
    page = read_page(engine, now=resolved_at)
    assert page.indicator == "operational" and page.impacts == {"web app": "operational"}
    assert [u.status for u in page.incidents[0].updates] == ["resolved", "investigating"]

    feed = feedparser.parse(atom_feed(page, public_url=PUBLIC, title="Acme <status>"))
    assert feed.bozo == 0, feed.get("bozo_exception")
    assert feed.feed.title == "Acme <status>" and feed.feed.id == "tag:crisis.example,2026:status"
    assert [e.title.split(":")[0] for e in feed.entries] == ["Resolved", "Investigating"]
    assert all(e.link == f"{PUBLIC}/status#incident-{incident}" for e in feed.entries)
    assert datetime(*feed.entries[0].updated_parsed[:6], tzinfo=UTC) == resolved_at
    assert datetime(*feed.entries[1].published_parsed[:6], tzinfo=UTC) == began
    assert feed.feed.updated_parsed == feed.entries[0].updated_parsed
    assert len({e.id for e in feed.entries}) == 2

    # The history keeps 90 days; a component keeps its last state however old.
    page = read_page(engine, now=resolved_at + timedelta(days=91))
    assert page.incidents == [] and page.components == {"web app": "operational"}


def test_an_incident_still_open_stays_in_the_history_however_old(engine):
    """A replayed incident is dated when it began, months ago, yet its component is still
    red: the history must show it under the red banner, not 'no incidents'."""
    setup = setup_for(public_url=PUBLIC)
    channels = lambda: {"status_page": StatusPageChannel(engine)}  # noqa: E731
    incident = outage_incident(engine)
    _publish(engine, setup, channels, incident, "opened", "status-investigating", NOW)
    began = read_page(engine).updates[0].posted_at
    page = read_page(engine, now=began + timedelta(days=200))
    assert page.indicator == "major_outage"
    assert [i.incident_id for i in page.incidents] == [incident]
    assert [u.status for u in page.incidents[0].updates] == ["investigating"]


def test_monitoring_is_degraded_and_a_warning_is_a_partial_outage(engine):
    incident = outage_incident(engine)
    with Session(engine) as session:
        for k, status in enumerate(("identified", "monitoring")):
            session.add(
                StatusUpdate(
                    idempotency_key=f"k{k}",
                    incident_id=incident,
                    component=f"api-{k}",
                    status=status,
                    title="t",
                    body="b",
                    posted_at=NOW,
                )
            )
        session.add(
            StatusUpdate(
                idempotency_key="other",
                incident_id=incident + 1000,  # no such incident: not critical
                component="mail",
                status="investigating",
                title="t",
                body="b",
                posted_at=NOW,
            )
        )
        session.commit()
    page = read_page(engine, now=NOW)
    assert page.impacts == {
        "api-0": "major_outage",
        "api-1": "degraded_performance",
        "mail": "partial_outage",
    }
    assert page.indicator == "major_outage"


def test_addresses_are_checked():
    assert normal_address(" Bo@Example.ORG ") == "Bo@example.org"
    long = "x" * 250 + "@x.org"
    for bad in ("", "bo", "bo@", "@x.org", "a b@x.org", "bo@x", long, "a@b@c.org", "a\x00b@x.org"):
        with pytest.raises(BadAddress):
            normal_address(bad)


def test_double_opt_in_through_the_outbox(engine):
    setup = setup_for(public_url=PUBLIC)
    incident = outage_incident(engine)
    address = "reader@example.org"
    with smtp_server() as smtp:
        email = SmtpChannel(host="127.0.0.1", port=smtp.port, sender="crisis@acme.example")
        channels = lambda: {  # noqa: E731
            "status_page": StatusPageChannel(engine),
            SUBSCRIBER_CHANNEL: email,
        }
        assert subscribe(engine, address=address, now=NOW) is True
        assert subscribe(engine, address=address, now=NOW + timedelta(minutes=5)) is False
        # Subscribers are nobody's audience but the status page's.
        with Session(engine) as session:
            assert all_customers(session) == []
        report = send_pass(engine, setup=setup, channels=channels, now=NOW)
        assert len(report.sent) == 1 and len(smtp.to(address)) == 1
        confirmation = smtp.to(address)[0]
        text = confirmation.get_body(("plain",)).get_content()
        token = re.search(r"/status/confirm\?token=(\S+)", text).group(1)
        assert "48 hours" in text and confirmation["List-Unsubscribe"]

        # No update reaches an address that has not confirmed.
        _publish(engine, setup, channels, incident, "opened", "status-investigating", NOW)
        assert len(smtp.to(address)) == 1

        for forged in ("", "1.2", f"{token}x", token.replace(".", ".9", 1)):
            with pytest.raises(BadToken):
                confirm(engine, token=forged, secret="test-secret", now=NOW)
        with pytest.raises(BadToken, match="expired"):
            confirm(engine, token=token, secret="test-secret", now=NOW + timedelta(hours=49))
        with pytest.raises(BadToken):
            confirm(engine, token=token, secret="another-secret", now=NOW)
        assert confirm(engine, token=token, secret="test-secret", now=NOW) is True
        assert confirm(engine, token=token, secret="test-secret", now=NOW) is False
        with Session(engine) as session:
            changes = session.exec(select(ConsentChange)).all()
        assert [(c.channel, c.change, c.how) for c in changes] == [
            (SUBSCRIBER_CHANNEL, "granted", "subscribe")
        ]
        assert "double opt-in" in (changes[0].method or "")
        # Asking again once confirmed sends nothing, and says nothing different.
        assert subscribe(engine, address=address, now=NOW + timedelta(hours=2)) is False

        # The next status update is emailed through the outbox, with the unsubscribe link.
        later = NOW + timedelta(hours=3)  # outside the shipped quiet hours (21:00-08:00 UTC)
        _publish(engine, setup, channels, incident, "resolved", "status-resolved", later)
        update = smtp.to(address)[-1]
        assert len(smtp.to(address)) == 2
        assert update["Subject"].startswith("[Service status] Resolved:")
        body = update.get_body(("plain",)).get_content()
        assert f"{PUBLIC}/unsubscribe?c=" in body and f"ch={SUBSCRIBER_CHANNEL}" in body
        with Session(engine) as session:
            rows = session.exec(
                select(Delivery).where(Delivery.channel == SUBSCRIBER_CHANNEL)
            ).all()
            customer_id = rows[0].customer_id
        assert sorted(r.status for r in rows) == ["sent", "sent"]

        # After unsubscribing, later updates are not even queued for them.
        revoke(
            engine,
            customer_id=customer_id,
            channel=SUBSCRIBER_CHANNEL,
            now=later,
            how="unsubscribe",
            who="test",
        )
        other = outage_incident(engine, tag="p", day=1)
        _publish(engine, setup, channels, other, "opened", "status-investigating", later)
        assert len(smtp.to(address)) == 2
        # The old confirmation link, still under 48 hours, does not subscribe them again.
        with pytest.raises(BadToken, match="already used"):
            confirm(engine, token=token, secret="test-secret", now=later)
        with Session(engine) as session:
            queued = session.exec(
                select(Delivery.id).where(
                    Delivery.channel == SUBSCRIBER_CHANNEL, col(Delivery.id) > rows[-1].id
                )
            ).all()
        assert queued == []


def test_addresses_never_confirmed_are_forgotten_after_the_link_expires(engine):
    assert subscribe(engine, address="never@example.org", now=NOW)
    assert subscribe(engine, address="kept@example.org", now=NOW)
    with Session(engine) as session:
        kept = session.exec(select(Customer.id).where(Customer.email == "kept@example.org")).one()
    token = confirm_token("test-secret", kept, NOW)
    assert confirm(engine, token=token, secret="test-secret", now=NOW + timedelta(hours=1))
    assert forget_unconfirmed(engine, now=NOW + timedelta(hours=47)) == 0  # link still valid
    assert forget_unconfirmed(engine, now=NOW + timedelta(hours=49)) == 1
    with Session(engine) as session:
        emails = session.exec(select(Customer.email)).all()
        subscribers = session.exec(select(StatusSubscriber.customer_id)).all()
        outbox = session.exec(select(Delivery.customer_id)).all()
    assert emails == ["kept@example.org"] and subscribers == [kept] and outbox == [kept]
    # Forgotten, the address may subscribe again.
    assert subscribe(engine, address="never@example.org", now=NOW + timedelta(hours=50))


def test_the_same_address_at_the_same_moment_queues_one_confirmation(engine):
    with ThreadPoolExecutor(4) as pool:
        asked = list(pool.map(lambda _: subscribe(engine, address="twin@x.org", now=NOW), "abcd"))
    assert sorted(asked) == [False, False, False, True]
    with Session(engine) as session:
        assert len(session.exec(select(Delivery)).all()) == 1
