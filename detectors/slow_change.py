"""Slow, partial and silent crises: evidence that builds up over hours (docs/detection.md).

Beside the spike detector, each series keeps a slow baseline (a one-day level and its own
hour-of-week profiles) and CUSUMs of log-likelihood ratios (Page, 1954) for "the rate, or the
odds of a share, changed by a factor r": ``volume_ramp`` (Poisson), ``negative_ramp``
(negatives among the series' own mentions), ``share_rise``/``share_fall`` (the series' share
of ``global``, ``x["parent_n"]``) and ``sentiment_slide``; ``volume_silence`` comes from
`detectors.silence`. Evidence is in nats and scored in base 10, so it is graded against the
usual alert score; it is divided by the series' over-dispersion, fades, and holds the baseline
while it builds, so a crisis cannot become normal before someone is paged.

>>> from datetime import UTC, datetime, timedelta
>>> det = SlowChangeDetector(warmup=60, half_life=240)
>>> t0 = datetime(2026, 1, 5, tzinfo=UTC)
>>> for i in range(600):
...     det.learn_one({"start": t0 + timedelta(minutes=i), "n": 3 + i % 2, "n_negative": 1,
...                    "sum_compound": 0.5, "parent_n": 20})
>>> x = {"start": t0 + timedelta(minutes=600), "n": 9, "n_negative": 6, "sum_compound": -3.0,
...      "parent_n": 26}
>>> for i in range(40):
...     found = {f.metric: round(f.score, 1) for f in det.assess(x)}
...     det.learn_one(x)
>>> found["volume_ramp"] >= 5 and found["share_rise"] >= 5
True
"""

from __future__ import annotations

import math
from collections.abc import Hashable
from dataclasses import replace
from typing import Any

from detectors.cusum import ZERO, Run
from detectors.ewstats import event_seconds
from detectors.findings import (
    NEGATIVE_RAMP,
    SENTIMENT_SLIDE,
    SHARE_FALL,
    SHARE_RISE,
    VOLUME_RAMP,
    VOLUME_SILENCE,
    Finding,
)
from detectors.slow_state import LN10, SlowChangeState
from detectors.slow_sums import GROUPS, SUMS, Step, binomial_runs, run_finding, usual_share

# A sum counts as still up until it falls below this fraction of the alert score.
_REARM = 0.6


# Windows an hour of the week must have been learnt in before a fall is judged there: most of
# one earlier day's hour (the decayed sums of a fortnight's half-life lose little in a week).
_KNOWN_HOUR = 30.0


