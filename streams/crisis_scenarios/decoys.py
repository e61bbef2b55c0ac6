"""Decoys: things that look like news and must not page."""

from __future__ import annotations

import random
from datetime import datetime

from streams.crisis_scenarios import texts_crisis as tc
from streams.crisis_scenarios import truth as t
from streams.crisis_scenarios.effects import Copy, Extra, Plan, at, ramp
from streams.crisis_scenarios.texts_news import MARKETING, NEWS, OUTLETS
from streams.crisis_scenarios.traffic import REGIONS, SOURCES


def marketing(
    plan: Plan, did: str, start: datetime, onset: int, room: int, rng: random.Random
) -> None:
    length = int(min(rng.uniform(180, 240), room))
    lift = rng.uniform(0.3, 0.4)
    for source in SOURCES:
        for region in REGIONS:
            factor = ramp(length, 20, length - 40, 20, lift)
            book = NEWS if source == "news" else MARKETING
            plan.extras.append(
                Extra(
                    did,
                    source,
                    region,
                    onset,
                    factor,
                    book,
                    ratings=(4, 5, 5),
                    priorities=("low", "normal"),
                )
            )
    plan.decoys.append(
        t.Decoy(
            did,
            t.MARKETING,
            at(start, onset),
            at(start, onset + length),
            f"launch day: every slice +{lift:.0%} with happy texts",
        )
    )


def syndicated(
    plan: Plan, did: str, start: datetime, onset: int, room: int, rng: random.Random
) -> None:
    story = rng.choice(tc.STORIES)
    facts = {name: rng.choice(values) for name, values in tc.STORY_SLOTS.items()}
    facts["company"] = "Northwind"
    outlets = rng.sample(OUTLETS, rng.randint(10, 14))
    day = at(start, onset)
    slug = "northwind-" + "-".join(story[0].format(**facts).lower().split()[1:5])
    copies: list[Copy] = []
    for position, (name, domain, region, _lang) in enumerate(outlets):
        minute = onset + (0.0 if position == 0 else rng.uniform(1, 30))
        text = rng.choice(story).format(**facts)
        if rng.random() < 0.3:
            text += rng.choice((f" | {name}", f" - {name}", f" ({name})"))
        url = f"https://www.{domain}/{day:%Y/%m/%d}/{slug}-{rng.randrange(1000, 9999)}"
        copies.append(Copy(minute, "news", region, "en", text, url, name))
    for _ in range(rng.randint(3, 6)):
        shared = rng.choice(copies)
        minute = shared.minute + rng.uniform(2, 15)
        copies.append(
            Copy(
                minute,
                "social",
                shared.region,
                "en",
                f"{shared.text.split(' | ')[0]} {shared.url}",
                shared.url,
                None,
            )
        )
    plan.copies.extend(copies)
    last = max(c.minute for c in copies)
    plan.decoys.append(
        t.Decoy(
            did,
            t.SYNDICATED,
            at(start, onset),
            at(start, last + 1),
            f"one wire story rewritten by {len(outlets)} outlets",
            {"outlets": len(outlets), "copies": len(copies)},
        )
    )
