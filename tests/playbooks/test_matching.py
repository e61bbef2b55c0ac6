"""Which playbook starts: what an incident is about (its strongest anomalies), not every series
or word that merged into it; and an all-clear only from a playbook that started. SQLite and
PostgreSQL, incidents made by the real correlator."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import UTC, datetime, timedelta

from sqlalchemy import Engine
from sqlmodel import Session

from detectors.terms import TermCount, encode_top_terms
from monitor.incidents.service import correlate
from monitor.storage.db import session_scope
from monitor.storage.models import Anomaly, Incident
from playbooks.drafting import make_drafts, matching_playbooks
from playbooks.steps import runs_of, schedule
from tests.playbooks.helpers import OUTAGE_TEXT, customers, setup_for
from tests.unit.factories import STEP, T0, add_anomaly, mention, store

NOW = datetime(2026, 11, 26, 12, 0, tzinfo=UTC)
GAP = timedelta(minutes=30)
BILLING_TEXT = "I was charged twice this month and want a refund"


def _anomaly(
    engine: Engine,
    anomaly_id: str,
    *,
    series: str,
    severity: str,
    metric: str,
    score: float,
    terms: Sequence[str],
    texts: Sequence[str],
    window: int = 0,
) -> int:
    """An anomaly with its risen terms and example mentions, correlated; its incident's id."""
    at = T0 + window * STEP
    stored = store(
        engine,
        [mention(f"{anomaly_id}-{k}", text=t, at=at) for k, t in enumerate(texts)],
        now=NOW,
    )
    add_anomaly(
        engine,
        anomaly_id,
        series=series,
        severity=severity,
        metric=metric,
        score=score,
        start=at,
        example_mention_ids=sorted(stored.new_mention_ids),
    )
    with session_scope(engine) as session:
        row = session.get(Anomaly, anomaly_id)
        assert row is not None
        row.top_terms = encode_top_terms([TermCount(t, 12, 1.5, 6.0) for t in terms])
        session.add(row)
    change = correlate(engine, anomaly_id=anomaly_id, merge_gap=GAP, now=NOW)
    assert change is not None
    return change.incident_id


def _outage(engine: Engine) -> int:
    return _anomaly(
        engine,
        "outage-global",
        series="global",
        severity="critical",
        metric="volume",
        score=9.0,
        terms=["down", "outage"],
        texts=[OUTAGE_TEXT],
    )


def _billing_takes_over(engine: Engine) -> None:
    """A stronger term burst on global, of billing words, joins the outage two minutes on."""
    _anomaly(
        engine,
        "billing-later",
        series="global",
        severity="critical",
        metric="term_burst",
        score=12.0,
        terms=["charged twice"],
        texts=[BILLING_TEXT],
        window=2,
    )


def _started(engine: Engine, incident: int, trigger: str) -> set[str]:
    return {r.playbook for r in runs_of(engine, incident_id=incident) if r.trigger == trigger}


def test_an_outage_with_a_billing_blip_merged_in_starts_only_the_outage_playbook(engine):
    setup = setup_for()
    incident = _outage(engine)
    # A minor billing term burst (customers asking for refunds because of the outage) joins.
    merged = _anomaly(
        engine,
        "billing-blip",
        series="topic:billing",
        severity="warning",
        metric="term_burst",
        score=4.0,
        terms=["refund", "charged twice"],
        texts=[BILLING_TEXT],
        window=1,
    )
    assert merged == incident
    assert [p.name for p in matching_playbooks(engine, setup=setup, incident_id=incident)] == [
        "service-outage"
    ]
    assert schedule(engine, setup=setup, incident_id=incident, change="opened", now=NOW) > 0
    assert _started(engine, incident, "opened") == {"service-outage"}


def test_an_outage_with_an_equally_strong_billing_anomaly_is_still_an_outage(engine):
    """Scores are capped: the broadest series (global) leads, and its words decide."""
    setup = setup_for()
    incident = _outage(engine)
    _anomaly(
        engine,
        "billing-too",
        series="topic:billing",
        severity="critical",
        metric="volume",
        score=9.0,
        terms=["refund"],
        texts=[BILLING_TEXT],
    )
    names = [p.name for p in matching_playbooks(engine, setup=setup, incident_id=incident)]
    assert names == ["service-outage"]


