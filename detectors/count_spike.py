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
from dataclasses import dataclass, replace
from typing import Any

import numpy as np
from river import base, stats
from scipy.special import betainc, betaln, gammaln, pdtrc
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
            # A window that is itself an anomaly teaches only its upper-band value.
            volume, share = self.assess(x, bands=False)
            if volume.score >= self.learn_clip_score:
                n = min(n, self._volume_band()[1])
            if share.score >= self.learn_clip_score:
                n_negative = min(n_negative, self._share_band(int(n))[1] * n)
        self._n_mean.update(n)
        self._n_var.update(n)
        self._neg_mean.update(min(n_negative, n))
        self._learned += 1

    def score_one(self, x: dict[Hashable, Any]) -> float:
        if not self.warmed_up:
            return 0.0
        return max(finding.score for finding in self.assess(x, bands=False))

    def assess(self, x: dict[Hashable, Any], *, bands: bool = True) -> list[Finding]:
        """Both metrics: observed, expected, band and surprise; the raw material of explanations.

        ``bands=False`` skips the quantiles (lower and upper are NaN): scoring a window then
        costs microseconds, which is what lets a backtest replay a year in seconds.
        """
        n = int(x.get("n", 0))
        n_negative = min(int(x.get("n_negative", 0)), n)
        volume = Finding(
            VOLUME, float(n), self._mean(), math.nan, math.nan, self._volume_score(n), n
        )
        share = self._share()
        negative = Finding(
            NEGATIVE_SHARE,
            n_negative / n if n else 0.0,
            share,
            math.nan,
            math.nan,
            self._share_score(n, n_negative),
            n,
        )
        if bands:
            lower, upper = self._volume_band()
            volume = replace(volume, lower=lower, upper=upper)
            lower, upper = self._share_band(n)
            negative = replace(negative, lower=lower, upper=upper)
        return [volume, negative]

    def volume_band(self) -> tuple[float, float, float]:
        """Expected volume and its usual range for the next window (for plots and reports)."""
        lower, upper = self._volume_band()
        return self._mean(), lower, upper

    def _mean(self) -> float:
        return max(self._n_mean.get(), 0.5)  # an empty history still expects *something*

    def _dispersion(self) -> tuple[float, float | None]:
        """Mean, and the negative binomial size when the series is over-dispersed (else None)."""
        mean = self._mean()
        var = max(self._n_var.get(), mean)
        if var > mean * 1.05:
            return mean, mean * mean / (var - mean)
        return mean, None

    def _volume_score(self, n: int) -> float:
        mean, size = self._dispersion()
        if not self.warmed_up or n < self.min_count or n <= mean:
            return 0.0
        if size is None:
            return _surprise(float(pdtrc(n - 1, mean)))  # Poisson P(X >= n)
        # Negative binomial P(X >= n) = I_{1-p}(n, size), with p = size / (size + mean).
        return _surprise(float(betainc(n, size, mean / (size + mean))))

    def _volume_band(self) -> tuple[float, float]:
        mean, size = self._dispersion()
        dist: Any = poisson(mean) if size is None else nbinom(size, size / (size + mean))
        tail = (1.0 - self.band) / 2
        return float(dist.ppf(tail)), float(dist.ppf(1.0 - tail))

    def _share(self) -> float:
        base_n = max(self._n_mean.get(), 1e-9)
        # Smoothed toward 10 % so a series that was all praise can still be judged.
        share = (self._neg_mean.get() + 0.1) / (base_n + 1.0)
        return min(max(share, 0.01), 0.95)

    def _share_score(self, n: int, n_negative: int) -> float:
        share = self._share()
        if not self.warmed_up or n_negative < self.min_count or n_negative / n <= share:
            return 0.0
        alpha = share * self.share_concentration
        beta = (1.0 - share) * self.share_concentration
        return _surprise(_beta_binomial_tail(n_negative, n, alpha, beta))

    def _share_band(self, n: int) -> tuple[float, float]:
        if n == 0:
            return 0.0, 1.0
        share = self._share()
        dist = betabinom(
            n, share * self.share_concentration, (1.0 - share) * self.share_concentration
        )
        tail = (1.0 - self.band) / 2
        return float(dist.ppf(tail)) / n, float(dist.ppf(1.0 - tail)) / n


def _beta_binomial_tail(k: int, n: int, alpha: float, beta: float) -> float:
    """P(X >= k) for X ~ BetaBinomial(n, alpha, beta), summed in log space."""
    j = np.arange(k, n + 1)
    log_pmf = (
        gammaln(n + 1) - gammaln(j + 1) - gammaln(n - j + 1)
        + betaln(j + alpha, n - j + beta) - betaln(alpha, beta)
    )  # fmt: skip
    return float(np.exp(log_pmf).sum())


def _surprise(p_value: float) -> float:
    if p_value <= 0.0 or math.isnan(p_value):
        return _MAX_SURPRISE
    return min(-math.log10(p_value), _MAX_SURPRISE)
