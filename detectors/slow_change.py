"""Slow, partial and silent crises: CUSUM evidence that builds up over hours.

The spike detector (`detectors.count_spike`) judges the last few windows against a baseline
that follows the series within an hour or two, so a complaint wave that grows over three hours
is learnt as the new normal before it is ever surprising. This detector keeps a *slow* baseline
(half-life of about a day, on top of the same daily and weekly profile) and asks, window after
window, how much more likely the recent windows are under "the rate has changed by a factor r"
than under "nothing changed": a CUSUM of log-likelihood ratios (Page, 1954), one per factor, so
a doubling shows within the hour on a busy series and a tripling of a quiet topic within a few
hours, while ordinary noise keeps every sum near zero.

Five sums per series, each reported as its own metric:

* ``volume_ramp``: more mentions than the slow baseline expects (Poisson, ratios ``ratios``).
* ``negative_ramp``: more negative mentions than expected (same test on ``n_negative``).
* ``volume_silence``: far fewer mentions (ratio ``silence_ratio``): a review form that broke.
  A quiet night adds little evidence, because the seasonal profile expects little then.
* ``share_rise`` / ``share_fall``: the series' share of its parent (``x["parent_n"]``, the
  ``global`` count of the same window) against its usual share at that hour: one region,
  source or segment moving alone is news, a surge that lifts every slice together is not.
* ``sentiment_slide``: the mean compound score sliding below its slow baseline.

The evidence is in natural-log units; a finding's score is it in base 10 (``1e5`` times more
likely under the change scores 5), so it is graded against the same alert score as every other
detector. Each sum is divided by the series' own over-dispersion, measured on hour-long blocks
(real traffic wanders more than Poisson from hour to hour), so a series that wanders is not
paged for wandering. While evidence builds, the slow baseline stops learning, so a crisis
cannot become normal before someone is paged.

>>> from datetime import UTC, datetime, timedelta
>>> det = SlowChangeDetector(warmup=60, half_life=240)
>>> t0 = datetime(2026, 1, 5, tzinfo=UTC)
>>> for i in range(600):
...     det.learn_one({"start": t0 + timedelta(minutes=i), "n": 3 + i % 2, "n_negative": 1,
...                    "sum_compound": 0.5, "parent_n": 20}, factor=1.0)
>>> x = {"start": t0 + timedelta(minutes=600), "n": 9, "n_negative": 6, "sum_compound": -3.0,
...      "parent_n": 26}
>>> for i in range(40):
...     found = {f.metric: round(f.score, 1) for f in det.assess(x, factor=1.0)}
...     det.learn_one(x, factor=1.0)
>>> found["volume_ramp"] >= 5 and found["share_rise"] >= 5
True
"""

from __future__ import annotations

import math
from collections.abc import Hashable, Sequence
from dataclasses import dataclass
from typing import Any

from detectors.ewstats import SeasonalProfile, WarmEWMean, event_seconds
from detectors.findings import (
    NEGATIVE_RAMP,
    SENTIMENT_SLIDE,
    SHARE_FALL,
    SHARE_RISE,
    VOLUME_RAMP,
    VOLUME_SILENCE,
    Finding,
)

LN10 = math.log(10.0)
# Hour-long blocks measure how much a series wanders beyond Poisson (its over-dispersion).
BLOCK_WINDOWS = 60
MAX_DISPERSION = 30.0


@dataclass(frozen=True, slots=True)
class _Run:
    """One CUSUM: its evidence (nats) and what the windows since it last stood at zero held."""

    evidence: float = 0.0
    observed: float = 0.0
    expected: float = 0.0
    base: float = 0.0  # the denominator of a share (parent mentions), or mentions for sentiment
    windows: int = 0

    def advanced(
        self, llr: float, observed: float, expected: float, base: float, ceiling: float
    ) -> _Run:
        evidence = self.evidence + llr
        if evidence <= 0.0:
            return _ZERO
        # Capped: a crisis that lasts all day must still fade within hours once it is over.
        return _Run(
            min(evidence, ceiling),
            self.observed + observed,
            self.expected + expected,
            self.base + base,
            self.windows + 1,
        )


_ZERO = _Run()


class _Dispersion:
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
        return [self._mean.get(), float(self._mean.count)]

    def restore(self, state: Sequence[float]) -> None:
        self._mean.restore(float(state[0]), int(state[1]))


