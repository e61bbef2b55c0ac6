"""What the slow detector learns and keeps: its baselines, sums and runs, saved and restored."""

from __future__ import annotations

import math
from collections.abc import Hashable, Sequence
from typing import Any

from detectors.cusum import BLOCK_WINDOWS, ZERO, Dispersion, Limits, Run, ShareMean
from detectors.ewstats import RatioProfile, WarmEWMean
from detectors.findings import SENTIMENT_SLIDE, SHARE_FALL, VOLUME_SILENCE
from detectors.silence import Silence
from detectors.slow_sums import GROUPS, SUMS, Step

LN10 = math.log(10.0)


class SlowChangeState:
    """`SlowChangeDetector`'s learnt state and its parameters, and its snapshot."""

    def __init__(
        self,
        half_life: float = 1440.0,
        warmup: int = 1440,
        ratios: Sequence[float] = (1.5, 2.5, 5.0),
        silence_ratio: float = 0.25,
        sentiment_shift: float = 0.25,
        compound_spread: float = 0.5,
        min_excess: float = 15.0,
        alert_evidence: float = 5.0,
        repeat_windows: int = 15,
        max_hold_windows: int = 720,
        calm_rise_penalty: float = 3.0,
        evidence_half_life: float = 120.0,
        share_prior: float = 200.0,
        season_half_life_days: float = 14.0,
    ) -> None:
        self.half_life = half_life
        self.warmup = warmup
        self.ratios = tuple(ratios)
        self.silence_ratio = silence_ratio
        self.sentiment_shift = sentiment_shift
        self.compound_spread = compound_spread
        self.min_excess = min_excess
        self.alert_evidence = alert_evidence
        self.repeat_windows = repeat_windows
        self.max_hold_windows = max_hold_windows
        self.calm_rise_penalty = calm_rise_penalty
        self.combine_slice = True
        # Capped just above the alert score: once a crisis is over, its sums fall below the
        # alert within the hour instead of paging on for half a day.
        self._limits = Limits(0.5 ** (1.0 / evidence_half_life), 1.3 * alert_evidence * LN10)
        fading = 1.0 - 0.5 ** (1.0 / half_life)
        self._level = WarmEWMean(fading)  # deseasonalised mentions per window
        self._negative = ShareMean(fading)  # negatives among the series' mentions
        self._compound = WarmEWMean(fading)  # mean compound per mention
        self._share = ShareMean(fading)  # the series' share of its parent
        # Its own hour-of-week profiles with weak priors (in windows, and in parent mentions): a
        # silence is judged at night too, so the night must be expected as quiet from the
        # second day on; the spike detector's profile waits for far more evidence.
        self._season = RatioProfile(season_half_life_days, hour_prior=10.0, slot_prior=30.0)
        self._share_hours = RatioProfile(
            season_half_life_days, hour_prior=share_prior / 4.0, slot_prior=share_prior
        )
        self._negative_hours = RatioProfile(
            season_half_life_days, hour_prior=share_prior / 4.0, slot_prior=share_prior
        )
        blocks = max(half_life / BLOCK_WINDOWS, 4.0)
        self._dispersion = {name: Dispersion(blocks) for name in SUMS}
        # A fall to silence, judged over whole hours (the spans) on a log scale.
        self._silence = Silence(min_expected=min_excess, max_ratio=silence_ratio)
        self._runs = {name: tuple(ZERO for _ in self._ratios_of(name)) for name in SUMS}
        self._above = dict.fromkeys(
            (*SUMS, VOLUME_SILENCE), 0
        )  # windows each sum has been at the alert score
        self._held = dict.fromkeys(GROUPS, 0)  # windows each baseline has held
        self._learned = 0
        self._judged_x: dict[Hashable, Any] | None = None
        self._judged: Step | None = None

    def _ratios_of(self, name: str) -> Sequence[float]:
        if name == SHARE_FALL:
            return (self.silence_ratio,)
        if name == SENTIMENT_SLIDE:
            return (1.0,)
        return self.ratios

    @property
    def warmed_up(self) -> bool:
        return self._learned >= self.warmup

    def snapshot(self) -> dict[str, Any]:
        """Everything learnt, JSON-safe; saved with the seasonal profile."""
        return {
            "means": {name: [ew.get(), ew.count] for name, ew in self._means().items()},
            "shares": {"negative": self._negative.state(), "share": self._share.state()},
            "profiles": {name: p.snapshot() for name, p in self._profiles().items()},
            "dispersion": {name: d.state() for name, d in self._dispersion.items()},
            "runs": {
                name: [[r.evidence, r.observed, r.expected, r.base, r.windows] for r in runs]
                for name, runs in self._runs.items()
            },
            "above": dict(self._above),
            "silence": self._silence.state(),
            "learned": self._learned,
        }

    def restore(self, state: dict[str, Any]) -> None:
        for name, ew in self._means().items():
            mean, count = state["means"][name]
            ew.restore(float(mean), int(count))
        self._negative.restore(state["shares"]["negative"])
        self._share.restore(state["shares"]["share"])
        for name, profile in self._profiles().items():
            profile.restore(state["profiles"][name])
        for name, values in state["dispersion"].items():
            if name in self._dispersion:
                self._dispersion[name].restore(values)
        for name, runs in state["runs"].items():
            if name in self._runs and len(runs) == len(self._runs[name]):
                self._runs[name] = tuple(
                    Run(float(e), float(o), float(x), float(b), int(w)) for e, o, x, b, w in runs
                )
        self._above.update({k: int(v) for k, v in state["above"].items() if k in self._above})
        self._silence.restore(state["silence"])
        self._learned = int(state["learned"])

    def _means(self) -> dict[str, WarmEWMean]:
        return {"level": self._level, "compound": self._compound}

    def _profiles(self) -> dict[str, RatioProfile]:
        return {
            "season": self._season,
            "share_hours": self._share_hours,
            "negative_hours": self._negative_hours,
        }
