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


class RatioProfile:
    """A ratio (mentions per window, or a slice's share of its parent) by hour of the week,
    learnt online without any level: decayed sums of numerator and denominator per slot.

    Each weekday/Saturday/Sunday hour slot leans on its hour of day with ``slot_prior``
    (denominator units), and each hour of day on the overall ratio with ``hour_prior``. So the
    second night already expects a night, the first Saturday night expects a night too, and
    after a few weekends Saturdays are their own. Old weeks fade with ``half_life_days``.

    >>> p = RatioProfile(half_life_days=14.0, hour_prior=2.0, slot_prior=12.0)
    >>> for day in range(4, 7):  # Monday to Wednesday: busy days, quiet nights
    ...     for hour in range(24):
    ...         for minute in range(0, 60, 10):
    ...             p.update(day * 86_400 + hour * 3600 + minute * 60,
    ...                      30.0 if 9 <= hour < 17 else 3.0, 1.0)
    >>> saturday_night = 9 * 86_400 + 3 * 3600 + 1800
    >>> round(p.ratio(saturday_night), 1), round(p.factor(saturday_night), 2)
    (4.1, 0.34)
    """

    def __init__(self, half_life_days: float, hour_prior: float, slot_prior: float) -> None:
        self.hour_prior = hour_prior
        self.slot_prior = slot_prior
        self._rate = math.log(2.0) / (half_life_days * _DAY)
        # Numerator and denominator sums: 24 hours of day, then 72 hours of the week, then all.
        self._top = array("d", [0.0] * (HOURS + _SLOTS + 1))
        self._bottom = array("d", [0.0] * (HOURS + _SLOTS + 1))
        self._origin = math.nan

    @staticmethod
    def _slots(seconds: float) -> tuple[int, int]:
        return HOURS + SeasonalProfile._slot(seconds), int((seconds % _DAY) // 3600)

    def _weight(self, seconds: float) -> float:
        if math.isnan(self._origin):
            return 1.0
        return math.exp(min(self._rate * (seconds - self._origin), _MAX_GROWTH))

    def ratio(self, seconds: float) -> float:
        """The usual ratio at this moment (NaN before anything was learnt).

        Interpolated between the two nearest hour centres, each hour smoothed with its
        neighbours (a quarter each): a rhythm is smooth, and a few days of one hour's counts
        are not, so an unlucky hour must not make the next day's same hour look quiet.
        """
        everything = HOURS + _SLOTS
        if not self._bottom[everything] > 0:
            return math.nan
        overall = self._top[everything] / self._bottom[everything]
        weight = self._weight(seconds)
        position = (seconds % _DAY) / 3600.0 - 0.5  # hours since the centre of hour 0
        before = math.floor(position)
        share = position - before
        first = self._at_hour(seconds, before, overall, weight)
        second = self._at_hour(seconds, before + 1, overall, weight)
        return first + share * (second - first)

    def _at_hour(self, seconds: float, hour: int, overall: float, weight: float) -> float:
        day_class = _DAY_CLASS[(int(seconds // _DAY) + _EPOCH_WEEKDAY) % 7]
        hour_top = hour_bottom = week_top = week_bottom = 0.0
        for offset, share in ((-1, 0.25), (0, 0.5), (1, 0.25)):
            h = (hour + offset) % HOURS
            hour_top += share * self._top[h]
            hour_bottom += share * self._bottom[h]
            week = HOURS + day_class * HOURS + h
            week_top += share * self._top[week]
            week_bottom += share * self._bottom[week]
        hourly = (hour_top + self.hour_prior * weight * overall) / (
            hour_bottom + self.hour_prior * weight
        )
        return (week_top + self.slot_prior * weight * hourly) / (
            week_bottom + self.slot_prior * weight
        )

    def overall(self) -> float:
        """The ratio over everything learnt (0 before anything)."""
        everything = HOURS + _SLOTS
        bottom = self._bottom[everything]
        return self._top[everything] / bottom if bottom > 0 else 0.0

    def seen(self, seconds: float) -> float:
        """How much denominator this hour of the week has seen (decayed, in today's units):
        with one window per minute and a denominator of 1, 60 per day it was learnt."""
        week, _hour = self._slots(seconds)
        return self._bottom[week] / self._weight(seconds)

    def factor(self, seconds: float) -> float:
        """The usual ratio at this moment relative to the overall one (1 before any data)."""
        everything = HOURS + _SLOTS
        if not self._top[everything] > 0:
            return 1.0
        return self.ratio(seconds) / (self._top[everything] / self._bottom[everything])

    def update(self, seconds: float, top: float, bottom: float) -> None:
        if math.isnan(self._origin):
            self._origin = seconds
        if self._rate * (seconds - self._origin) > _MAX_GROWTH / 2:
            shrink = 1.0 / self._weight(seconds)
            for i in range(len(self._top)):
                self._top[i] *= shrink
                self._bottom[i] *= shrink
            self._origin = seconds
        weight = self._weight(seconds)
        week, hour = self._slots(seconds)
        for slot in (week, hour, HOURS + _SLOTS):
            self._top[slot] += weight * top
            self._bottom[slot] += weight * bottom

    def snapshot(self) -> dict[str, Any]:
        return {
            "top": list(self._top),
            "bottom": list(self._bottom),
            "origin": None if math.isnan(self._origin) else self._origin,
        }

    def restore(self, state: Mapping[str, Any]) -> None:
        if len(state["top"]) != len(self._top):
            raise ValueError(f"a ratio profile has {len(self._top)} sums, not {len(state['top'])}")
        self._top = array("d", (float(v) for v in state["top"]))
        self._bottom = array("d", (float(v) for v in state["bottom"]))
        self._origin = math.nan if state["origin"] is None else float(state["origin"])
