"""Did our message help? Hand-built segment windows and sends, on SQLite and PostgreSQL."""

from __future__ import annotations

from datetime import timedelta

import pytest
from sqlmodel import Session

from monitor.storage.models import SeriesWindow
from playbooks.effect import COMPARED, NO_MENTIONS, REPLAYED, TOO_EARLY, UnknownIncident, effect_of
from playbooks.models import Delivery, Draft
from tests.playbooks.helpers import outage_incident
from tests.unit.factories import T0

SEND = T0 + timedelta(hours=3)  # 13:00, on a window edge
LATER_SEND = SEND + timedelta(minutes=30)
TEN_MINUTES = 600
LIVE = timedelta(days=30)  # the factories' incident opened an hour after its window


def _draft(session: Session, incident: int, *, step: str, segment: str, channel: str) -> int:
    draft = Draft(
        incident_id=incident,
        playbook="service-outage",
        step_id=step,
        channel=channel,
        segment=segment,
        locale="en",
        body_text="We are on it.",
        content_hash="h",
        status="approved",
        created_at=T0,
    )
    session.add(draft)
    session.flush()
    assert draft.id is not None
    return draft.id


def _sent(session: Session, draft_id: int, *, count: int, at, key: str) -> None:
    for k in range(count):
        session.add(
            Delivery(
                idempotency_key=f"{key}:{k}",
                draft_id=draft_id,
                customer_id=k + 1,
                channel="email",
                status="sent",
                next_attempt_at=at,
                created_at=at,
                sent_at=at + timedelta(seconds=k),  # one outbox pass takes a few seconds
            )
        )


def _windows(session: Session, series: str, start, count: int, n: int, negative: int) -> None:
    for k in range(count):
        session.add(
            SeriesWindow(
                series=series,
                window_start=start + timedelta(seconds=TEN_MINUTES * k),
                window_seconds=TEN_MINUTES,
                n=n,
                n_negative=negative,
                closed=True,
            )
        )


def _seed(engine) -> int:
    incident = outage_incident(engine)
    with Session(engine) as session:
        email = _draft(session, incident, step="outage-email", segment="vip", channel="email")
        _sent(session, email, count=3, at=SEND, key="vip-email")
        sms = _draft(session, incident, step="outage-sms-vip", segment="vip", channel="sms")
        _sent(session, sms, count=2, at=LATER_SEND, key="vip-sms")
        quiet = _draft(session, incident, step="outage-email", segment="new", channel="email")
        _sent(session, quiet, count=1, at=SEND, key="new-email")
        status = _draft(session, incident, step="status", segment="public", channel="status_page")
        _sent(session, status, count=1, at=SEND, key="status")
        # vip: 60 % negative over 60 mentions in the hour before, 25 % of 48 in the hour after.
        _windows(session, "segment:vip", SEND - timedelta(hours=1), 6, n=10, negative=6)
        _windows(session, "segment:vip", SEND, 6, n=8, negative=2)
        # global has closed up to 14:00, so the 13:30 send's hour after is still open.
        _windows(session, "global", SEND - timedelta(hours=1), 12, n=50, negative=10)
        session.commit()
    return incident


def test_each_send_compares_the_hour_before_with_the_hour_after(engine):
    incident = _seed(engine)
    effect = effect_of(
        engine, incident_id=incident, now=SEND + timedelta(hours=2), live_horizon=LIVE
    )

    assert [s.segment for s in effect.segments] == ["new", "vip"]
    new, vip = effect.segments
    assert vip.series == "segment:vip"
    email, sms = vip.sends
    assert (email.step, email.channel, email.messages, email.sent_at) == (
        "outage-email",
        "email",
        3,
        SEND,
    )
    assert email.verdict == COMPARED
    assert (email.before.volume, email.after.volume) == (60, 48)
    assert email.before.negative_share == pytest.approx(0.6)
    assert email.after.negative_share == pytest.approx(0.25)
    assert email.share_change == pytest.approx(-0.35)
    assert email.volume_change == -12
    # The hour after 13:30 ends at 14:30; windows are closed only up to 14:00.
    assert sms.verdict == TOO_EARLY and sms.after is None and sms.share_change is None
    # No mention from "new" in either hour: said, not shown as a change.
    assert new.sends[0].verdict == NO_MENTIONS
    # The status page is not a segment; the chart has the segment's closed windows.
    assert len(vip.points) == 12 and vip.points[0].negative_share == pytest.approx(0.6)
    as_json = effect.as_json()
    assert as_json["segments"][1]["sends"][0]["negative_share_change"] == pytest.approx(-0.35)
    assert effect.note == ""


def test_too_early_while_the_hour_after_has_not_passed(engine):
    incident = _seed(engine)
    effect = effect_of(
        engine, incident_id=incident, now=SEND + timedelta(minutes=20), live_horizon=LIVE
    )
    assert {s.verdict for seg in effect.segments for s in seg.sends} == {TOO_EARLY}


def test_a_replayed_incident_is_not_compared_and_says_why(engine):
    incident = _seed(engine)
    effect = effect_of(engine, incident_id=incident, now=SEND + timedelta(hours=2))
    assert {s.verdict for seg in effect.segments for s in seg.sends} == {REPLAYED}
    assert "replay" in effect.note


def test_no_sends_and_no_incident(engine):
    incident = outage_incident(engine)
    effect = effect_of(engine, incident_id=incident, now=T0, live_horizon=LIVE)
    assert effect.segments == [] and "no message" in effect.note
    with pytest.raises(UnknownIncident):
        effect_of(engine, incident_id=incident + 1000, now=T0)


def test_messages_held_back_for_hours_are_a_send_of_their_own(engine):
    incident = outage_incident(engine)
    with Session(engine) as session:
        email = _draft(session, incident, step="outage-email", segment="eu", channel="email")
        _sent(session, email, count=2, at=SEND, key="eu-now")
        # Quiet hours held one back until morning in its time zone.
        _sent(session, email, count=1, at=SEND + timedelta(hours=8), key="eu-morning")
        session.commit()
    effect = effect_of(engine, incident_id=incident, now=SEND, live_horizon=LIVE)
    (eu,) = effect.segments
    assert [(s.sent_at, s.messages) for s in eu.sends] == [
        (SEND, 2),
        (SEND + timedelta(hours=8), 1),
    ]
