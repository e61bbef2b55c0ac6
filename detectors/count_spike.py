"""A count-aware spike detector for windowed mention counts, with River's anomaly contract.

It watches two things per window: the volume ``n`` and the number of negative mentions
``n_negative`` out of ``n``. Both are counts, so it scores them with count distributions rather
than z-scores: sparse series (a few mentions an hour) must not fire on noise.

* Volume: a negative binomial whose mean and variance follow exponentially weighted estimates
  (Poisson when the series is not over-dispersed).
* Negative share: a beta-binomial around the weighted baseline share; the concentration
  parameter lets the share wobble between windows as real traffic does.

The score is the surprise ``-log10 P(X >= observed)``: 5 means "about 1 in 100,000 windows".
Windows that score above the threshold teach the baseline only their upper-band value, so a
crisis does not become the new normal within minutes.

>>> det = CountSpikeDetector(warmup=5)
>>> for n in [20, 22, 19, 21, 20, 18, 23, 20]:
...     det.learn_one({"n": n, "n_negative": 2})
>>> det.score_one({"n": 21, "n_negative": 2}) < 2
True
>>> det.score_one({"n": 90, "n_negative": 60}) > 10
True
"""

from __future__ import annotations

import math
from collections.abc import Hashable
from dataclasses import dataclass
from typing import Any

from river import base, stats
from scipy.stats import betabinom, nbinom, poisson

VOLUME = "volume"
NEGATIVE_SHARE = "negative_share"
_MAX_SURPRISE = 50.0  # -log10 of a p-value that underflows; keeps scores finite


@dataclass(frozen=True, slots=True)
class Finding:
    """One metric of one window, judged against its baseline."""

    metric: str
    observed: float
    expected: float
    lower: float
    upper: float
    score: float
    support: int  # how many mentions the figure rests on


class CountSpikeDetector(base.AnomalyDetector):
    """Volume and negative-share spikes in windowed counts.

    Parameters
    ----------
    half_life
        Windows after which an observation weighs half as much in the baseline.
    warmup
        Windows to learn before any score other than 0 is given.
    min_count
        Fewest mentions (or negative mentions) a window needs before it can be a spike.
    share_concentration
        Beta-binomial concentration for the negative share; lower tolerates more wobble.
    band
        Two-sided probability mass of the expected band shown in explanations.
    learn_clip_score
        Windows scoring at least this much are learnt as their upper band value.
    """

    def __init__(
        self,
        half_life: float = 60.0,
        warmup: int = 30,
        min_count: int = 5,
        share_concentration: float = 50.0,
        band: float = 0.99,
        learn_clip_score: float = 5.0,
    ) -> None:
        self.half_life = half_life
        self.warmup = warmup
        self.min_count = min_count
        self.share_concentration = share_concentration
        self.band = band
        self.learn_clip_score = learn_clip_score
        fading = 1.0 - 0.5 ** (1.0 / half_life)
        self._n_mean = stats.EWMean(fading_factor=fading)
        self._n_var = stats.EWVar(fading_factor=fading)
        self._neg_mean = stats.EWMean(fading_factor=fading)
        self._learned = 0

    @classmethod
    def _unit_test_params(cls) -> Any:
        yield {"warmup": 3, "half_life": 10.0}

    @property
    def warmed_up(self) -> bool:
        return self._learned >= self.warmup

    def learn_one(self, x: dict[Hashable, Any]) -> None:
        n = float(x.get("n", 0))
        n_negative = float(x.get("n_negative", 0))
        if self.warmed_up:
            findings = {f.metric: f for f in self.assess(x)}
            volume, share = findings[VOLUME], findings[NEGATIVE_SHARE]
            if volume.score >= self.learn_clip_score:
                n = min(n, volume.upper)
            if share.score >= self.learn_clip_score:
                n_negative = min(n_negative, share.upper * n)
        self._n_mean.update(n)
        self._n_var.update(n)
        self._neg_mean.update(min(n_negative, n))
        self._learned += 1

    def score_one(self, x: dict[Hashable, Any]) -> float:
        if not self.warmed_up:
            return 0.0
        return max(finding.score for finding in self.assess(x))

    def assess(self, x: dict[Hashable, Any]) -> list[Finding]:
        """Both metrics: observed, expected, band and surprise; the raw material of explanations."""
        n = int(x.get("n", 0))
        n_negative = min(int(x.get("n_negative", 0)), n)
        return [self._volume(n), self._negative_share(n, n_negative)]

    def _volume(self, n: int) -> Finding:
        mean = max(self._n_mean.get(), 0.5)  # an empty history still expects *something*
        var = max(self._n_var.get(), mean)
        if var > mean * 1.05:
            size = mean * mean / (var - mean)
            dist: Any = nbinom(size, size / (size + mean))
        else:
            dist = poisson(mean)
        tail = (1.0 - self.band) / 2
        lower, upper = float(dist.ppf(tail)), float(dist.ppf(1.0 - tail))
        score = 0.0
        if self.warmed_up and n >= self.min_count and n > mean:
            score = _surprise(float(dist.sf(n - 1)))
        return Finding(VOLUME, float(n), mean, lower, upper, score, n)

    def _negative_share(self, n: int, n_negative: int) -> Finding:
        base_n = max(self._n_mean.get(), 1e-9)
        # Smoothed toward 10 % so a series that was all praise can still be judged.
        share = (self._neg_mean.get() + 0.1) / (base_n + 1.0)
        share = min(max(share, 0.01), 0.95)
        alpha = share * self.share_concentration
        beta = (1.0 - share) * self.share_concentration
        if n == 0:
            return Finding(NEGATIVE_SHARE, 0.0, share, 0.0, 1.0, 0.0, 0)
        dist = betabinom(n, alpha, beta)
        tail = (1.0 - self.band) / 2
        lower, upper = float(dist.ppf(tail)) / n, float(dist.ppf(1.0 - tail)) / n
        score = 0.0
        if self.warmed_up and n_negative >= self.min_count and n_negative / n > share:
            score = _surprise(float(dist.sf(n_negative - 1)))
        return Finding(NEGATIVE_SHARE, n_negative / n, share, lower, upper, score, n)


def _surprise(p_value: float) -> float:
    if p_value <= 0.0 or math.isnan(p_value):
        return _MAX_SURPRISE
    return min(-math.log10(p_value), _MAX_SURPRISE)
