"""Synthetic mention streams with daily and weekly seasonality and injected crises.

Each scenario is ordinary traffic (three sources, an afternoon peak, a quiet night, calmer
weekends; every ticket from one of `SIMULATED_CUSTOMERS`, a tenth of them on the enterprise
plan, so in segment vip) plus one kind of trouble, and says when that trouble became detectable
and which series should notice it. Tests use it to check that detection comes within a window
of onset and that a quiet week raises nothing; `crisismon simulate` writes it as JSONL for
`crisismon replay`, and the customers next to it for `crisismon customers import`.

>>> from datetime import UTC, datetime
>>> s = simulate("outage", start=datetime(2026, 3, 2, tzinfo=UTC), days=1, seed=1)
>>> s.name, sorted(s.expected_series), len(s.items) > 10_000
('outage', ['global'], True)
"""

from __future__ import annotations

import math
import random
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from streams.scenario import _ANGRY, _ORDINARY, _poisson

SOURCE_SHARES = {"social": 0.5, "reviews": 0.2, "tickets": 0.3}
BASE_PER_MINUTE = 10.0


# The customers tickets come from, as `crisismon customers import` reads them.
SIMULATED_CUSTOMERS: tuple[dict[str, Any], ...] = tuple(
    {
        "external_id": f"sim-c{i}",
        "plan": "enterprise" if i % 10 == 0 else "basic",
        "region": "eu" if i % 3 == 0 else "us",
        "signup_date": "2024-01-15T00:00:00+00:00",
    }
    for i in range(200)
)
_VIPS = [c["external_id"] for c in SIMULATED_CUSTOMERS if c["plan"] == "enterprise"]
_EVERYONE = [c["external_id"] for c in SIMULATED_CUSTOMERS]


@dataclass(frozen=True, slots=True)
class Scenario:
    name: str
    description: str
    items: list[dict[str, Any]]
    onset: datetime | None  # when the trouble became detectable; None for a quiet scenario
    expected_series: frozenset[str] = field(default_factory=frozenset)
    began: datetime | None = None  # when the trouble began (a slow wave is detectable later)
    customers: tuple[dict[str, Any], ...] = SIMULATED_CUSTOMERS


def seasonal_rate(moment: datetime, base: float = BASE_PER_MINUTE) -> float:
    """Mentions per minute: a peak mid-afternoon, a trough before dawn, calmer weekends."""
    hour = moment.hour + moment.minute / 60.0
    daily = 0.35 + 0.65 * (1.0 + math.sin(2 * math.pi * (hour - 9.0) / 24.0)) / 2.0
    weekly = 0.7 if moment.weekday() >= 5 else 1.0
    return base * daily * weekly


# A trouble adds angry mentions per minute (and may remove a source's ordinary ones):
# (minutes since onset, source) -> (extra angry rate, multiplier on ordinary traffic).
Trouble = Callable[[float, str, float], tuple[float, float]]


def _outage(minutes: float, source: str, rate: float) -> tuple[float, float]:
    return (rate * 4.0, 1.0) if 0 <= minutes < 30 else (0.0, 1.0)


def _complaint_wave(minutes: float, source: str, rate: float) -> tuple[float, float]:
    if 0 <= minutes < 180:
        return (rate * 1.5 * minutes / 180.0, 1.0)
    return (0.0, 1.0)


def _segment_crisis(minutes: float, source: str, rate: float) -> tuple[float, float]:
    # Three angry tickets a minute, all from VIPs (see _TROUBLE_FROM), who usually write one
    # ticket in five minutes; global (ten a minute at 14:00) moves too little to alert.
    if source == "tickets" and 0 <= minutes < 40:
        return (3.0, 1.0)
    return (0.0, 1.0)


def _volume_drop(minutes: float, source: str, rate: float) -> tuple[float, float]:
    if source == "tickets" and 0 <= minutes < 120:
        return (0.0, 0.0)
    return (0.0, 1.0)


def _billing_wave(minutes: float, source: str, rate: float) -> tuple[float, float]:
    # A modest wave: volume rises by a third, only what people say is new.
    if source in ("tickets", "social") and 0 <= minutes < 60:
        return (rate * 0.5, 1.0)
    return (0.0, 1.0)


