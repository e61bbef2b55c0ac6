"""Assemble a scenario stream: ordinary traffic, crises, decoys, as replayable mention dicts.

Every mention is a JSON-ready dict as `crisismon replay` and `crisismon backtest` read it:
``source``, ``external_id``, ``text``, ``event_time``, ``region`` and ``lang`` at top level,
``attributes`` with the customer's ``plan`` (tickets) or the ``outlet`` (news), ``priority``
on tickets, ``rating`` on reviews and ``url`` on news. No author or customer id: those need a
pseudonym key, and a benchmark file should replay anywhere.
"""

from __future__ import annotations

import json
import random
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import numpy as np

from streams.crisis_scenarios.effects import Extra, Plan
from streams.crisis_scenarios.events import plan_events
from streams.crisis_scenarios.phrasing import Phrasebook, decorate
from streams.crisis_scenarios.texts_news import NEWS, OUTLETS
from streams.crisis_scenarios.texts_ordinary import ORDINARY, REVIEW_GOOD, REVIEW_MEH
from streams.crisis_scenarios.traffic import (
    LANGUAGES,
    REGIONS,
    SOURCES,
    TICKET_PLANS,
    Traffic,
    ordinary_traffic,
)
from streams.crisis_scenarios.truth import Crisis, Decoy

# A Monday, so day 0 is a working day in every region.
DEFAULT_START = datetime(2026, 3, 2, tzinfo=UTC)
WARMUP_DAYS = 2
_ORDINARY_PRIORITIES = ("low", "normal", "normal", "normal", "high")
_RATINGS = (5, 5, 5, 5, 4, 4, 4, 3, 2, 1)


@dataclass(frozen=True, slots=True)
class Stream:
    """A generated stream and its truth."""

    seed: int
    start: datetime
    days: int
    warmup_days: int
    mentions: list[dict[str, Any]]
    crises: list[Crisis]
    decoys: list[Decoy]
    busy_hours: tuple[tuple[str, str, int], ...]

    @property
    def scored_from(self) -> datetime:
        """Where scoring starts: the end of the warm-up."""
        return self.start + timedelta(days=self.warmup_days)

    def truth_json(self) -> dict[str, Any]:
        return {
            "seed": self.seed,
            "start": self.start.isoformat(),
            "days": self.days,
            "warmup_days": self.warmup_days,
            "mentions": len(self.mentions),
            "crises": [c.to_json() for c in self.crises],
            "decoys": [d.to_json() for d in self.decoys],
        }


def generate(
    seed: int, days: int = 14, *, warmup_days: int = WARMUP_DAYS, start: datetime = DEFAULT_START
) -> tuple[list[dict[str, Any]], list[Crisis], list[Decoy]]:
    """Mentions (sorted by event time), crises and decoys; the same seed gives the same stream."""
    stream = generate_stream(seed, days, warmup_days=warmup_days, start=start)
    return stream.mentions, stream.crises, stream.decoys


def generate_stream(
    seed: int, days: int = 14, *, warmup_days: int = WARMUP_DAYS, start: datetime = DEFAULT_START
) -> Stream:
    if days <= warmup_days:
        raise ValueError(f"days ({days}) must exceed the warm-up ({warmup_days} days)")
    np_rng = np.random.default_rng(seed)
    rng = random.Random(seed)
    traffic = ordinary_traffic(start, days, np_rng)
    plan = plan_events(start, days, warmup_days, rng)
    writer = _Writer(rng)
    _ordinary(writer, traffic, plan, np_rng)
    for extra in plan.extras:
        _extra(writer, traffic, extra, np_rng)
    for copy in plan.copies:
        fields: dict[str, Any] = {"url": copy.url}
        if copy.outlet:
            fields["attributes"] = {"outlet": copy.outlet}
        writer.add(copy.minute * 60, copy.source, copy.region, copy.lang, copy.text, fields)
    mentions = writer.finish(start, seed)
    return Stream(
        seed, start, days, warmup_days, mentions, plan.crises, plan.decoys, traffic.busy_hours
    )


