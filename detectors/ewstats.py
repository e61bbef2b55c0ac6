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
