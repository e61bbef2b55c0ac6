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
from datetime import UTC, datetime


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
WEEKDAYS = 7
_DAY = 86_400.0
_EPOCH_WEEKDAY = 3  # 1970-01-01 was a Thursday (Monday = 0)


def event_seconds(start: datetime | float | int) -> float:
    """Seconds since the epoch of a window start; a naive datetime is read as UTC."""
    if isinstance(start, datetime):
        if start.tzinfo is None:
            start = start.replace(tzinfo=UTC)
        return start.timestamp()
    return float(start)


class SeasonalProfile:
    """Multiplicative hour-of-day and day-of-week factors, learnt online from event time.

    Each of the 24 hour slots and 7 weekday slots keeps two decayed sums: the mentions it saw
    and the mentions the rest of the model expected there. Its factor is their ratio, with
    ``prior`` pseudo-mentions on both sides, so a sparse series stays near 1 (no season) until
    it has seen enough to say otherwise. Hours are interpolated between slot centres, so a
    5-minute window at 18:55 is not judged by a cliff at 19:00. State is 93 floats, whatever the
    window length.

    >>> p = SeasonalProfile(half_life_days=14.0, prior=10.0)
    >>> for day in range(14):
    ...     for hour in range(24):
    ...         busy = 9 <= hour < 17
    ...         p.update(day * 86_400 + hour * 3600 + 1800, 30.0 if busy else 10.0, level=20.0)
    >>> round(p.factor(12 * 3600 + 1800), 1), round(p.factor(3 * 3600 + 1800), 1)
    (1.5, 0.5)
    """

    def __init__(self, half_life_days: float, prior: float) -> None:
        self.half_life_days = half_life_days
        self.prior = prior
        self._rate = math.log(2.0) / (half_life_days * _DAY)
        slots = HOURS + WEEKDAYS
        self._observed = array("d", [0.0] * slots)
        self._expected = array("d", [0.0] * slots)
        self._updated = array("d", [math.nan] * slots)

    def _slots(self, seconds: float) -> tuple[int, int, float, int]:
        """Lower hour slot, upper hour slot, weight of the upper one, weekday slot."""
        position = (seconds % _DAY) / 3600.0 - 0.5  # hour slots are centred on :30
        lower = math.floor(position)
        upper_weight = position - lower
        weekday = (int(seconds // _DAY) + _EPOCH_WEEKDAY) % WEEKDAYS
        return lower % HOURS, (lower + 1) % HOURS, upper_weight, HOURS + weekday

    def _ratio(self, slot: int) -> float:
        return (self._observed[slot] + self.prior) / (self._expected[slot] + self.prior)

    def _factors(self, seconds: float) -> tuple[float, float, tuple[int, int, float, int]]:
        slots = self._slots(seconds)
        lower, upper, weight, weekday = slots
        hour = (1.0 - weight) * self._ratio(lower) + weight * self._ratio(upper)
        return hour, self._ratio(weekday), slots

    def factor(self, seconds: float) -> float:
        """Expected volume at this event time relative to the series' deseasonalised level."""
        hour, weekday, _slots = self._factors(seconds)
        return hour * weekday

    def update(self, seconds: float, observed: float, level: float) -> None:
        """Learn one window: it held ``observed`` where the level alone expected ``level``."""
        hour, weekday, (lower, upper, weight, weekday_slot) = self._factors(seconds)
        for slot, share, other in (
            (lower, 1.0 - weight, weekday),
            (upper, weight, weekday),
            (weekday_slot, 1.0, hour),
        ):
            if share <= 0.0:
                continue
            last = self._updated[slot]
            if not math.isnan(last) and seconds > last:
                keep = math.exp(-self._rate * (seconds - last))
                self._observed[slot] *= keep
                self._expected[slot] *= keep
            self._observed[slot] += share * observed
            self._expected[slot] += share * level * other
            self._updated[slot] = max(seconds, last) if not math.isnan(last) else seconds
