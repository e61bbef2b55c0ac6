"""Exponentially weighted mean and variance that are right from the first observation.

A plain EW mean starts at its first value and forgets it at the fading rate: with a one-hour
half-life, a series that started quiet is still underestimated an hour later, and a detector
that has "warmed up" alerts on ordinary traffic. Here the weight of each new value is
``max(fading, 1 / count)``, so the first values are averaged plainly and the fading takes over
once there is enough history (the bias correction Adam uses, in its simplest form).

>>> m = WarmEWMean(fading=0.01)
>>> for x in (6, 10, 10, 10):
...     m.update(x)
>>> m.get()
9.0
"""

from __future__ import annotations

import math
from array import array
from collections.abc import Mapping
from datetime import UTC, datetime
from typing import Any


class WarmEWMean:
    def __init__(self, fading: float) -> None:
        self.fading = fading
        self._mean = 0.0
        self._count = 0

    def update(self, x: float) -> None:
        self._count += 1
        weight = max(self.fading, 1.0 / self._count)
        self._mean += weight * (x - self._mean)

    def get(self) -> float:
        return self._mean

    @property
    def count(self) -> int:
        return self._count

    def restore(self, mean: float, count: int) -> None:
        """Continue from a saved mean and count (see `get` and `count`)."""
        self._mean, self._count = mean, count


class WarmEWVar:
    """EW variance around its own EW mean, with the same warm start.

    >>> v = WarmEWVar(fading=0.01)
    >>> for x in (8, 12, 8, 12):
    ...     v.update(x)
    >>> round(v.get(), 2)
    4.0
    """

    def __init__(self, fading: float) -> None:
        self.fading = fading
        self._mean = 0.0
        self._var = 0.0
        self._count = 0

    def update(self, x: float) -> None:
        self._count += 1
        weight = max(self.fading, 1.0 / self._count)
        delta = x - self._mean
        self._mean += weight * delta
        self._var = (1.0 - weight) * (self._var + weight * delta * delta)

    def get(self) -> float:
        return self._var


HOURS = 24
_DAY = 86_400.0
_EPOCH_WEEKDAY = 3  # 1970-01-01 was a Thursday (Monday = 0)
# Hour profiles: Monday to Friday share one, Saturday and Sunday have their own.
_DAY_CLASS = (0, 0, 0, 0, 0, 1, 2)
_SLOTS = 3 * HOURS
_MAX_GROWTH = 500.0  # rescale the sums before exp() of the weight overflows


def event_seconds(start: datetime | float | int) -> float:
    """Seconds since the epoch of a window start; a naive datetime is read as UTC."""
    if isinstance(start, datetime):
        if start.tzinfo is None:
            start = start.replace(tzinfo=UTC)
        return start.timestamp()
    return float(start)


class SeasonalProfile:
    """Multiplicative hour-of-day factors for weekdays, Saturdays and Sundays, learnt online.

    Three day profiles of 24 hours each carry both the daily and the weekly rhythm: office-hours
    traffic is not the same shape on Sunday, and no product of an hour factor and a weekday
    factor can say "busy 09:00-18:00, but not at weekends". Each slot keeps two decayed sums: the
    mentions it saw and the mentions the level alone expected there. Its factor is their ratio,
    with ``prior`` pseudo-mentions on both sides, so a sparse series stays near 1 (no season)
    until it has seen enough to say otherwise, and every factor is 1 during the first day.
    State is 146 floats, whatever the window length.

    Decay without a timestamp per slot: a window at time t is added with weight
    exp(rate * (t - origin)), so older sums weigh exponentially less; the prior grows with the
    same weight, and everything is rescaled before the weights overflow.

    >>> p = SeasonalProfile(half_life_days=14.0, prior=10.0)
    >>> for day in range(14):
    ...     for hour in range(24):
    ...         busy = 9 <= hour < 17
    ...         p.update(day * 86_400 + hour * 3600 + 1800, 30.0 if busy else 10.0, level=20.0)
    >>> day = 14 * 86_400  # a Thursday
    >>> round(p.factor(day + 12 * 3600 + 1800), 2), round(p.factor(day + 3 * 3600 + 1800), 2)
    (1.47, 0.53)
    """

    def __init__(self, half_life_days: float, prior: float) -> None:
        self.half_life_days = half_life_days
        self.prior = prior
        self._rate = math.log(2.0) / (half_life_days * _DAY)
        self._observed = array("d", [0.0] * _SLOTS)
        self._expected = array("d", [0.0] * _SLOTS)
        self._origin = math.nan  # event time at which a window weighs 1
        self._first = math.nan  # event time of the first window learnt

    @staticmethod
    def _slot(seconds: float) -> int:
        weekday = (int(seconds // _DAY) + _EPOCH_WEEKDAY) % 7
        return _DAY_CLASS[weekday] * HOURS + int((seconds % _DAY) // 3600)

    def _weight(self, seconds: float) -> float:
        if math.isnan(self._origin):
            return 1.0
        return math.exp(min(self._rate * (seconds - self._origin), _MAX_GROWTH))

    def factor(self, seconds: float) -> float:
        """Expected volume at this event time relative to the series' deseasonalised level."""
        if not seconds - self._first >= _DAY:
            # Less than a day of history says nothing about hours yet; minutes-old zeros must
            # not both pull the level down and brand this hour as a quiet one.
            return 1.0
        slot = self._slot(seconds)
        prior = self.prior * self._weight(seconds)
        return (self._observed[slot] + prior) / (self._expected[slot] + prior)

    def update(self, seconds: float, observed: float, level: float) -> None:
        """Learn one window: it held ``observed`` where the level alone expected ``level``."""
        if math.isnan(self._origin):
            self._origin = self._first = seconds
        if self._rate * (seconds - self._origin) > _MAX_GROWTH / 2:
            self._rescale(seconds)
        weight = self._weight(seconds)
        slot = self._slot(seconds)
        self._observed[slot] += weight * observed
        self._expected[slot] += weight * level

    def _rescale(self, seconds: float) -> None:
        shrink = 1.0 / self._weight(seconds)
        for slot in range(_SLOTS):
            self._observed[slot] *= shrink
            self._expected[slot] *= shrink
        self._origin = seconds

    def snapshot(self) -> dict[str, Any]:
        """Everything learnt, JSON-safe: a restarted worker continues from exactly this.

        >>> p = SeasonalProfile(half_life_days=14.0, prior=10.0)
        >>> p.update(3600.0, 30.0, level=20.0)
        >>> q = SeasonalProfile(half_life_days=14.0, prior=10.0)
        >>> q.restore(p.snapshot())
        >>> q.snapshot() == p.snapshot()
        True
        """
        return {
            "observed": list(self._observed),
            "expected": list(self._expected),
            "origin": None if math.isnan(self._origin) else self._origin,
            "first": None if math.isnan(self._first) else self._first,
        }

    def restore(self, state: Mapping[str, Any]) -> None:
        observed, expected = state["observed"], state["expected"]
        if len(observed) != _SLOTS or len(expected) != _SLOTS:
            raise ValueError(f"a seasonal profile has {_SLOTS} slots, not {len(observed)}")
        self._observed = array("d", (float(v) for v in observed))
        self._expected = array("d", (float(v) for v in expected))
        self._origin = math.nan if state["origin"] is None else float(state["origin"])
        self._first = math.nan if state["first"] is None else float(state["first"])
