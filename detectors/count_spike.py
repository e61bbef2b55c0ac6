"""A count-aware spike detector for windowed mention counts, with River's anomaly contract.

It watches four things per window, from the window's counts ``n``, ``n_negative`` and
``sum_compound``. They are counts, so it scores them with count distributions rather than
z-scores: sparse series (a few mentions an hour) must not fire on noise.

* Volume spike: a negative binomial whose mean and variance follow exponentially weighted
  estimates (Poisson when the series is not over-dispersed).
* Volume drop: the last ``drop_span`` windows together against their expected total, so a
  review form that broke, or a segment that went quiet, shows within minutes even when one
  empty window alone would not be surprising.
* Negative share: a beta-binomial around the weighted baseline share; the concentration
  parameter lets the share wobble between windows as real traffic does.
* Sentiment shift: the window's mean compound score against its baseline, with the standard
  error shrinking as the window holds more mentions.

Volume expectations know daily and weekly seasonality when a window carries its start
(``x["start"]``): see ``SeasonalProfile``. Findings are ``detectors.findings.Finding``.

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
from dataclasses import replace
from typing import Any

from detectors.count_baseline import CountBaseline
from detectors.findings import NEGATIVE_SHARE, SENTIMENT_SHIFT, VOLUME, VOLUME_DROP, Finding
from detectors.tails import (
    beta_binomial_upper,
    count_band,
    nb_lower,
    nb_size,
    nb_upper,
    normal_lower,
    surprise,
)

# Seasonal slots learn at most twice the expected count, or three standard deviations above it.
SEASON_CLIP_RATIO, SEASON_CLIP_SD = 2.0, 3.0


class CountSpikeDetector(CountBaseline):
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
    spike_span
        A spike is also judged on this many windows together, so a crisis that is modest in
        each window (a few angry reviews a minute on a quiet source) adds up within minutes.
    hold_windows
        After an alert-level spike the baseline is held (it may fall, not rise) for this many
        windows, re-armed by every further alert-level window.
    max_hold_windows
        Longest continuous hold; a level that stays up longer becomes the new normal.
    drop_span
        Windows summed to judge a drop in volume.
    drop_min_expected
        Fewest mentions the span must be expected to hold before a drop can be judged.
    drop_max_ratio
        A drop must bring the span below this fraction of what it should hold: traffic settling
        back after a busy spell is not a broken source.
    compound_spread
        Typical spread of one mention's compound score, for the sentiment shift's error.
    seasonal
        Learn hour-of-day and day-of-week factors from the windows' start times.
    season_half_life_days
        Days after which a window weighs half as much in its seasonal slots.
    season_prior
        Pseudo-mentions each seasonal slot starts with: a slot's factor leaves 1 only once it
        has seen several times this many mentions, so sparse series stay unseasonal.
    """

    @classmethod
    def _unit_test_params(cls) -> Any:
        yield {"warmup": 3, "half_life": 10.0}

    def learn_one(self, x: dict[Hashable, Any]) -> None:
        seconds = self._at(x)
        n = float(x.get("n", 0))
        n_negative = float(x.get("n_negative", 0))
        learn_compound = n > 0
        mean, var = self._mean(), self._var()
        if self.warmed_up:
            scores = {f.metric: f.score for f in self.assess(x, bands=False, slow=False)}
            if max(scores[VOLUME], scores[NEGATIVE_SHARE]) >= self.learn_clip_score:
                self._hold_left = self.hold_windows
            if self._hold_left > 0 and self._held_for < self.max_hold_windows:
                # A crisis in progress: the baseline may fall but not rise, so neither a spike
                # nor a slow wave becomes the new normal while it lasts.
                n = min(n, mean)
                n_negative = min(n_negative, self._share() * n)
                learn_compound = False
                self._hold_left -= 1
                self._held_for += 1
            else:
                # After max_hold_windows a level that stays up is accepted as the new normal.
                self._hold_left = 0
                self._held_for = 0
            learn_compound = learn_compound and scores[SENTIMENT_SHIFT] < self.learn_clip_score
        if learn_compound:
            self._compound_mean.update(float(x.get("sum_compound", 0.0)) / float(x["n"]))
            self._compound_windows += 1
        self._recent.append((int(x.get("n", 0)), int(x.get("n_negative", 0)), mean, var))
        if self.dispersion_half_life > 0 and self.warmed_up:
            self._excess.update(((n - mean) ** 2 - mean) / (mean * mean))
        if seconds is not None and self.warmed_up and not self._season_frozen:
            # The raw count, not the crisis-held one (a new daily rhythm must be learnable),
            # but winsorised: one burst must not make its hour and weekday look busy for weeks.
            ceiling = max(SEASON_CLIP_RATIO * mean, mean + SEASON_CLIP_SD * math.sqrt(var))
            typical = min(float(x.get("n", 0)), ceiling)
            self._season.update(seconds, typical, level=self._n_mean.get())
        # The level and its spread are kept deseasonalised; _mean() and _var() put it back.
        self._n_mean.update(n / self._factor)
        self._n_var.update(n / self._factor)
        self._neg_mean.update(min(n_negative, n) / self._factor)
        self._learned += 1
        if self.slow is not None and not self._season_frozen:
            # A replayed window is already in the restored slow state (saved with the season).
            self.slow.learn_one(x)

    def season_snapshot(self) -> dict[str, Any]:
        """The learnt daily and weekly profile (and the slow detector's state), to store:
        replaying the last few hundred windows after a restart rebuilds the level but not weeks
        of hour-of-week rhythm, nor a day-long slow baseline."""
        state = self._season.snapshot()
        if self.slow is not None:
            state["slow"] = self.slow.snapshot()
        return state

    def restore_season(self, state: dict[str, Any]) -> None:
        self._season.restore(state)
        if self.slow is not None and "slow" in state:
            self.slow.restore(state["slow"])

    def replay_one(self, x: dict[Hashable, Any]) -> None:
        """Learn a window that the restored seasonal profile already holds: the level and spread
        are rebuilt against that profile, and the profile does not count the window twice."""
        self._season_frozen = True
        try:
            self.learn_one(x)
        finally:
            self._season_frozen = False

    def score_one(self, x: dict[Hashable, Any]) -> float:
        if not self.warmed_up:
            return 0.0
        return max(finding.score for finding in self.assess(x, bands=False))

    def assess(
        self, x: dict[Hashable, Any], *, bands: bool = True, slow: bool = True
    ) -> list[Finding]:
        """Every metric: observed, expected, band and surprise; the raw material of explanations.

        ``bands=False`` skips the quantiles (lower and upper are NaN): scoring a window then
        costs microseconds, which is what lets a backtest replay a year in seconds.
        """
        self._at(x)
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
        volume, negative = self._sustained(n, n_negative, volume, negative, bands)
        found = [volume, self._drop(n, bands), negative, self._shift(x, n)]
        if slow and self.slow is not None:
            found.extend(self.slow.assess(x))
        return found

    def _span(self, k: int, n: int, n_negative: int) -> tuple[int, int, float, float, int]:
        """Sums over this window and the k - 1 before it: n, n_negative, mean, var, windows."""
        history = list(self._recent)[-(k - 1) :] if k > 1 else []
        return (
            n + sum(h[0] for h in history),
            n_negative + sum(h[1] for h in history),
            self._mean() + sum(h[2] for h in history),
            self._var() + sum(h[3] for h in history),
            len(history) + 1,
        )

    def _sustained(
        self, n: int, n_negative: int, volume: Finding, negative: Finding, bands: bool
    ) -> tuple[Finding, Finding]:
        """The spike findings over ``spike_span`` windows, where they say more than one window."""
        if self.spike_span <= 1 or not self.warmed_up or len(self._recent) < self.spike_span - 1:
            return volume, negative
        total, total_negative, mean, var, k = self._span(self.spike_span, n, n_negative)
        size = nb_size(mean, var)
        # Sustained means (nearly) every window is clearly up (half a standard deviation above
        # its expectation, or twice the usual negative share), not one spike echoing in the sum.
        history = [*list(self._recent)[-(k - 1) :], (n, n_negative, self._mean(), self._var())]
        share = self._share()
        windows_up = sum(h[0] > h[2] + 0.5 * math.sqrt(h[3]) for h in history)
        sour = sum(h[0] > 0 and h[1] / h[0] > 2 * share for h in history)
        if windows_up >= k - 1 and total >= self.min_count and total > mean:
            score = surprise(nb_upper(total, mean=mean, size=size))
            if score > volume.score:
                lower, upper = count_band(mean, size, self.band) if bands else (math.nan, math.nan)
                volume = Finding(VOLUME, float(total), mean, lower, upper, score, total, k)
        if sour >= k - 1 and total_negative >= self.min_count and total_negative / total > share:
            alpha = share * self.share_concentration
            beta = (1.0 - share) * self.share_concentration
            score = surprise(beta_binomial_upper(total_negative, total, alpha, beta))
            if score > negative.score:
                lower, upper = self._share_band(total) if bands else (math.nan, math.nan)
                negative = Finding(
                    NEGATIVE_SHARE, total_negative / total, share, lower, upper, score, total, k
                )
        return volume, negative

    def _drop(self, n: int, bands: bool) -> Finding:
        """The latest ``drop_span`` windows, this one included, against what they should hold."""
        observed, _negative, mean, var, k = self._span(self.drop_span, n, 0)
        size = nb_size(mean, var)
        score = 0.0
        full = k == self.drop_span
        deep = observed <= self.drop_max_ratio * mean
        if self.warmed_up and full and mean >= self.drop_min_expected and deep:
            score = surprise(nb_lower(observed, mean=mean, size=size))
        lower, upper = count_band(mean, size, self.band) if bands else (math.nan, math.nan)
        return Finding(VOLUME_DROP, float(observed), mean, lower, upper, score, observed, k)

    def _shift(self, x: dict[Hashable, Any], n: int) -> Finding:
        """Mean compound of the window against its baseline; a fall is what matters."""
        baseline = self._compound_mean.get() if self._compound_windows else 0.0
        if n == 0:
            return Finding(SENTIMENT_SHIFT, 0.0, baseline, math.nan, math.nan, 0.0, 0)
        observed = float(x.get("sum_compound", 0.0)) / n
        error = self.compound_spread / math.sqrt(n)
        score = 0.0
        judged = self.warmed_up and self._compound_windows >= self.warmup
        if judged and n >= self.min_count and observed < baseline:
            score = surprise(normal_lower((observed - baseline) / error))
        z = 2.5758  # 99 % two-sided
        return Finding(
            SENTIMENT_SHIFT,
            observed,
            baseline,
            baseline - z * error,
            baseline + z * error,
            score,
            n,
        )

    def calm(self, x: dict[Hashable, Any]) -> bool:
        """Whether the latest ``spike_span`` windows (this one included) hold no more negative
        mentions than usual: a burst of words in calm traffic is a campaign or a news cycle."""
        history = list(self._recent)[-(self.spike_span - 1) :] if self.spike_span > 1 else []
        n = int(x.get("n", 0)) + sum(h[0] for h in history)
        negative = int(x.get("n_negative", 0)) + sum(h[1] for h in history)
        # Or happier than usual now: congratulations on a launch are no crisis.
        now = int(x.get("n", 0))
        usual = self._compound_mean.get() if self._compound_windows else 0.0
        glad = now > 0 and float(x.get("sum_compound", 0.0)) / now >= usual + 0.1
        return n == 0 or negative / n <= 1.5 * self._share() or glad
