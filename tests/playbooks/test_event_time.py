"""Status page updates and templates speak in event time for a replayed incident, in wall
clock for a live one; SQLite and PostgreSQL, through drafts, approval and the outbox."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from sqlalchemy import Engine

from monitor.incidents.service import correlate
from monitor.storage.db import session_scope
from monitor.storage.models import Incident
from playbooks.approvals import approve
from playbooks.channels.status_page import StatusPageChannel
from playbooks.drafting import make_drafts
from playbooks.models import Draft
from playbooks.service import Setup
from playbooks.status_page import read_page
from tests.playbooks.helpers import OUTAGE_TEXT, send_pass, setup_for
from tests.unit.factories import STEP, T0, add_anomaly, mention, store

GAP = timedelta(minutes=30)


def _incident(engine: Engine, *, opened_at: datetime) -> int:
    """An outage on global over three windows from T0, correlated at ``opened_at``."""
    stored = store(engine, [mention("e-1", text=OUTAGE_TEXT, at=T0)], now=opened_at)
    incident = 0
    for k in range(3):
        add_anomaly(
            engine,
            f"a-{k}",
            severity="critical",
            start=T0 + k * STEP,
            example_mention_ids=sorted(stored.new_mention_ids),
        )
        change = correlate(engine, anomaly_id=f"a-{k}", merge_gap=GAP, now=opened_at)
        assert change is not None
        incident = change.incident_id
    return incident


def _status_draft(engine: Engine, setup: Setup, incident: int, change: str, now: datetime) -> Draft:
    drafts = make_drafts(engine, setup=setup, incident_id=incident, change=change, now=now)
    return next(d for d in drafts if d.channel == "status_page")


def _publish(engine: Engine, setup: Setup, draft: Draft, now: datetime) -> None:
    """Approve a status page draft and let the outbox post it."""
    approve(engine, setup=setup, draft_id=draft.id, actor="web:ana", expected_hash=None, now=now)
    channels = lambda: {"status_page": StatusPageChannel(engine)}  # noqa: E731
    assert send_pass(engine, setup=setup, channels=channels, now=now).sent


def _resolve(engine: Engine, incident: int, at: datetime) -> None:
    with session_scope(engine) as session:
        row = session.get(Incident, incident)
        assert row is not None
        row.status, row.resolved_at = "resolved", at
        session.add(row)


def test_a_replayed_incident_is_dated_in_event_time(engine):
    """Replaying last January's file in November: the page says January, as the crisis was."""
    setup = setup_for()
    at = datetime(2026, 11, 26, 12, 0, tzinfo=UTC)  # replayed
    incident = _incident(engine, opened_at=at)

    status = _status_draft(engine, setup, incident, "opened", at)
    assert "Since 2026-01-05 10:00 UTC some customers" in status.preview
    _publish(engine, setup, status, at)
    _resolve(engine, incident, at)
    _publish(engine, setup, _status_draft(engine, setup, incident, "resolved", at), at)

    page = read_page(engine)
    dated = {u.status: u.posted_at for u in page.updates}
    # Opened: the start of the first anomalous window; resolved: the end of the last one.
    assert dated == {"investigating": T0, "resolved": T0 + 3 * STEP}
    assert page.overall == "operational"


def test_a_live_incident_is_dated_by_the_wall_clock(engine):
    setup = setup_for()
    before = datetime.now(UTC)
    opened_at = T0 + 3 * STEP + timedelta(seconds=4)  # detected as its windows closed
    incident = _incident(engine, opened_at=opened_at)

    status = _status_draft(engine, setup, incident, "opened", opened_at)
    assert "Since 2026-01-05 10:03 UTC some customers" in status.preview
    _publish(engine, setup, status, opened_at)

    (update,) = read_page(engine).updates
    assert before <= update.posted_at <= datetime.now(UTC)


def test_the_live_horizon_comes_from_the_setup(engine):
    """A longer horizon (detection.yaml live_horizon_seconds) makes an hour-late incident live."""
    setup = setup_for()
    late = T0 + timedelta(hours=1)
    incident = _incident(engine, opened_at=late)
    patient = Setup(
        segments=setup.segments,
        catalogue=setup.catalogue,
        sending=setup.sending,
        public_url=setup.public_url,
        unsubscribe_secret=setup.unsubscribe_secret,
        live_horizon=timedelta(hours=2),
    )
    drafts = make_drafts(engine, setup=patient, incident_id=incident, change="opened", now=late)
    status = next(d for d in drafts if d.step_id == "status-investigating")
    assert "Since 2026-01-05 11:00 UTC" in status.preview
