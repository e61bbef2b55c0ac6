"""The six kinds of crisis, each a function that adds its effects and its truth to a plan."""

from __future__ import annotations

import random
from datetime import datetime

import numpy as np

from streams.crisis_scenarios import texts_crisis as tc
from streams.crisis_scenarios import truth as t
from streams.crisis_scenarios.effects import Extra, Plan, Scale, add_crisis, ramp
from streams.crisis_scenarios.traffic import REGIONS, TICKET_PLANS


def outage(
    plan: Plan, cid: str, start: datetime, onset: int, room: int, rng: random.Random
) -> None:
    length = rng.randrange(30, 61)
    up, down = rng.uniform(2, 5), rng.uniform(5, 10)
    for source, strength in (("tickets", 4.5), ("social", 4.5), ("reviews", 2.0)):
        for region in REGIONS:
            factor = ramp(int(length + down), up, length - up, down, strength)
            plan.extras.append(Extra(cid, source, region, onset, factor, tc.OUTAGE))
    add_crisis(
        plan,
        cid,
        t.OUTAGE,
        start,
        onset,
        length,
        ("global", "source:*", "topic:outage"),
        "global",
        f"outage: every slice ×5 within {up:.0f} min, for {length} min",
    )


def billing(
    plan: Plan, cid: str, start: datetime, onset: int, room: int, rng: random.Random
) -> None:
    up, hold, down = rng.uniform(180, 240), rng.uniform(30, 90), 60.0
    peak = rng.uniform(1.0, 1.5)
    length = int(min(up + hold + down, room))
    for region in REGIONS:
        for source, strength in (("tickets", peak), ("social", 0.15 * peak)):
            factor = ramp(length, up, hold, down, strength)
            plan.extras.append(
                Extra(
                    cid,
                    source,
                    region,
                    onset,
                    factor,
                    tc.BILLING,
                    priorities=("normal", "normal", "high"),
                )
            )
    add_crisis(
        plan,
        cid,
        t.BILLING,
        start,
        onset,
        length,
        ("topic:billing", "source:tickets"),
        "source:tickets",
        f"double-charge tickets ramp from zero to ×{1 + peak:.1f} of "
        f"normal tickets over {up / 60:.1f} h",
        peak=round(1 + peak, 2),
    )


def payment(
    plan: Plan, cid: str, start: datetime, onset: int, room: int, region: str, rng: random.Random
) -> None:
    up, hold, down = rng.uniform(5, 15), rng.uniform(60, 120), 10.0
    lift = rng.uniform(0.5, 0.6)
    length = int(min(up + hold + down, room))
    for source in ("tickets", "social", "reviews"):
        factor = ramp(length, up, hold, down, lift)
        plan.extras.append(Extra(cid, source, region, onset, factor, tc.PAYMENT))
    add_crisis(
        plan,
        cid,
        t.PAYMENT,
        start,
        onset,
        length,
        (f"region:{region}",),
        f"region:{region}",
        f"payments fail in {region} only: the region ×{1 + lift:.2f} for {hold:.0f} min",
        region=region,
    )


def recall(
    plan: Plan, cid: str, start: datetime, onset: int, room: int, rng: random.Random
) -> None:
    product = rng.choice(tc.RECALLED_PRODUCTS)
    length = int(min(rng.uniform(360, 480), room))
    news_peak, social_peak = rng.uniform(1.5, 3.0), rng.uniform(0.4, 0.7)
    origin = rng.choice(REGIONS)
    x = np.arange(length, dtype=float)
    for region in REGIONS:
        # The story starts in one region and reaches the others an hour or two later.
        lag = 0.0 if region == origin else rng.uniform(45, 120)
        growth = rng.uniform(150, 240)
        curve = 1 / (1 + np.exp(-(x - lag - growth / 2) / (growth / 8)))
        curve *= np.clip((length - x) / 90.0, 0.0, 1.0)  # fades over the last 90 minutes
        curve[x < lag] = 0.0
        for source, peak, book in (
            ("news", news_peak, tc.RECALL_NEWS),
            ("social", social_peak, tc.RECALL_SOCIAL),
        ):
            plan.extras.append(
                Extra(cid, source, region, onset, peak * curve, book, fixed={"product": product})
            )
    add_crisis(
        plan,
        cid,
        t.RECALL,
        start,
        onset,
        length,
        ("source:news", "source:social", "global", "product:*", "topic:recall"),
        "global",
        f"{product} recall spreads from {origin} over hours in news and social",
        product=product,
        origin=origin,
    )


def review_form(
    plan: Plan, cid: str, start: datetime, onset: int, room: int, rng: random.Random
) -> None:
    length = 120
    factor = np.full(length, 0.2)
    factor[:5] = np.linspace(1.0, 0.2, 5)
    for region in REGIONS:
        plan.scales.append(Scale("reviews", region, onset, factor))
    add_crisis(
        plan,
        cid,
        t.REVIEW_FORM,
        start,
        onset,
        length,
        ("source:reviews", "reviews"),
        "source:reviews",
        "the review form breaks: reviews fall to a fifth for two hours",
    )


def plan_problem(
    plan: Plan, cid: str, start: datetime, onset: int, room: int, rng: random.Random
) -> None:
    up, hold, down = rng.uniform(90, 150), rng.uniform(60, 120), 30.0
    peak = rng.uniform(1.0, 1.2)
    length = int(min(up + hold + down, room))
    for region in REGIONS:
        factor = ramp(length, up, hold, down, peak)
        plan.extras.append(
            Extra(
                cid,
                "tickets",
                region,
                onset,
                factor,
                tc.PLAN,
                share=TICKET_PLANS["enterprise"],
                plan="enterprise",
                priorities=("high", "urgent"),
            )
        )
    add_crisis(
        plan,
        cid,
        t.PLAN,
        start,
        onset,
        length,
        ("plan:enterprise", "segment:enterprise", "source:tickets"),
        "plan:enterprise",
        f"enterprise customers' tickets ramp to ×{1 + peak:.1f} over {up:.0f} min",
    )
