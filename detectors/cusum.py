"""The parts of the slow detectors' CUSUMs (`detectors.slow_change`): a run of evidence, its
limits, the over-dispersion of hour blocks, and a recent share."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from detectors.ewstats import WarmEWMean

# Two-hour blocks measure how much a series wanders beyond Poisson (its over-dispersion).
BLOCK_WINDOWS = 120
MAX_DISPERSION = 30.0


@dataclass(frozen=True, slots=True)
class Limits:
    keep: float  # how much of its evidence a sum keeps from one window to the next
    ceiling: float  # the most evidence a sum holds


@dataclass(frozen=True, slots=True)
class Run:
    """One CUSUM: its evidence (nats) and what the windows since it last stood at zero held."""

    evidence: float = 0.0
    observed: float = 0.0
    expected: float = 0.0
    base: float = 0.0  # the denominator of a share (parent mentions), or mentions for sentiment
    windows: int = 0

    def advanced(
        self, llr: float, observed: float, expected: float, base: float, limits: Limits
    ) -> Run:
        # Old evidence fades: a crisis keeps feeding its sums, and once it is over they fall
        # back within hours, not days.
        evidence = self.evidence * limits.keep + llr
        if evidence <= 0.0:
            return ZERO
        # Capped: a crisis that lasts all day must still fade within hours once it is over.
        return Run(
            min(evidence, limits.ceiling),
            self.observed + observed,
            self.expected + expected,
            self.base + base,
            self.windows + 1,
        )


ZERO = Run()


class Dispersion:
    """Pearson dispersion of hour-long blocks (1 = Poisson), learnt while nothing is alarming."""

    def __init__(self, half_life_blocks: float) -> None:
        self._mean = WarmEWMean(1.0 - 0.5 ** (1.0 / half_life_blocks))
        self._deviation = 0.0
        self._variance = 0.0
        self._windows = 0

    def add(self, deviation: float, variance: float) -> None:
        self._deviation += deviation
        self._variance += variance
        self._windows += 1

    def close_block(self, *, learn: bool) -> None:
        if self._windows < BLOCK_WINDOWS:
            return
        if learn and self._variance >= 1.0:
            self._mean.update(min(self._deviation**2 / self._variance, MAX_DISPERSION))
        self._deviation = self._variance = 0.0
        self._windows = 0

    def get(self) -> float:
        # Until a few blocks are seen, assume real traffic's usual wander rather than Poisson.
        seen = self._mean.count
        prior, weight = 2.0, 4.0
        value = (self._mean.get() * seen + prior * weight) / (seen + weight) if seen else prior
        return min(max(value, 1.0), MAX_DISPERSION)

    def state(self) -> list[float]:
        return [
            self._mean.get(),
            float(self._mean.count),
            self._deviation,
            self._variance,
            float(self._windows),
        ]

    def restore(self, state: Sequence[float]) -> None:
        self._mean.restore(float(state[0]), int(state[1]))
        if len(state) == 5:
            self._deviation, self._variance = float(state[2]), float(state[3])
            self._windows = int(state[4])


class ShareMean:
    """A recent share: exponentially weighted sums of a part and its whole."""

    def __init__(self, fading: float) -> None:
        self._part = WarmEWMean(fading)
        self._whole = WarmEWMean(fading)

    @property
    def count(self) -> int:
        return self._whole.count

    def update(self, part: float, whole: float) -> None:
        self._part.update(part)
        self._whole.update(whole)

    def get(self) -> float:
        whole = self._whole.get()
        return self._part.get() / whole if whole > 0 else 0.0

    def state(self) -> list[float]:
        return [self._part.get(), self._whole.get(), float(self.count)]

    def restore(self, state: Sequence[float]) -> None:
        self._part.restore(float(state[0]), int(state[2]))
        self._whole.restore(float(state[1]), int(state[2]))