class SlowChangeDetector(SlowChangeState):
    """CUSUMs against a slow seasonal baseline; see the module docstring.

    Parameters (set from ``SlowSettings``, commented in config/detection.yaml): ``half_life``
    and ``warmup`` of the slow baseline in windows; ``ratios`` tested for rises and
    ``silence_ratio`` for falls; ``sentiment_shift`` per mention against ``compound_spread``;
    ``min_excess`` mentions a run needs; ``alert_evidence`` (log10) at which a run alerts;
    ``repeat_windows`` between reports of a run that stays up; ``max_hold_windows`` a baseline
    may hold; ``calm_rise_penalty`` for rises without more complaints; ``evidence_half_life``;
    ``share_prior`` parent mentions per hour slot of the share profile.
    """

    def _factor(self, x: dict[Hashable, Any]) -> float:
        start = x.get("start")
        if start is None:
            return 1.0
        return min(max(self._season.factor(event_seconds(start)), 0.02), 50.0)

    def _evidence(self, x: dict[Hashable, Any], factor: float) -> Step:
        """Every sum after this window, and what it adds to each dispersion; changes nothing."""
        n = float(x.get("n", 0))
        negative = float(min(x.get("n_negative", 0), n))
        runs = dict(self._runs)
        deviations: dict[str, tuple[float, float]] = {}
        if not self._level.count:
            return Step(runs, deviations)
        if self._learned * 2 < self.warmup:
            # No evidence before the baseline (and the day profile it rides on) is known:
            # a first night against a first-afternoon level is not a silence. The wander
            # is measured from the second half of the warm-up on.
            return Step(runs, {})
        expected = max(self._level.get() * factor, 1e-3)
        # A fall to silence needs a series that usually speaks at any hour, not one that
        # is heard only in bursts (topic:outage after an outage): its level must fill the
        # shortest span with at least half the mentions a silence needs.
        speaks = self._level.get() * self._silence.spans[0] >= self.min_excess / 2
        step_silence = self._silence.assess(n, expected) if speaks else None
        for name in (VOLUME_RAMP,):
            phi = self._dispersion[name].get()
            runs[name] = tuple(
                run.advanced(
                    (n * math.log(r) - expected * (r - 1.0)) / phi, n, expected, 0.0, self._limits
                )
                for r, run in zip(self._ratios_of(name), runs[name], strict=True)
            )
            deviations[name] = (n - expected, expected)
        start = x.get("start")
        if n > 0 and self._negative.count:
            # Negatives among the series' own mentions: a busy hour of ordinary traffic keeps
            # its usual share of complaints, a crisis does not.
            usual = usual_share(self._negative_hours, self._negative, start)
            self._binomial(runs, deviations, (NEGATIVE_RAMP,), negative, n, usual)
        parent = x.get("parent_n")
        if parent and self._share.count:
            usual = usual_share(self._share_hours, self._share, start)
            self._binomial(
                runs, deviations, (SHARE_RISE, SHARE_FALL), min(n, parent), parent, usual
            )
        if n > 0 and self._compound.count:
            total = float(x.get("sum_compound", 0.0))
            baseline, shift = self._compound.get(), self.sentiment_shift
            variance = self.compound_spread**2
            phi = self._dispersion[SENTIMENT_SLIDE].get()
            # Gaussian CUSUM for a fall of ``shift`` per mention, over the window's n mentions.
            llr = (shift * (n * baseline - total) - n * shift * shift / 2.0) / variance
            (run,) = runs[SENTIMENT_SLIDE]
            runs[SENTIMENT_SLIDE] = (run.advanced(llr / phi, total, n * baseline, n, self._limits),)
            deviations[SENTIMENT_SLIDE] = (n * baseline - total, n * variance)
        for name in SUMS:
            if runs[name] is self._runs[name]:
                # No mentions to judge this window (a quiet minute, an empty parent): the
                # evidence still fades, or a crisis on a quiet topic would page for days.
                runs[name] = tuple(
                    run.advanced(0.0, 0.0, 0.0, 0.0, self._limits) for run in runs[name]
                )
        warm = self.warmed_up
        return Step(runs if warm else dict(self._runs), deviations, step_silence, expected)

    def _binomial(
        self,
        runs: dict[str, tuple[Run, ...]],
        deviations: dict[str, tuple[float, float]],
        names: tuple[str, ...],
        inside: float,
        total: float,
        usual: float,
    ) -> None:
        for name in names:
            phi = self._dispersion[name].get()
            ratios = self._ratios_of(name)
            runs[name] = binomial_runs(runs[name], ratios, phi, inside, total, usual, self._limits)
            deviations[name] = (inside - total * usual, total * usual * (1.0 - usual))

    def learn_one(self, x: dict[Hashable, Any]) -> None:
        """Add the window's evidence to every sum, then learn what is not holding.

        Each baseline holds (learns nothing) while its own sums build evidence, so a crisis
        cannot become normal before it is paged; a change that lasts ``max_hold_windows`` is
        accepted as the new normal, and its sums start again from zero.
        """
        factor = self._factor(x)
        cached = self._judged if self._judged_x is x else None
        step = cached if cached is not None else self._evidence(x, factor)
        self._judged_x, self._judged = None, None
        self._runs = step.runs
        for name, (_run, score) in self._scores(step).items():
            if name == VOLUME_SILENCE:
                continue
            # With hysteresis: a sum that wavers around the alert score is one crossing, not
            # a new page each time; it must fall well below before it can cross again.
            if score >= self.alert_evidence or (
                self._above[name] and score >= _REARM * self.alert_evidence
            ):
                self._above[name] += 1
            else:
                self._above[name] = 0
        silent = step.silence.score if step.silence is not None else 0.0
        self._above[VOLUME_SILENCE] = (
            self._above[VOLUME_SILENCE] + 1 if silent >= self.alert_evidence else 0
        )
        holding = {group: self._holds(group, sums) for group, sums in GROUPS.items()}
        holding["volume"] = holding["volume"] or (
            self.warmed_up and silent >= self.alert_evidence / 3
        )
        if step.expected > 0:
            self._silence.learn(float(x.get("n", 0)), step.expected, measure=not holding["volume"])
        for group, sums in GROUPS.items():
            for name in sums:
                if name in step.deviations:
                    self._dispersion[name].add(*step.deviations[name])
                self._dispersion[name].close_block(learn=not holding[group])
        n = float(x.get("n", 0))
        start = x.get("start")
        if not holding["volume"]:
            # Winsorised: an outage's hour must not lift the slow level (and then make the
            # quiet hours after it look like a silence).
            expected = self._level.get() * factor if self._level.count else n
            typical = min(n, max(2.0 * expected, expected + 3.0 * math.sqrt(expected)) + 1.0)
            self._level.update(typical / factor)
            if start is not None:
                self._season.update(event_seconds(start), typical, 1.0)
        if n > 0 and not holding["negative"]:
            negative = float(min(x.get("n_negative", 0), n))
            self._negative.update(negative, n)
            if start is not None:
                self._negative_hours.update(event_seconds(start), negative, n)
        if n > 0 and not holding["sentiment"]:
            self._compound.update(float(x.get("sum_compound", 0.0)) / n)
        parent = x.get("parent_n")
        if parent and not holding["share"]:
            inside = min(n, float(parent))
            self._share.update(inside, float(parent))
            if start is not None:
                self._share_hours.update(event_seconds(start), inside, float(parent))
        self._learned += 1

    def _holds(self, group: str, sums: tuple[str, ...]) -> bool:
        """Whether this group's baseline holds for this window (evidence at a third of the
        alert score), counting how long it has held; past the limit the change is accepted."""
        if not self.warmed_up:
            return False
        threshold = self.alert_evidence * LN10 / 3.0
        if not any(run.evidence >= threshold for name in sums for run in self._runs[name]):
            self._held[group] = 0
            return False
        self._held[group] += 1
        if self._held[group] <= self.max_hold_windows:
            return True
        for name in sums:  # the new normal: learn it, and judge from it afresh
            self._runs[name] = tuple(ZERO for _ in self._runs[name])
            self._above[name] = 0
        self._held[group] = 0
        return False

    def assess(self, x: dict[Hashable, Any]) -> list[Finding]:
        """A finding per sum that has evidence after this window, without learning it.

        A sum that stays above the alert score is reported at full strength when it crosses
        it and then every ``repeat_windows`` windows (enough to keep its incident open); in
        between its score is shown just below the alert score, so a day-long crisis is one
        incident with a few dozen anomalies rather than one per minute.
        """
        if not self.warmed_up:
            return []
        step = self._evidence(x, self._factor(x))
        # Judged, then learnt (as closing and backtests do): learning reuses this step.
        self._judged_x, self._judged = x, step
        findings = []
        known_hour = self._known_hour(x)
        for name, (run, score) in self._scores(step).items():
            if run.windows == 0 or not self._enough(name, run):
                continue
            if name == SHARE_FALL and not known_hour:
                continue
            above = self._above[name]
            # Still up: again every repeat_windows, enough to keep its incident open (evidence
            # fades with a two-hour half-life, so a crisis that is over stops within the hour).
            if score >= self.alert_evidence and above and above % self.repeat_windows:
                score = math.nextafter(self.alert_evidence, 0.0)
            findings.append(run_finding(name, run, score, self.compound_spread))
        if step.silence is not None and known_hour:
            silence = step.silence
            if (
                silence.score >= self.alert_evidence
                and self._above[VOLUME_SILENCE] % self.repeat_windows
            ):
                silence = replace(silence, score=math.nextafter(self.alert_evidence, 0.0))
            findings.append(silence)
        return findings

    def _known_hour(self, x: dict[Hashable, Any]) -> bool:
        """Whether this hour of the week was seen on at least one earlier day: the first
        Saturday morning of a ticket queue is quiet, and that is no broken form."""
        start = x.get("start")
        if start is None:
            return False
        seconds = event_seconds(start)
        # Not counting the windows of this same hour today (up to 60 of them).
        today = (seconds % 3600) / 60.0 + 1.0
        return self._season.seen(seconds) - today >= _KNOWN_HOUR

    def _scores(self, step: Step) -> dict[str, tuple[Run, float]]:
        """Each sum's strongest run and its score. A rise in volume, or in a slice's share,
        that comes without a rise in negative mentions is usually busy traffic (a campaign,
        one region's evening, a news cycle), so it needs ``calm_rise_penalty`` more to alert;
        a crisis that people complain about carries its negatives with it."""
        best = {name: max(step.runs[name], key=lambda r: r.evidence) for name in SUMS}
        sour = best[NEGATIVE_RAMP].evidence >= self.alert_evidence * LN10 / 3.0
        scores = {}
        for name, run in best.items():
            score = run.evidence / LN10
            if name == NEGATIVE_RAMP and self.combine_slice:
                # Complaints rising inside a slice that also grows against its parent: the two
                # tests count different things (negatives among the slice's mentions, the
                # slice among all), so their evidence adds up.
                score += best[SHARE_RISE].evidence / LN10
            if name in (VOLUME_RAMP, SHARE_RISE) and not sour:
                score = max(score - self.calm_rise_penalty, 0.0)
            scores[name] = (run, score)
        return scores

    def _enough(self, name: str, run: Run) -> bool:
        """A run rests on enough mentions: ``min_excess`` more (or fewer) than expected."""
        if name == SENTIMENT_SLIDE:
            return run.base >= 3 * self.min_excess
        return abs(run.observed - run.expected) >= self.min_excess
