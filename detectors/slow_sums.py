"""The slow detector's parts that need no detector state: its sums' names and groups, a
window's step, binomial CUSUM runs, the usual share at an hour, and a run as a finding."""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from detectors.cusum import Limits, Run, ShareMean
from detectors.ewstats import RatioProfile, event_seconds
from detectors.findings import (
    NEGATIVE_RAMP,
    SENTIMENT_SLIDE,
    SHARE_FALL,
    SHARE_RISE,
    VOLUME_RAMP,
    Finding,
)

SUMS = (VOLUME_RAMP, NEGATIVE_RAMP, SHARE_RISE, SHARE_FALL, SENTIMENT_SLIDE)
# The baselines, and the sums whose evidence holds each of them while it builds.
GROUPS = {
    "volume": (VOLUME_RAMP,),
    "negative": (NEGATIVE_RAMP,),
    "share": (SHARE_RISE, SHARE_FALL),
    "sentiment": (SENTIMENT_SLIDE,),
}


@dataclass(frozen=True, slots=True)
class Step:
    runs: dict[str, tuple[Run, ...]]
    deviations: dict[str, tuple[float, float]]  # per sum: observed minus expected, variance
    silence: Finding | None = None  # the hour-scale drop test, counting this window
    expected: float = 0.0  # the window's expected mentions


def binomial_runs(
    runs: tuple[Run, ...],
    ratios: Sequence[float],
    phi: float,
    inside: float,
    total: float,
    usual: float,
    limits: Limits,
) -> tuple[Run, ...]:
    """CUSUMs of ``inside`` of ``total`` (a slice of its parent, negatives of all mentions)
    against the usual share, one per ratio by which the odds may have changed."""
    advanced = []
    for r, run in zip(ratios, runs, strict=True):
        changed = r * usual / (1.0 - usual + r * usual)  # the odds times r
        llr = inside * math.log(changed / usual) + (total - inside) * math.log(
            (1.0 - changed) / (1.0 - usual)
        )
        advanced.append(run.advanced(llr / phi, inside, total * usual, total, limits))
    return tuple(advanced)


def usual_share(hours: RatioProfile, recent: ShareMean, start: Any) -> float:
    """The share usual at this hour of the week, moved by how the last day differs from the
    fortnight (within a factor of 1.5 either way)."""
    share = recent.get()
    if start is not None:
        seconds = event_seconds(start)
        typical = hours.ratio(seconds)
        overall = hours.overall()
        if typical == typical and overall > 0:  # not NaN
            drift = min(max(share / overall, 1 / 1.5), 1.5) if share > 0 else 1.0
            share = typical * drift
    return min(max(share, 1e-4), 0.999)


def run_finding(name: str, run: Run, score: float, spread: float) -> Finding:
    """A run as a finding: counts for volume sums, a share or a mean for the others, with the
    usual range (99 %) of what the run's windows should have held."""
    z = 2.5758
    if name in (SHARE_RISE, SHARE_FALL, SENTIMENT_SLIDE):
        base = max(run.base, 1.0)
        observed, expected, support = run.observed / base, run.expected / base, int(run.base)
        if name == SENTIMENT_SLIDE:
            half = z * spread / math.sqrt(base)
            lower, upper = expected - half, expected + half
        else:
            half = z * math.sqrt(max(expected * (1.0 - expected), 0.0) / base)
            lower, upper = max(expected - half, 0.0), min(expected + half, 1.0)
    else:
        observed, expected, support = run.observed, run.expected, int(run.observed)
        half = z * math.sqrt(max(expected, 0.0))
        lower, upper = max(expected - half, 0.0), expected + half
    return Finding(name, observed, expected, lower, upper, score, support, run.windows)
