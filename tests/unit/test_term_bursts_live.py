"""Term bursts through the live path: mentions stored in SQL, windows closed, an incident's alert.

A simulated "charged twice" wave (a third more traffic, all of it about being billed twice)
is stored as ingest stores it; closing windows must find it within one window, explain it with
the phrase, survive a restart in the middle, and put the phrase in the alert and playbook facts.
"""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta

from sqlmodel import Session

from detectors.closing import SeriesDetectors
from detectors.config import DetectionConfig
from detectors.terms import TERM_BURST, decode_top_terms
from monitor.incidents.alerts import render_alert
from monitor.incidents.service import correlate, get_detail
from monitor.privacy import Privacy
from monitor.storage.models import TermBaseline
from playbooks.service import facts_of
from streams.mentions import parse_mention
from streams.simulator import simulate
from tests.conftest import TEST_PSEUDONYM_KEY
from tests.unit.factories import store, windows

PRIVACY = Privacy.from_key(TEST_PSEUDONYM_KEY)  # simulated tickets carry customer ids

START = datetime(2026, 3, 2, 10, tzinfo=UTC)  # a Monday morning
STEP = timedelta(minutes=1)
ONSET = START + timedelta(hours=3)
OBSERVED = START + timedelta(days=2)  # closing long after the event times: a replay
CONFIG = DetectionConfig()  # the shipped defaults


def store_wave(engine) -> None:
    scenario = simulate(
        "charged-twice", start=START, days=3.5 / 24, onset_after=ONSET - START, seed=11
    )
    assert scenario.onset == ONSET
    store(engine, [parse_mention(item, privacy=PRIVACY) for item in scenario.items], now=OBSERVED)


def test_a_charged_twice_wave_is_found_within_a_window_and_named_in_the_alert(engine):
    store_wave(engine)
    # Restart half an hour before the wave: the term baseline must come back from SQL, since
    # a cold detector would still be warming up when the wave starts.
    SeriesDetectors(engine, CONFIG).on_touch("global", START, ONSET - 30 * STEP, OBSERVED, 0)
    restarted = SeriesDetectors(engine, CONFIG)
    found = restarted.on_touch("global", START, ONSET + 2 * STEP, OBSERVED + STEP, 0)

    stored = windows(engine, "global")
    assert all(row.closed for start, row in stored.items() if start < ONSET + 2 * STEP)
    bursts = [a for a in found if a.metric == TERM_BURST]
    assert bursts, "the wave must raise a term burst"
    assert min(a.window_start for a in bursts) <= ONSET + STEP
    assert all(a.window_start >= ONSET for a in found), "nothing fired before the wave"

    change = correlate(
        engine, anomaly_id=bursts[0].anomaly_id, merge_gap=timedelta(minutes=30), now=OBSERVED
    )
    assert change is not None
    for other in found[1:]:
        correlate(
            engine, anomaly_id=other.anomaly_id, merge_gap=timedelta(minutes=30), now=OBSERVED
        )
    detail = get_detail(engine, incident_id=change.incident_id)
    assert detail is not None
    burst = next(a for a in detail.anomalies if a.metric == TERM_BURST)
    assert burst.detector == "term-burst"
    assert burst.summary.startswith('"charged twice" in ')
    assert decode_top_terms(burst.top_terms)[0].term == "charged twice"
    assert detail.incident.title == "Term burst on global"

    alert = render_alert(detail)
    assert '• top terms: "charged twice" ' in alert.text
    assert 'term burst: "charged twice" in' in alert.text
    # Slack gets the same words, escaped as every customer word is.
    assert "top terms: &quot;" not in alert.slack_text and '"charged twice"' in alert.slack_text
    # A playbook rule on terms: [charged twice] matches from the risen terms.
    assert "charged twice" in facts_of(detail).texts


def test_every_anomaly_of_a_window_carries_its_top_terms(engine):
    store_wave(engine)
    found = SeriesDetectors(engine, CONFIG).on_touch(
        "global", START, ONSET + 10 * STEP, OBSERVED, 0
    )
    change = correlate(
        engine, anomaly_id=found[0].anomaly_id, merge_gap=timedelta(minutes=30), now=OBSERVED
    )
    assert change is not None
    for other in found[1:]:
        correlate(
            engine, anomaly_id=other.anomaly_id, merge_gap=timedelta(minutes=30), now=OBSERVED
        )
    detail = get_detail(engine, incident_id=change.incident_id)
    assert detail is not None
    assert {a.metric for a in detail.anomalies} >= {TERM_BURST}
    for anomaly in detail.anomalies:
        terms = [t.term for t in decode_top_terms(anomaly.top_terms)]
        assert "charged twice" in terms, (anomaly.metric, terms)
    # The baseline saved with the closed windows is small and says where it stopped.
    with Session(engine) as session:
        saved = session.get(TermBaseline, "global")
    assert saved is not None
    assert saved.through_window == ONSET + 9 * STEP
    assert len(saved.state.encode()) < 20_000
    assert len(json.loads(saved.state)["counts"]) <= CONFIG.terms.max_terms * 3 // 2