class _Writer:
    """Collects (seconds, source, region, lang, text, fields) and makes mention dicts at the end."""

    def __init__(self, rng: random.Random) -> None:
        self.rng = rng
        self.rows: list[tuple[float, str, str, str, str, dict[str, Any]]] = []
        self._langs = {r: (list(w), list(w.values())) for r, w in LANGUAGES.items()}
        self._outlets = {r: [o for o in OUTLETS if o[2] == r] for r in REGIONS}
        self._plans = (list(TICKET_PLANS), list(TICKET_PLANS.values()))

    def lang(self, region: str) -> str:
        names, weights = self._langs[region]
        return self.rng.choices(names, weights)[0]

    def add(
        self, seconds: float, source: str, region: str, lang: str, text: str, fields: dict[str, Any]
    ) -> None:
        self.rows.append((seconds, source, region, lang, text, fields))

    def say(
        self,
        minute: int,
        source: str,
        region: str,
        book: Phrasebook,
        *,
        plan: str | None = None,
        rating: int | None = None,
        priority: str = "normal",
        fixed: dict[str, str] | None = None,
    ) -> None:
        rng = self.rng
        seconds = (minute + rng.random()) * 60
        fields: dict[str, Any] = {}
        if source == "news":
            name, domain, _region, lang = rng.choice(self._outlets[region])
            text = book.say(rng, lang, **(fixed or {}))
            slug = "-".join(text.lower().split()[:6]).strip("?!.,:")
            fields["url"] = f"https://www.{domain}/news/{slug}-{rng.randrange(10_000, 99_999)}"
            fields["attributes"] = {"outlet": name}
        else:
            lang = self.lang(region)
            text = decorate(rng, lang, book.say(rng, lang, **(fixed or {})))
        if source == "tickets":
            chosen = plan or rng.choices(*self._plans)[0]
            fields["attributes"] = {"plan": chosen}
            fields["priority"] = priority
        if rating is not None:
            fields["rating"] = rating
        self.add(seconds, source, region, lang, text, fields)

    def finish(self, start: datetime, seed: int) -> list[dict[str, Any]]:
        self.rows.sort(key=lambda row: row[0])
        mentions = []
        for number, (seconds, source, region, lang, text, fields) in enumerate(self.rows):
            moment = start + timedelta(seconds=round(seconds, 3))
            mentions.append(
                {
                    "source": source,
                    "external_id": f"sc{seed}-{number:06d}",
                    "text": text,
                    "event_time": moment.isoformat(timespec="milliseconds"),
                    "region": region,
                    "lang": lang,
                    **fields,
                }
            )
        return mentions


def _ordinary(writer: _Writer, traffic: Traffic, plan: Plan, np_rng: np.random.Generator) -> None:
    rate = traffic.rate.copy()
    for scale in plan.scales:
        si, ri = SOURCES.index(scale.source), REGIONS.index(scale.region)
        end = min(scale.first + len(scale.factor), traffic.minutes)
        rate[si, ri, scale.first : end] *= scale.factor[: end - scale.first]
    counts = np_rng.poisson(rate)
    rng = writer.rng
    for si, source in enumerate(SOURCES):
        for ri, region in enumerate(REGIONS):
            row = counts[si, ri]
            for minute in np.flatnonzero(row).tolist():
                for _ in range(int(row[minute])):
                    if source == "reviews":
                        stars = rng.choice(_RATINGS)
                        book = REVIEW_GOOD if stars >= 4 else REVIEW_MEH
                        writer.say(minute, source, region, book, rating=stars)
                    elif source == "news":
                        writer.say(minute, source, region, NEWS)
                    else:
                        priority = rng.choice(_ORDINARY_PRIORITIES)
                        writer.say(minute, source, region, ORDINARY, priority=priority)


def _extra(writer: _Writer, traffic: Traffic, extra: Extra, np_rng: np.random.Generator) -> None:
    si, ri = SOURCES.index(extra.source), REGIONS.index(extra.region)
    end = min(extra.first + len(extra.factor), traffic.minutes)
    if end <= extra.first:
        return
    base = traffic.rate[si, ri, extra.first : end]
    counts = np_rng.poisson(base * extra.factor[: end - extra.first] * extra.share)
    rng = writer.rng
    for offset in np.flatnonzero(counts).tolist():
        for _ in range(int(counts[offset])):
            writer.say(
                extra.first + offset,
                extra.source,
                extra.region,
                extra.book,
                plan=extra.plan,
                rating=rng.choice(extra.ratings) if extra.source == "reviews" else None,
                priority=rng.choice(extra.priorities),
                fixed=extra.fixed,
            )


def write_stream(stream: Stream, directory: Path) -> tuple[Path, Path]:
    """``mentions.jsonl`` (for replay and backtest) and ``truth.json`` in ``directory``."""
    directory.mkdir(parents=True, exist_ok=True)
    mentions_path = directory / "mentions.jsonl"
    with mentions_path.open("w", encoding="utf-8") as handle:
        for mention in stream.mentions:
            handle.write(json.dumps(mention, ensure_ascii=False) + "\n")
    truth_path = directory / "truth.json"
    truth_path.write_text(json.dumps(stream.truth_json(), indent=2, ensure_ascii=False) + "\n")
    return mentions_path, truth_path
