"""The scenario generator makes the stream docs/scenarios.md promises: hard, varied, honest."""

from __future__ import annotations

from collections import Counter
from datetime import datetime, timedelta
from itertools import pairwise
from typing import Any

import numpy as np
import pytest

from streams.crisis_scenarios import KINDS, Crisis, generate, generate_stream
from streams.crisis_scenarios.generator import DEFAULT_START
from streams.crisis_scenarios.traffic import REGIONS, SOURCES, ordinary_traffic
from streams.crisis_scenarios.truth import BILLING, PAYMENT, REVIEW_FORM, SYNDICATED
from streams.mentions import parse_mention


@pytest.fixture(scope="module")
def stream():
    return generate_stream(2)


def _times(mentions: list[dict[str, Any]]) -> list[datetime]:
    return [datetime.fromisoformat(m["event_time"]) for m in mentions]


def _count(stream, start: datetime, end: datetime, **match: str) -> int:
    return sum(
        1
        for m in stream.mentions
        if start <= datetime.fromisoformat(m["event_time"]) < end
        and all(m.get(k) == v for k, v in match.items())
    )


def test_the_same_seed_gives_the_same_stream_and_another_seed_another():
    first, crises, decoys = generate(7, days=4)
    again, crises_again, decoys_again = generate(7, days=4)
    other, other_crises, _ = generate(8, days=4)
    assert first == again and crises == crises_again and decoys == decoys_again
    assert first != other and crises != other_crises


def test_fourteen_days_hold_about_75000_valid_mentions_on_four_sources(stream):
    assert 65_000 < len(stream.mentions) < 90_000
    assert Counter(m["source"] for m in stream.mentions).keys() == {
        "tickets",
        "reviews",
        "social",
        "news",
    }
    times = _times(stream.mentions)
    assert times == sorted(times)
    assert len({m["external_id"] for m in stream.mentions}) == len(stream.mentions)
    for mention in stream.mentions[::500]:
        parse_mention(mention)  # replay and backtest read every one
    tickets = [m for m in stream.mentions if m["source"] == "tickets"]
    assert {m["attributes"]["plan"] for m in tickets} == {"free", "pro", "enterprise"}
    assert all(1 <= m["rating"] <= 5 for m in stream.mentions if m["source"] == "reviews")
    news = [m for m in stream.mentions if m["source"] == "news"]
    assert all(m["url"].startswith("https://") and m["attributes"]["outlet"] for m in news)
    langs = {r: {m["lang"] for m in stream.mentions if m["region"] == r} for r in ("eu", "us")}
    assert langs == {"eu": {"en", "de", "fr"}, "us": {"en", "es"}}
    # Thousands of distinct texts, not a handful repeated.
    assert len({m["text"] for m in stream.mentions}) > 20_000


def _peak_utc_hour(stream, source: str, region: str) -> int:
    hours = Counter(
        datetime.fromisoformat(m["event_time"]).hour
        for m in stream.mentions
        if m["source"] == source and m["region"] == region
    )
    return max(hours, key=lambda h: hours[h])


def test_each_region_keeps_its_own_office_hours_and_weekend(stream):
    # Tickets peak in each region's working day, so at different UTC hours.
    local = {"eu": 1, "us": -5, "apac": 8}
    for region, offset in local.items():
        assert 9 <= (_peak_utc_hour(stream, "tickets", region) + offset) % 24 <= 17
    # Saturday in Europe is quiet for tickets; Saturday local time, not UTC.
    start = stream.start  # a Monday
    eu_saturday = start + timedelta(days=5, hours=-1)
    eu_monday = start + timedelta(days=7, hours=-1)
    saturday = _count(
        stream, eu_saturday, eu_saturday + timedelta(days=1), source="tickets", region="eu"
    )
    monday = _count(stream, eu_monday, eu_monday + timedelta(days=1), source="tickets", region="eu")
    assert saturday < 0.6 * monday