class SlowChangeDetector:
    """CUSUMs against a slow seasonal baseline; see the module docstring.

    Parameters
    ----------
    half_life
        Windows after which an observation weighs half as much in the slow baseline.
    warmup
        Windows learnt before any finding (the slow baseline needs hours of history).
    ratios
        Rate factors tested for rises (volume, negatives, share); each has its own CUSUM.
    silence_ratio
        Rate factor tested for a fall in volume or share.
    sentiment_shift
        Fall in mean compound score per mention that the sentiment CUSUM tests for.
    compound_spread
        Typical spread of one mention's compound score.
    min_excess
        Fewest extra (or missing) mentions a run must hold before it may alert: three
        mentions of a topic that is usually silent are not a crisis, however unlikely.
    alert_evidence
        Score (log10) at which a run alerts; evidence this large stops the baseline learning.
    repeat_windows
        While a run stays above the alert score it is reported again every this many windows
        (enough to keep its incident open), not every window.
    share_prior
        Parent mentions each hour slot of the share profile starts with.
    """

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
        self._ceiling = 2.0 * alert_evidence * LN10
        fading = 1.0 - 0.5 ** (1.0 / half_life)
        self._level = WarmEWMean(fading)  # deseasonalised mentions per window
        self._negative = WarmEWMean(fading)  # deseasonalised negative mentions per window
        self._compound = WarmEWMean(fading)  # mean compound per mention
        self._share = WarmEWMean(fading)  # share of the parent, over all hours
        self._share_hours = SeasonalProfile(season_half_life_days, share_prior)
        blocks = max(half_life / BLOCK_WINDOWS, 4.0)
        self._dispersion = {name: _Dispersion(blocks) for name in SUMS}
        self._runs = {name: tuple(_ZERO for _ in self._ratios_of(name)) for name in SUMS}
        self._above = dict.fromkeys(SUMS, 0)  # windows each sum has been at the alert score
        self._learned = 0
        self._judged_x: dict[Hashable, Any] | None = None
        self._judged: _Step | None = None

    def _ratios_of(self, name: str) -> Sequence[float]:
        if name in (VOLUME_SILENCE, SHARE_FALL):
            return (self.silence_ratio,)
        if name == SENTIMENT_SLIDE:
            return (1.0,)
        return self.ratios

    @property
    def warmed_up(self) -> bool:
        return self._learned >= self.warmup

    def _share_at(self, start: Any) -> float:
        hour = self._share_hours.factor(event_seconds(start)) if start is not None else 1.0
        return min(max(self._share.get() * hour, 1e-4), 0.999)

    def _evidence(self, x: dict[Hashable, Any], factor: float) -> _Step:
        """Every sum after this window, and what it adds to each dispersion; changes nothing."""
        n = float(x.get("n", 0))
        negative = float(min(x.get("n_negative", 0), n))
        runs = dict(self._runs)
        deviations: dict[str, tuple[float, float]] = {}
        if not self._level.count:
            return _Step(runs, deviations)
        expected = max(self._level.get() * factor, 1e-3)
        for name, observed, mean in (
            (VOLUME_RAMP, n, expected),
            (VOLUME_SILENCE, n, expected),
            (NEGATIVE_RAMP, negative, max(self._negative.get() * factor, 1e-3)),
        ):
            phi = self._dispersion[name].get()
            runs[name] = tuple(
                run.advanced(
                    (observed * math.log(r) - mean * (r - 1.0)) / phi,
                    observed,
                    mean,
                    0.0,
                    self._ceiling,
                )
                for r, run in zip(self._ratios_of(name), runs[name], strict=True)
            )
            deviations[name] = (observed - mean, mean)
        parent = x.get("parent_n")
        if parent and self._share.count:
            share = self._share_at(x.get("start"))
            inside = min(n, float(parent))
            for name in (SHARE_RISE, SHARE_FALL):
                phi = self._dispersion[name].get()
                advanced = []
                for r, run in zip(self._ratios_of(name), runs[name], strict=True):
                    changed = r * share / (1.0 - share + r * share)  # the odds times r
                    llr = inside * math.log(changed / share) + (parent - inside) * math.log(
                        (1.0 - changed) / (1.0 - share)
                    )
                    advanced.append(
                        run.advanced(llr / phi, inside, parent * share, parent, self._ceiling)
                    )
                runs[name] = tuple(advanced)
                deviations[name] = (inside - parent * share, parent * share * (1.0 - share))
        if n > 0 and self._compound.count:
            total = float(x.get("sum_compound", 0.0))
            baseline, shift = self._compound.get(), self.sentiment_shift
            variance = self.compound_spread**2
            phi = self._dispersion[SENTIMENT_SLIDE].get()
            # Gaussian CUSUM for a fall of ``shift`` per mention, over the window's n mentions.
            llr = (shift * (n * baseline - total) - n * shift * shift / 2.0) / variance
            (run,) = runs[SENTIMENT_SLIDE]
            runs[SENTIMENT_SLIDE] = (
                run.advanced(llr / phi, total, n * baseline, n, self._ceiling),
            )
            deviations[SENTIMENT_SLIDE] = (n * baseline - total, n * variance)
        return _Step(runs, deviations)

    def learn_one(self, x: dict[Hashable, Any], *, factor: float) -> None:
        """Add the window's evidence to every sum, then (unless a crisis builds) learn it."""
        cached = self._judged if self._judged_x is x else None
        step = cached if cached is not None else self._evidence(x, factor)
        self._judged_x, self._judged = None, None
        self._runs = step.runs
        for name in SUMS:
            best = max(run.evidence for run in step.runs[name]) / LN10
            self._above[name] = self._above[name] + 1 if best >= self.alert_evidence else 0
        building = any(
            run.evidence >= self.alert_evidence * LN10 / 3.0
            for name in _HOLDING
            for run in step.runs[name]
        )
        for name, dispersion in self._dispersion.items():
            if name in step.deviations:
                dispersion.add(*step.deviations[name])
            dispersion.close_block(learn=not building)
        if building and self.warmed_up:
            return  # the slow baseline holds while evidence of a change builds up
        n = float(x.get("n", 0))
        self._level.update(n / factor)
        self._negative.update(float(min(x.get("n_negative", 0), n)) / factor)
        if n > 0:
            self._compound.update(float(x.get("sum_compound", 0.0)) / n)
        parent = x.get("parent_n")
        if parent:
            inside = min(n, float(parent))
            self._share.update(inside / parent)
            start = x.get("start")
            if start is not None and self._share.count > BLOCK_WINDOWS:
                level = parent * self._share.get()
                self._share_hours.update(event_seconds(start), inside, level=level)
        self._learned += 1

    def assess(self, x: dict[Hashable, Any], *, factor: float) -> list[Finding]:
        """A finding per sum that has evidence after this window, without learning it.

        A sum that stays above the alert score is reported at full strength when it crosses
        it and then every ``repeat_windows`` windows (enough to keep its incident open); in
        between its score is shown just below the alert score, so a day-long crisis is one
        incident with a few dozen anomalies rather than one per minute.
        """
        if not self.warmed_up:
            return []
        step = self._evidence(x, factor)
        # Judged, then learnt (as closing and backtests do): learning reuses this step.
        self._judged_x, self._judged = x, step
        findings = []
        for name in SUMS:
            run = max(step.runs[name], key=lambda r: r.evidence)
            if run.windows == 0 or not self._enough(name, run):
                continue
            score = run.evidence / LN10
            above = self._above[name]
            if score >= self.alert_evidence and above and above % self.repeat_windows:
                score = math.nextafter(self.alert_evidence, 0.0)
            findings.append(_finding(name, run, score))
        return findings

    def _enough(self, name: str, run: _Run) -> bool:
        """A run rests on enough mentions: ``min_excess`` more (or fewer) than expected."""
        if name == SENTIMENT_SLIDE:
            return run.base >= 3 * self.min_excess
        return abs(run.observed - run.expected) >= self.min_excess

    def snapshot(self) -> dict[str, Any]:
        """Everything learnt, JSON-safe; saved with the seasonal profile."""
        return {
            "means": {name: [ew.get(), ew.count] for name, ew in self._means().items()},
            "share_hours": self._share_hours.snapshot(),
            "dispersion": {name: d.state() for name, d in self._dispersion.items()},
            "runs": {
                name: [[r.evidence, r.observed, r.expected, r.base, r.windows] for r in runs]
                for name, runs in self._runs.items()
            },
            "above": dict(self._above),
            "learned": self._learned,
        }

    def restore(self, state: dict[str, Any]) -> None:
        for name, ew in self._means().items():
            mean, count = state["means"][name]
            ew.restore(float(mean), int(count))
        self._share_hours.restore(state["share_hours"])
        for name, values in state["dispersion"].items():
            if name in self._dispersion:
                self._dispersion[name].restore(values)
        for name, runs in state["runs"].items():
            if name in self._runs and len(runs) == len(self._runs[name]):
                self._runs[name] = tuple(
                    _Run(float(e), float(o), float(x), float(b), int(w)) for e, o, x, b, w in runs
                )
        self._above.update({k: int(v) for k, v in state.get("above", {}).items() if k in SUMS})
        self._learned = int(state["learned"])

    def _means(self) -> dict[str, WarmEWMean]:
        return {
            "level": self._level,
            "negative": self._negative,
            "compound": self._compound,
            "share": self._share,
        }


@dataclass(frozen=True, slots=True)
class _Step:
    runs: dict[str, tuple[_Run, ...]]
    deviations: dict[str, tuple[float, float]]  # per sum: observed minus expected, variance


def _finding(name: str, run: _Run, score: float) -> Finding:
    """A run as a finding: counts for volume sums, a share or a mean for the others."""
    if name in (SHARE_RISE, SHARE_FALL, SENTIMENT_SLIDE):
        base = max(run.base, 1.0)
        observed, expected, support = run.observed / base, run.expected / base, int(run.base)
    else:
        observed, expected, support = run.observed, run.expected, int(run.observed)
    return Finding(name, observed, expected, math.nan, math.nan, score, support, run.windows)


SUMS = (VOLUME_RAMP, NEGATIVE_RAMP, VOLUME_SILENCE, SHARE_RISE, SHARE_FALL, SENTIMENT_SLIDE)
# Sums whose evidence holds the slow baseline while it builds (sentiment has its own mean).
_HOLDING = (VOLUME_RAMP, NEGATIVE_RAMP, VOLUME_SILENCE, SHARE_RISE, SHARE_FALL)
