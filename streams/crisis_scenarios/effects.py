"""What an event does to the traffic: extra mentions, scaled traffic, or written-out copies."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta

import numpy as np

from streams.crisis_scenarios import truth as t
from streams.crisis_scenarios.phrasing import Phrasebook
from streams.crisis_scenarios.traffic import UTC_OFFSET_HOURS


@dataclass(frozen=True, slots=True)
class Extra:
    """Additional mentions: ``factor[i]`` × the ordinary rate of (source, region) at minute
    ``first + i``, times ``share`` (the enterprise share of tickets for a plan problem)."""

    origin: str  # crisis or decoy id
    source: str
    region: str
    first: int
    factor: np.ndarray
    book: Phrasebook
    share: float = 1.0
    fixed: dict[str, str] = field(default_factory=dict)  # pinned slots (the product)
    plan: str | None = None  # tickets of one plan only
    ratings: tuple[int, ...] = (1, 1, 2)
    priorities: tuple[str, ...] = ("normal", "high", "high", "urgent")


@dataclass(frozen=True, slots=True)
class Scale:
    """Ordinary traffic of (source, region) multiplied by ``factor`` from minute ``first``."""

    source: str
    region: str
    first: int
    factor: np.ndarray


@dataclass(frozen=True, slots=True)
class Copy:
    """One mention written out in full: a syndicated headline or its share on social."""

    minute: float
    source: str
    region: str
    lang: str
    text: str
    url: str
    outlet: str | None


@dataclass(slots=True)
class Plan:
    crises: list[t.Crisis] = field(default_factory=list)
    decoys: list[t.Decoy] = field(default_factory=list)
    extras: list[Extra] = field(default_factory=list)
    scales: list[Scale] = field(default_factory=list)
    copies: list[Copy] = field(default_factory=list)


def ramp(minutes: int, up: float, hold: float, down: float, peak: float) -> np.ndarray:
    """Zero at onset, linear to ``peak`` over ``up`` minutes, held, then linear back to zero."""
    x = np.arange(minutes, dtype=float)
    rise = np.clip(x / max(up, 1.0), 0.0, 1.0)
    fall = np.clip((up + hold + down - x) / max(down, 1.0), 0.0, 1.0)
    return peak * np.minimum(rise, fall)


def at(start: datetime, minute: float) -> datetime:
    return start + timedelta(minutes=minute)


def add_crisis(
    plan: Plan,
    event_id: str,
    kind: str,
    start: datetime,
    onset: int,
    length: int,
    series: Sequence[str],
    slice_: str,
    description: str,
    **details: object,
) -> None:
    region = slice_.removeprefix("region:")
    offset = UTC_OFFSET_HOURS.get(region, 0)
    local_hour = (at(start, onset) + timedelta(hours=offset)).hour
    plan.crises.append(
        t.Crisis(
            event_id,
            kind,
            at(start, onset),
            at(start, onset + length),
            tuple(series),
            slice_,
            description,
            local_hour,
            dict(details),
        )
    )