def test_slices_wander_separately_rather_than_as_one_level():
    # The expected rate of a slice against the same minute a day before (so the daily rhythm
    # cancels), on weekdays: different slices drift independently, and well beyond ±10 %.
    traffic = ordinary_traffic(DEFAULT_START, 14, np.random.default_rng(5))
    minutes = np.arange(1440, traffic.minutes, 60)
    weekdays = minutes[(minutes // 1440) % 7 < 5]
    weekdays = weekdays[(weekdays // 1440) % 7 > 0]  # Tuesday to Friday: a weekday before

    def drift(source: str, region: str) -> np.ndarray:
        rate = traffic.rate[SOURCES.index(source), REGIONS.index(region)]
        return np.log(rate[weekdays] / rate[weekdays - 1440])

    eu, us, eu_tickets = drift("social", "eu"), drift("social", "us"), drift("tickets", "eu")
    assert abs(np.corrcoef(eu, us)[0, 1]) < 0.3
    assert abs(np.corrcoef(eu, eu_tickets)[0, 1]) < 0.3
    assert np.std(eu) > 0.15


def test_about_fifteen_crises_of_every_kind_twelve_hours_apart_after_warm_up(stream):
    crises = stream.crises
    assert 14 <= len(crises) <= 16
    assert {c.kind for c in crises} == set(KINDS)
    assert min(c.onset for c in crises) >= stream.scored_from
    events = sorted([(c.onset, c.end) for c in crises] + [(d.start, d.end) for d in stream.decoys])
    for (onset, end), (next_onset, _) in pairwise(events):
        assert next_onset - onset >= timedelta(hours=12)
        assert end < next_onset


def test_some_slice_crises_strike_at_night_in_the_slices_local_time():
    night = []
    for seed in (1, 2, 3):
        _, crises, _ = generate(seed)
        night += [c for c in crises if c.slice.startswith("region:") and c.local_hour < 6]
    assert night


def _ratio_to_same_time_a_week_away(stream, crisis: Crisis, **match: str) -> float:
    """Mentions during the crisis against the same hours and weekday a week before (or after,
    when a week before is outside the stream): the same local rhythm, no crisis."""
    week = (
        timedelta(days=7) if crisis.onset - timedelta(days=7) < stream.start else -timedelta(days=7)
    )
    now = _count(stream, crisis.onset, crisis.end, **match)
    before = _count(stream, crisis.onset + week, crisis.end + week, **match)
    return now / max(before, 1)


def test_a_billing_wave_ramps_from_zero(stream):
    wave = next(c for c in stream.crises if c.kind == BILLING)
    charged = ("twice", "double", "duplicate", "doppelt", "deux fois", "dos veces")

    def said(start: datetime, minutes: int) -> int:
        return sum(
            1
            for m in stream.mentions
            if m["source"] == "tickets"
            and start
            <= datetime.fromisoformat(m["event_time"])
            < start + timedelta(minutes=minutes)
            and any(word in m["text"].lower() for word in charged)
        )

    before = said(wave.onset - timedelta(minutes=30), 30)
    first = said(wave.onset, 30)
    later = said(wave.onset + timedelta(hours=2, minutes=30), 30)
    assert first <= before + 3  # nothing steps up at onset
    assert later > 4 * max(first, 1)


def test_a_regional_payment_failure_speaks_the_regions_languages():
    crisis, stream = next(
        (c, s)
        for seed in (1, 2, 3, 4)
        for s in [generate_stream(seed)]
        for c in s.crises
        if c.kind == PAYMENT and c.slice == "region:eu"
    )
    assert crisis.series == ("region:eu",)
    words = ("zahlung", "karte", "bezahlen", "paiement", "payer", "carte", "payment", "card")
    length = crisis.end - crisis.onset

    def payments(start: datetime, region: str, lang: str) -> int:
        return sum(
            1
            for m in stream.mentions
            if start <= datetime.fromisoformat(m["event_time"]) < start + length
            and m["region"] == region
            and m["lang"] == lang
            and any(word in m["text"].lower() for word in words)
        )

    for lang in ("de", "fr", "en"):
        assert payments(crisis.onset, "eu", lang) >= max(
            4, 3 * payments(crisis.onset - length, "eu", lang)
        )
    assert payments(crisis.onset, "us", "en") <= payments(crisis.onset - length, "us", "en") + 5


def test_a_broken_review_form_silences_reviews_but_not_social(stream):
    crisis = next(c for c in stream.crises if c.kind == REVIEW_FORM)
    assert _ratio_to_same_time_a_week_away(stream, crisis, source="reviews") < 0.45
    assert _ratio_to_same_time_a_week_away(stream, crisis, source="social") > 0.6


def test_a_syndicated_decoy_is_one_short_headline_from_many_outlets_with_links(stream):
    decoy = next(d for d in stream.decoys if d.kind == SYNDICATED)
    copies = [
        m
        for m in stream.mentions
        if decoy.start <= datetime.fromisoformat(m["event_time"]) <= decoy.end
        and "northwind-" in m.get("url", "")
        and "/news/" not in m["url"]
    ]
    outlets = {m["attributes"]["outlet"] for m in copies if m["source"] == "news"}
    assert len(outlets) >= 10
    assert sum(len(m["text"]) < 80 for m in copies) >= len(copies) / 2
    assert decoy.end - decoy.start <= timedelta(minutes=50)
