"""Ordinary traffic: expected mentions per minute for every source × region slice.

Each slice has its own rhythm in its own local time (tickets in office hours, social in the
evening, news in the morning, local weekends), its own slowly wandering level (an AR(1) on the
log rate with a correlation time of a few hours, so slices drift apart rather than move as
one), hour-to-hour overdispersion (a gamma multiplier per hour, which with Poisson counts is
gamma-Poisson), and now and then an ordinary busy hour in one slice.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

import numpy as np
from scipy.signal import lfilter

SOURCES = ("tickets", "reviews", "social", "news")
REGIONS = ("eu", "us", "apac")
UTC_OFFSET_HOURS = {"eu": 1, "us": -5, "apac": 8}
REGION_SHARE = {"eu": 0.4, "us": 0.4, "apac": 0.2}
SOURCE_SHARE = {"tickets": 0.32, "reviews": 0.14, "social": 0.48, "news": 0.06}
LANGUAGES = {"eu": {"en": 0.55, "de": 0.28, "fr": 0.17}, "us": {"en": 0.82, "es": 0.18}}
LANGUAGES["apac"] = {"en": 1.0}
TICKET_PLANS = {"free": 0.45, "pro": 0.35, "enterprise": 0.2}
MENTIONS_PER_DAY = 75_000 / 14

# Daily shape per source in local hours: a floor plus (centre, width, height) bumps, and what a
# local weekend day does to the source.
_SHAPES: dict[str, tuple[float, tuple[tuple[float, float, float], ...], float]] = {
    "tickets": (0.08, ((11.0, 2.5, 1.0), (15.0, 2.5, 0.9)), 0.4),
    "reviews": (0.15, ((13.0, 3.0, 0.5), (20.0, 3.0, 1.0)), 1.15),
    "social": (0.12, ((12.5, 2.5, 0.6), (20.5, 2.5, 1.0)), 1.1),
    "news": (0.1, ((9.5, 2.0, 1.0), (16.0, 3.0, 0.4)), 0.45),
}


@dataclass(frozen=True, slots=True)
class Traffic:
    """``rate[s, r, t]``: expected ordinary mentions of source s, region r in minute t."""

    start: datetime
    rate: np.ndarray
    busy_hours: tuple[tuple[str, str, int], ...]  # (source, region, hour index)

    @property
    def minutes(self) -> int:
        return int(self.rate.shape[2])


def local_hours(start: datetime, minutes: int, region: str) -> tuple[np.ndarray, np.ndarray]:
    """Local hour of day (fractional) and local weekday (0 Monday) of every minute."""
    offset = start.hour * 60 + start.minute + UTC_OFFSET_HOURS[region] * 60
    local = np.arange(minutes) + offset + start.weekday() * 1440
    return (local % 1440) / 60.0, (local // 1440) % 7


def _daily(source: str, hours: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    floor, bumps, _weekend = _SHAPES[source]
    shape = np.full_like(hours, floor)
    for centre, width, height in bumps:
        # Each slice's peaks sit a little apart: no two slices share one curve.
        c = centre + rng.uniform(-1.0, 1.0)
        w = width * rng.uniform(0.85, 1.15)
        distance = np.minimum(np.abs(hours - c), 24 - np.abs(hours - c))
        shape += height * np.exp(-0.5 * (distance / w) ** 2)
    return shape


def _ar1_log_level(minutes: int, rng: np.random.Generator) -> np.ndarray:
    """exp of an AR(1) with a correlation time of 2-6 hours and a spread of 0.12-0.25."""
    tau = rng.uniform(120.0, 360.0)
    sd = rng.uniform(0.12, 0.25)
    phi = np.exp(-1.0 / tau)
    noise = rng.normal(0.0, sd * np.sqrt(1 - phi * phi), minutes)
    level = lfilter([1.0], [1.0, -phi], noise)
    # Start on a draw from the stationary distribution rather than at zero.
    level += rng.normal(0.0, sd) * phi ** np.arange(1, minutes + 1)
    return np.exp(level - sd * sd / 2)


def ordinary_traffic(
    start: datetime, days: int, rng: np.random.Generator, per_day: float = MENTIONS_PER_DAY
) -> Traffic:
    minutes = days * 1440
    hours_n = (minutes + 59) // 60
    rate = np.zeros((len(SOURCES), len(REGIONS), minutes))
    busy: list[tuple[str, str, int]] = []
    for si, source in enumerate(SOURCES):
        weekend_factor = _SHAPES[source][2]
        for ri, region in enumerate(REGIONS):
            hours, weekday = local_hours(start, minutes, region)
            shape = _daily(source, hours, rng) * np.where(weekday >= 5, weekend_factor, 1.0)
            shape *= per_day * SOURCE_SHARE[source] * REGION_SHARE[region] / 1440 / shape.mean()
            hourly = rng.gamma(40.0, 1 / 40.0, hours_n)  # sd 0.16 hour to hour
            for hour in np.flatnonzero(rng.random(hours_n) < 0.003):
                hourly[hour] *= rng.uniform(1.3, 1.6)
                busy.append((source, region, int(hour)))
            rate[si, ri] = shape * _ar1_log_level(minutes, rng) * np.repeat(hourly, 60)[:minutes]
    return Traffic(start, rate, tuple(busy))
