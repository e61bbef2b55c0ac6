"""What the spike detector judges a window against: weighted means, variance, seasonal factor."""

from __future__ import annotations

from collections import deque
from collections.abc import Hashable
from typing import Any

from river import base

from detectors.ewstats import SeasonalProfile, WarmEWMean, WarmEWVar, event_seconds
from detectors.slow_change import SlowChangeDetector
from detectors.tails import beta_binomial_upper, count_band, nb_size, nb_upper, share_band, surprise

# Bounds on the seasonal factor: a slot that has been silent still expects a little.
MIN_FACTOR, MAX_FACTOR = 0.05, 20.0


class CountBaseline(base.AnomalyDetector):
    """`CountSpikeDetector`'s baselines, expected bands and one-window scores (parameters there)."""

    def __init__(
        self,
        half_life: float = 60.0,
        warmup: int = 30,
        min_count: int = 5,
        share_concentration: float = 50.0,
        band: float = 0.99,
        learn_clip_score: float = 5.0,
        spike_span: int = 5,
        hold_windows: int = 15,
        max_hold_windows: int = 60,
        drop_span: int = 15,
        drop_min_expected: float = 30.0,
        drop_max_ratio: float = 0.35,
        compound_spread: float = 0.5,
        seasonal: bool = True,
        season_half_life_days: float = 14.0,
        season_prior: float = 50.0,
        dispersion_half_life: float = 0.0,
        slow: SlowChangeDetector | None = None,
    ) -> None:
        self.half_life = half_life
        self.warmup = warmup
        self.min_count = min_count
        self.share_concentration = share_concentration
        self.band = band
        self.learn_clip_score = learn_clip_score
        self.spike_span = spike_span
        self.hold_windows = hold_windows
        self.max_hold_windows = max_hold_windows
        self.drop_span = drop_span
        self.drop_min_expected = drop_min_expected
        self.drop_max_ratio = drop_max_ratio
        self.compound_spread = compound_spread
        self.seasonal = seasonal
        self.season_half_life_days = season_half_life_days
        self.season_prior = season_prior
        self.dispersion_half_life = dispersion_half_life
        self._season = SeasonalProfile(season_half_life_days, season_prior)
        self._factor = 1.0  # the seasonal factor of the window being scored or learnt
        self._season_frozen = False  # replaying windows the restored profile already holds
        fading = 1.0 - 0.5 ** (1.0 / half_life)
        self._n_mean = WarmEWMean(fading)
        self._n_var = WarmEWVar(fading)
        self._neg_mean = WarmEWMean(fading)
        # Long-run over-dispersion relative to the mean squared (var = mean + excess * mean^2):
        # how bursty the series is in general, not just in the last few hours.
        self._excess = WarmEWMean(
            1.0 - 0.5 ** (1.0 / dispersion_half_life) if dispersion_half_life > 0 else 0.0
        )
        self._compound_mean = WarmEWMean(fading)
        self._compound_windows = 0
        self._hold_left = 0
        self._held_for = 0
        # (n, n_negative, expected mean, expected variance) of the latest windows, for spans.
        self._recent: deque[tuple[int, int, float, float]] = deque(
            maxlen=max(drop_span, spike_span)
        )
        self._learned = 0
        # Hours-long ramps, silences and slice shares, on the same seasonal profile (optional).
        self.slow = slow

    @property
    def warmed_up(self) -> bool:
        return self._learned >= self.warmup

    def _at(self, x: dict[Hashable, Any]) -> float | None:
        """Set the seasonal factor for this window; its event time in seconds, if known."""
        start = x.get("start") if self.seasonal else None
        if start is None:
            self._factor = 1.0
            return None
        seconds = event_seconds(start)
        self._factor = min(max(self._season.factor(seconds), MIN_FACTOR), MAX_FACTOR)
        return seconds

    def volume_band(self, start: Any = None) -> tuple[float, float, float]:
        """Expected volume and its usual range for the next window (for plots and reports);
        ``start`` is that window's start, for its seasonal factor."""
        if start is not None:
            self._at({"start": start})
        lower, upper = self._volume_band()
        return self._mean(), lower, upper

    def _var(self) -> float:
        mean = self._mean()
        bursty = mean + max(self._excess.get(), 0.0) * mean * mean
        return max(self._n_var.get() * self._factor * self._factor, bursty)

    def _mean(self) -> float:
        # An empty history still expects *something*.
        return max(self._n_mean.get() * self._factor, 0.5)

    def _dispersion(self) -> tuple[float, float | None]:
        """Mean, and the negative binomial size when the series is over-dispersed (else None)."""
        mean = self._mean()
        return mean, nb_size(mean, self._var())

    def _volume_score(self, n: int) -> float:
        mean, size = self._dispersion()
        if not self.warmed_up or n < self.min_count or n <= mean:
            return 0.0
        return surprise(nb_upper(n, mean=mean, size=size))

    def _volume_band(self) -> tuple[float, float]:
        return count_band(*self._dispersion(), self.band)

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
        return surprise(beta_binomial_upper(n_negative, n, alpha, beta))

    def _share_band(self, n: int) -> tuple[float, float]:
        return share_band(n, self._share(), self.share_concentration, self.band)
