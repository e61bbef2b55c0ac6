"""Scoring the scenario benchmark: found, right series, late, false alarms, decoys, duplicates."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta

from monitor.incidents.backtest import BacktestIncident
from monitor.shell.evaluation.scenario_report import render_json, render_markdown
from monitor.shell.evaluation.scenarios import by_kind, score_seed, totals
from streams.crisis_scenarios.truth import PAYMENT, REVIEW_FORM, SYNDICATED, Crisis, Decoy

START = datetime(2026, 3, 2, tzinfo=UTC)
SCORED_FROM = START + timedelta(days=2)
UNTIL = START + timedelta(days=4)


def at(hours: float) -> datetime:
    return START + timedelta(hours=hours)


def incident(
    opened: float, paged: float | None, closed: float, *series: str, severity: str = "warning"
) -> BacktestIncident:
    return BacktestIncident(
        opened_at=at(opened),
        paged_at=at(paged) if paged is not None else None,
        closed_at=at(closed),
        series=series,
        severity=severity,
        metric="volume",
        top_terms=(),
        anomalies=3,
    )


PAYMENT_EU = Crisis(
    "c01", PAYMENT, at(50), at(52), ("region:eu",), "region:eu", "eu payments", 51 % 24
)
REVIEWS = Crisis(
    "c02", REVIEW_FORM, at(70), at(72), ("source:reviews", "reviews"), "source:reviews", "", 22
)
WIRE = Decoy("d01", SYNDICATED, at(80), at(80.5), "wire story")


def score(*incidents: BacktestIncident):
    return score_seed(
        7, incidents, [PAYMENT_EU, REVIEWS], [WIRE], scored_from=SCORED_FROM, scored_until=UNTIL
    )


def test_a_page_on_the_right_series_in_time_finds_the_crisis_with_its_delay():
    result = score(incident(50.1, 50.25, 51.5, "global", "region:eu"))
    payment = result.crises[0]
    assert payment.found and payment.right_series
    assert payment.delay_minutes == 15
    assert payment.incidents == 1
    assert result.false_alarms == [] and result.decoys_fired == []


def test_a_page_on_the_wrong_series_finds_the_crisis_but_not_where_it_is():
    payment = score(incident(50.1, 50.2, 51, "global", "topic:billing")).crises[0]
    assert payment.found and not payment.right_series
    assert payment.paged_series == ("global", "topic:billing")


def test_the_right_series_delay_counts_even_after_an_earlier_page_elsewhere():
    payment = score(
        incident(50.0, 50.1, 50.3, "global"), incident(50.4, 50.5, 51, "region:eu")
    ).crises[0]
    assert payment.right_series and payment.delay_minutes == 30
    assert payment.incidents == 2
    assert (
        by_kind(
            [score(incident(50.0, 50.1, 50.3, "global"), incident(50.4, 50.5, 51, "region:eu"))]
        )[0].duplicated
        == 1
    )


def test_a_page_more_than_30_minutes_after_the_end_is_late_not_found_and_not_a_false_alarm():
    result = score(incident(51.9, 52.6, 53, "region:eu"))
    assert not result.crises[0].found
    assert result.crises[0].incidents == 1  # it overlaps the crisis window
    assert result.false_alarms == []


def test_a_crisis_swallowed_by_an_incident_paged_before_its_onset_is_not_found():
    result = score(incident(49, 49.2, 53, "source:social", "region:eu"))
    payment = result.crises[0]
    assert not payment.found and payment.incidents == 1
    assert payment.absorbed_by is not None and payment.absorbed_by.paged_at == at(49.2)
    assert result.false_alarms == []  # it overlaps a crisis
    text = render_markdown([result], days=4, tuning_seeds=[])
    assert "not paged; ran into an incident paged Wed 04 01:12 (volume on source:social" in text


def test_an_incident_that_never_paged_finds_nothing_and_is_no_false_alarm():
    result = score(incident(50.1, None, 51, "region:eu", severity="info"))
    assert not result.crises[0].found and result.crises[0].incidents == 0
    assert result.false_alarms == []


def test_false_alarms_are_pages_away_from_every_crisis_and_decoy_after_warm_up():
    result = score(
        incident(30, 30.1, 31, "global"),  # during warm-up: not counted
        incident(60, 60.1, 61, "source:social"),
        incident(90, 90.2, 91, "topic:login"),
    )
    assert [i.series for i in result.false_alarms] == [("source:social",), ("topic:login",)]
    assert result.false_alarms_per_day == 1.0  # two over the two scored days


def test_a_page_during_a_decoy_is_a_decoy_that_fired_not_a_false_alarm():
    result = score(incident(80.2, 80.3, 80.6, "source:news"))
    assert [d.id for d, _ in result.decoys_fired] == ["d01"]
    assert result.false_alarms == []
    assert totals("held out", [result]).decoys_fired == 1


def test_reports_mark_tuning_seeds_and_list_what_was_missed():
    tuned = score_seed(
        1,
        [incident(70.1, 70.5, 71, "reviews")],
        [PAYMENT_EU, REVIEWS],
        [WIRE],
        scored_from=SCORED_FROM,
        scored_until=UNTIL,
        tuning=True,
    )
    held = score(incident(50.1, 50.2, 51, "global"), incident(60, 60.1, 61, "source:social"))
    text = render_markdown([held, tuned], days=4, tuning_seeds=[1])
    assert "| 1 (tuning) | 2 | 1 | 1 |" in text
    assert "| 7 | 2 | 1 | 0 | 0.50 | 0 of 1 | 0 |" in text
    assert "## Per crisis kind, held out seeds" in text and "tuning seeds" in text
    assert "seed 7 c01 (regional-payment on region:eu" in text and "none of region:eu" in text
    assert "seed 7 c02" in text and "not paged" in text
    assert "seed 7 Wed 04 12:06 UTC: warning volume on source:social" in text
    data = json.loads(json.dumps(render_json([held, tuned], days=4, tuning_seeds=[1])))
    assert data["groups"]["held out"]["all"]["found"] == 1
    assert data["groups"]["tuning"]["by_kind"][REVIEW_FORM]["right_series"] == 1
    assert data["seeds"][0]["crises"][0]["delay_minutes"] == 12