def test_an_outage_whose_customers_also_ask_for_refunds_is_an_outage(engine):
    """Quotes are samples; the words that rose say what the incident is about."""
    setup = setup_for()
    incident = _anomaly(
        engine,
        "outage-quoting-refunds",
        series="global",
        severity="critical",
        metric="volume",
        score=9.0,
        terms=["down", "outage"],
        texts=[OUTAGE_TEXT, "Still down after 40 minutes. I want a refund"],
    )
    names = [p.name for p in matching_playbooks(engine, setup=setup, incident_id=incident)]
    assert names == ["service-outage"]


def test_without_risen_terms_the_quotes_decide(engine):
    """A window whose words did not rise (a drop, say): its example mentions are read."""
    setup = setup_for()
    incident = _anomaly(
        engine,
        "quiet-words",
        series="global",
        severity="critical",
        metric="volume",
        score=9.0,
        terms=[],
        texts=[BILLING_TEXT],
    )
    names = [p.name for p in matching_playbooks(engine, setup=setup, incident_id=incident)]
    assert names == ["billing-error"]


def test_a_narrow_slice_rising_most_does_not_lead_the_broad_crisis(engine):
    """An outage lifts topic:billing most against its small baseline ("payments failing");
    global, as strong in severity, says what the incident is about."""
    setup = setup_for()
    incident = _outage(engine)
    _anomaly(
        engine,
        "billing-slice",
        series="topic:billing",
        severity="critical",
        metric="volume",
        score=15.0,
        terms=["payments failing", "refund"],
        texts=[BILLING_TEXT],
    )
    names = [p.name for p in matching_playbooks(engine, setup=setup, incident_id=incident)]
    assert names == ["service-outage"]


def test_a_billing_wave_starts_only_the_billing_playbook(engine):
    setup = setup_for()
    incident = _anomaly(
        engine,
        "billing-burst",
        series="topic:billing",
        severity="critical",
        metric="term_burst",
        score=8.0,
        terms=["charged twice"],
        texts=[BILLING_TEXT],
    )
    # More tickets than usual a minute later; one of them also says the site is down.
    _anomaly(
        engine,
        "tickets-up",
        series="source:tickets",
        severity="warning",
        metric="volume",
        score=3.5,
        terms=["site"],
        texts=["Your site is DOWN again, payments failing"],
        window=1,
    )
    with Session(engine) as session:
        row = session.get(Incident, incident)
        assert row is not None and row.severity == "critical"
    assert schedule(engine, setup=setup, incident_id=incident, change="opened", now=NOW) > 0
    assert _started(engine, incident, "opened") == {"billing-error"}


def test_an_incident_that_never_started_billing_gets_no_billing_all_clear(engine):
    setup = setup_for()
    incident = _outage(engine)
    schedule(engine, setup=setup, incident_id=incident, change="opened", now=NOW)
    assert _started(engine, incident, "opened") == {"service-outage"}
    # Later a strong billing burst on global joins and now leads: billing would match now.
    _billing_takes_over(engine)
    assert "billing-error" in {
        p.name for p in matching_playbooks(engine, setup=setup, incident_id=incident)
    }
    with session_scope(engine) as session:
        row = session.get(Incident, incident)
        assert row is not None
        row.status, row.resolved_at = "resolved", NOW
        session.add(row)
    schedule(engine, setup=setup, incident_id=incident, change="resolved", now=NOW)
    assert _started(engine, incident, "resolved") == {"service-outage"}
    steps = {r.step_id for r in runs_of(engine, incident_id=incident) if r.trigger == "resolved"}
    assert "status-billing-resolved" not in steps and "status-resolved" in steps


def test_one_shot_drafting_sends_the_all_clear_only_of_started_playbooks(engine):
    setup = setup_for()
    customers(engine, now=NOW)
    incident = _outage(engine)
    opened = make_drafts(engine, setup=setup, incident_id=incident, change="opened", now=NOW)
    assert {d.playbook for d in opened} == {"service-outage"}
    _billing_takes_over(engine)
    clear = make_drafts(engine, setup=setup, incident_id=incident, change="resolved", now=NOW)
    assert [(d.playbook, d.step_id) for d in clear] == [("service-outage", "status-resolved")]