# What a scenario's trouble says, when it is not the generic angry outage texts.
_BILLING = [
    "I was charged twice for my subscription this month",
    "Charged twice again?? Please refund the duplicate payment",
    "Why have I been charged twice, I only placed one order",
    "My bank shows I got charged twice for the same invoice",
    "charged twice for one order, need this fixed today",
    "Anyone else charged twice today? Support is not answering",
]
TROUBLE_TEXTS: dict[str, list[str]] = {"charged-twice": _BILLING}

# name: (description, trouble, minutes after onset when it is detectable, series that must fire)
SCENARIOS: dict[str, tuple[str, Trouble | None, float, frozenset[str]]] = {
    "outage": (
        "a sudden outage: five times the traffic, nearly all angry, for 30 minutes",
        _outage,
        0.0,
        frozenset({"global"}),
    ),
    "complaint-wave": (
        "a complaint wave building over three hours",
        _complaint_wave,
        45.0,
        frozenset({"global"}),
    ),
    "segment-crisis": (
        "angry tickets from VIP customers only; global barely moves",
        _segment_crisis,
        0.0,
        frozenset({"segment:vip"}),
    ),
    "volume-drop": (
        "the ticket form breaks: no tickets for two hours",
        _volume_drop,
        0.0,
        frozenset({"source:tickets"}),
    ),
    "charged-twice": (
        'a billing bug: a third more tickets and posts, all saying "charged twice", for an hour',
        _billing_wave,
        0.0,
        frozenset({"global"}),
    ),
    "quiet": ("ordinary traffic only", None, 0.0, frozenset()),
}
# Whose trouble it is, where not everyone's.
_TROUBLE_FROM = {"segment-crisis": _VIPS}


def simulate(
    name: str,
    *,
    start: datetime,
    days: float = 3.0,
    onset_after: timedelta | None = None,
    seed: int = 7,
    run_id: str = "sim",
) -> Scenario:
    """Mentions ordered by event time from ``start`` for ``days``; trouble at ``onset_after``
    (default: two thirds of the way through, at 14:00)."""
    if name not in SCENARIOS:
        raise ValueError(f"unknown scenario {name!r}; choose from {', '.join(SCENARIOS)}")
    description, trouble, detectable_after, expected = SCENARIOS[name]
    rng = random.Random(seed)
    who = random.Random(seed + 1)  # its own draws: customer ids leave the traffic unchanged
    minutes = int(days * 24 * 60)
    if onset_after is None:
        day = int(days * 2 / 3)
        onset_after = timedelta(days=day, hours=14)
    onset = start + onset_after
    items: list[dict[str, Any]] = []
    for minute in range(minutes):
        moment = start + timedelta(minutes=minute)
        since = (moment - onset).total_seconds() / 60.0
        total = seasonal_rate(moment)
        for source, share in SOURCE_SHARES.items():
            rate = total * share
            angry, keep = trouble(since, source, rate) if trouble else (0.0, 1.0)
            for kind, count, texts, customers in (
                ("base", _poisson(rng, rate * keep), _ORDINARY, _EVERYONE),
                (
                    "trouble",
                    _poisson(rng, angry),
                    TROUBLE_TEXTS.get(name, _ANGRY),
                    _TROUBLE_FROM.get(name, _EVERYONE),
                ),
            ):
                for _ in range(count):
                    item = {
                        "source": source,
                        "external_id": f"{run_id}-{name}-{kind}-{len(items)}",
                        "text": rng.choice(texts),
                        "event_time": (
                            moment + timedelta(seconds=rng.uniform(0, 59.9))
                        ).isoformat(),
                    }
                    if source == "tickets":  # help desks know who wrote
                        item["customer_id"] = who.choice(customers)
                    items.append(item)
    items.sort(key=lambda item: item["event_time"])
    detectable = onset + timedelta(minutes=detectable_after) if trouble else None
    return Scenario(
        name, description, items, detectable, expected, began=onset if trouble else None
    )
