"""Silence at the hour scale: the last one, two or four hours against what they should hold.

A review form that breaks takes a source to a fifth of its volume. On a source with a review a
minute that is a handful of missing mentions per quarter of an hour: the spike detector's drop
test (15 windows, at least 30 expected) never sees it. Here the latest ``spans`` windows are
summed and their observed total compared with the slow baseline's expectation by a negative
binomial lower tail: real traffic's wander is multiplicative (a busy or quiet afternoon is
±20 %, whatever the volume), so the variance is expected + relative variance × expected², with
the series' own relative variance measured on two-hour blocks. A quiet night expects little, so
it is judged against little.

>>> s = Silence(spans=(60,), min_expected=20.0)
>>> for _ in range(2000):
...     s.learn(1, 1.0)
>>> s.assess(0, 1.0) is None  # one quiet minute after a long steady run: not news
True
>>> for _ in range(59):
...     s.learn(0, 1.0)
>>> finding = s.assess(0, 1.0)
>>> finding.observed, finding.expected, finding.windows, finding.score > 10
(0.0, 60.0, 60, True)
"""

from __future__ import annotations

import math
from array import array
from collections.abc import Sequence
from typing import Any

from detectors.ewstats import WarmEWMean
from detectors.findings import VOLUME_SILENCE, Finding
from detectors.tails import count_band, nb_lower, surprise

BLOCK_WINDOWS = 120
# Relative variance (squared coefficient of variation) assumed before blocks are seen: ±20 %.
PRIOR_RELATIVE_VARIANCE = 0.04
_PRIOR_BLOCKS = 4.0
RELATIVE_SHARE = 0.5
# A silence must still hold in the latest half hour: once the form works again, it stops.
RECENT = 30


class Silence:
    """The hour-scale drop test; ``learn`` takes each window's count and its expectation."""

    def __init__(
        self,
        spans: Sequence[int] = (60, 120, 240),
        min_expected: float = 20.0,
        max_ratio: float = 0.5,
        half_life_blocks: float = 24.0,
    ) -> None:
        self.spans = tuple(sorted(spans))
        self.min_expected = min_expected
        self.max_ratio = max_ratio
        size = self.spans[-1]
        self._observed = array("d", [0.0] * size)
        self._expected = array("d", [0.0] * size)
        self._at = 0  # next slot of the ring
        self._filled = 0
        self._relative = WarmEWMean(1.0 - 0.5 ** (1.0 / half_life_blocks))
        self._block = [0.0, 0.0, 0]  # observed, expected, windows of the open block
        # Per span, the sums of its latest span - 1 windows (the window judged is the last).
        self._sums = {span: [0.0, 0.0] for span in (*self.spans, RECENT)}
        self._learnt = 0

    def relative_variance(self) -> float:
        seen = self._relative.count
        value = (self._relative.get() * seen + PRIOR_RELATIVE_VARIANCE * _PRIOR_BLOCKS) / (
            seen + _PRIOR_BLOCKS
        )
        return max(value, 0.005)

    def assess(self, n: float, expected: float) -> Finding | None:
        """The strongest span's finding, counting this window; None when no span is both
        expected to hold enough and short of it by more than ``max_ratio``."""
        best: Finding | None = None
        relative = self.relative_variance()
        recent_observed = n + self._sums[RECENT][0]
        recent_wanted = expected + self._sums[RECENT][1]
        if self._filled >= RECENT - 1 and recent_observed > self.max_ratio * recent_wanted:
            return None  # the latest half hour is back to normal: the silence is over
        for span in self.spans:
            if self._filled < span - 1:
                break
            observed = n + self._sums[span][0]
            wanted = expected + self._sums[span][1]
            if wanted < self.min_expected or observed > self.max_ratio * wanted:
                continue
            # Negative binomial: Poisson noise and the series' own relative wander together.
            tail = nb_lower(round(observed), mean=wanted, size=1.0 / (RELATIVE_SHARE * relative))
            score = surprise(tail) - math.log10(len(self.spans))
            if best is None or score > best.score:
                lower, upper = count_band(wanted, 1.0 / (RELATIVE_SHARE * relative), 0.99)
                best = Finding(
                    VOLUME_SILENCE, observed, wanted, lower, upper, score, int(observed), span
                )
        return best

    def learn(self, n: float, expected: float, *, measure: bool = True) -> None:
        """Remember the window; ``measure`` False keeps a crisis out of the relative variance."""
        size = len(self._observed)
        for span, sums in self._sums.items():
            if self._filled >= span - 1 and span > 1:
                leaving = (self._at - (span - 1)) % size
                sums[0] -= self._observed[leaving]
                sums[1] -= self._expected[leaving]
            if span > 1:
                sums[0] += n
                sums[1] += expected
        self._observed[self._at] = n
        self._expected[self._at] = expected
        self._at = (self._at + 1) % size
        self._filled = min(self._filled + 1, size)
        self._learnt += 1
        if self._learnt % 10_000 == 0:
            self._resum()
        block = self._block
        block[0] += n
        block[1] += expected
        block[2] += 1
        if block[2] >= BLOCK_WINDOWS:
            observed, wanted = block[0], block[1]
            if measure and wanted >= 5.0:
                excess = ((observed - wanted) ** 2 - wanted) / (wanted * wanted)
                self._relative.update(min(max(excess, 0.0), 1.0))
            self._block = [0.0, 0.0, 0]

    def _resum(self) -> None:
        """Sum the spans afresh (running sums gather rounding error over weeks)."""
        size = len(self._observed)
        for span, sums in self._sums.items():
            count = min(span - 1, self._filled)
            slots = [(self._at - back) % size for back in range(1, count + 1)]
            sums[0] = sum(self._observed[i] for i in slots)
            sums[1] = sum(self._expected[i] for i in slots)

    def state(self) -> dict[str, Any]:
        return {
            "observed": list(self._observed),
            "expected": list(self._expected),
            "at": self._at,
            "filled": self._filled,
            "relative": [self._relative.get(), self._relative.count],
            "block": list(self._block),
        }

    def restore(self, state: dict[str, Any]) -> None:
        if len(state["observed"]) != len(self._observed):
            return  # the spans changed: start the ring afresh, keep the variance
        self._observed = array("d", (float(v) for v in state["observed"]))
        self._expected = array("d", (float(v) for v in state["expected"]))
        self._at, self._filled = int(state["at"]), int(state["filled"])
        mean, count = state["relative"]
        self._relative.restore(float(mean), int(count))
        observed, wanted, windows = state["block"]
        self._block = [float(observed), float(wanted), int(windows)]
        self._resum()
