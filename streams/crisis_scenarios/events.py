"""When crises and decoys happen, and what each does to the traffic.

After the warm-up the stream is cut into 16-hour segments and each gets one event (a crisis
or a decoy) starting in its first four hours, so events are at least 12 hours apart, land at
every hour of the day and night, and each ends before the next begins. A crisis either adds
mentions of its own (`Extra`, a multiple of the ordinary rate of the slices it hits, so a ramp
starts from zero and follows the slice's own rhythm) or scales ordinary traffic (`Scale`: the
broken review form).
"""

from __future__ import annotations

import random
from datetime import datetime

from streams.crisis_scenarios import crises, decoys
from streams.crisis_scenarios import truth as t
from streams.crisis_scenarios.effects import Plan
from streams.crisis_scenarios.traffic import REGIONS

SEGMENT_MINUTES = 16 * 60
LATEST_START_MINUTES = 4 * 60


def event_kinds(n_events: int, rng: random.Random) -> list[str]:
    """Each crisis kind in turn (shuffled per round), with about one decoy in six events."""
    n_decoys = max(1, round(n_events / 6)) if n_events >= 2 else 0
    kinds: list[str] = []
    while len(kinds) < n_events - n_decoys:
        round_ = list(t.KINDS)
        rng.shuffle(round_)
        kinds.extend(round_)
    decoy_kinds = [t.SYNDICATED if i % 3 != 2 else t.MARKETING for i in range(n_decoys)]
    events = kinds[: n_events - n_decoys] + decoy_kinds
    rng.shuffle(events)
    return events


def plan_events(start: datetime, days: int, warmup_days: int, rng: random.Random) -> Plan:
    minutes = days * 1440
    first = warmup_days * 1440
    n_events = (minutes - first) // SEGMENT_MINUTES
    plan = Plan()
    regions = list(REGIONS)
    rng.shuffle(regions)
    for index, kind in enumerate(event_kinds(n_events, rng)):
        segment = first + index * SEGMENT_MINUTES
        onset = segment + rng.randrange(30, LATEST_START_MINUTES)
        room = segment + SEGMENT_MINUTES - 60 - onset  # ends an hour before the next segment
        event_id = f"{'c' if kind in t.KINDS else 'd'}{index + 1:02d}-{kind}"
        if kind == t.PAYMENT:
            region = regions[sum(c.kind == t.PAYMENT for c in plan.crises) % len(regions)]
            crises.payment(plan, event_id, start, onset, room, region, rng)
        elif kind in _BUILDERS:
            _BUILDERS[kind](plan, event_id, start, onset, room, rng)
    return plan


_BUILDERS = {
    t.OUTAGE: crises.outage,
    t.BILLING: crises.billing,
    t.RECALL: crises.recall,
    t.REVIEW_FORM: crises.review_form,
    t.PLAN: crises.plan_problem,
    t.MARKETING: decoys.marketing,
    t.SYNDICATED: decoys.syndicated,
}
