"""The busiest stretch in weeks: a record detector over several spans, with River's contract.

People who watch mention volume say "this is the busiest two hours we have had in three weeks".
That is what this detector measures. For each span (for example 5 minutes, 30 minutes, 2 hours
and 8 hours of windows) it keeps the total of the latest windows and compares it with every total
of that span it remembers (``memory`` windows back). The score is how far back one has to go to
find a busier stretch: ``log10(1 + windows beaten)``. Under exchangeable traffic a total that
beats the ``k`` totals before it has probability ``1 / (k + 1)``, so the score reads like the
count detectors' surprise ("about 1 in N windows"). A total that beats everything remembered
scores ``full_record_score``.

It needs no distribution and no dispersion estimate, so it stays calibrated on bursty series
where tail probabilities are not: ordinary bursts set the bar that a crisis has to clear. On
NAB's realTweets it is what `crisismon eval nab` runs (see docs/nab.md).

``direction="both"`` (or ``"down"``) also keeps the lowest totals: a total lower than every one
remembered is a record low ("the quietest eight hours in three weeks"), scored the same way.
Live volume runs upward only (drops have their own detector); the NAB evaluation runs both,
since NAB's other corpora label dips as well as spikes.

Totals of a span are compared only with totals that do not overlap the current one, so a burst
is not measured against its own first minutes. Old totals are kept as per-bucket maxima
(``bucket`` windows each), so the state is a few hundred numbers per series; whether a total
beats everything remembered is exact, how far back it reaches is rounded to a bucket.

>>> det = RecordDetector(spans=(1, 3), memory=100, bucket=10, min_count=1, warmup=5)
>>> for n in [4, 6, 5, 7, 5, 6, 4, 5, 6, 5] * 3:
...     det.learn_one({"n": n})
>>> det.score_one({"n": 6}) < 1.0
True
>>> det.score_one({"n": 30}) == det.full_record_score
True
>>> finding = det.assess({"n": 30})
>>> finding.observed, finding.expected, finding.windows
(30.0, 7.0, 1)
"""

from __future__ import annotations

import math
from collections import deque
from collections.abc import Hashable, Sequence
from dataclasses import dataclass
from typing import Any

from river import base

from detectors.findings import VOLUME_RECORD, Finding


@dataclass(frozen=True, slots=True)
class RecordFinding(Finding):
    """A record: ``observed`` is the span's total, ``expected`` and ``upper`` the previous high,
    ``windows`` the span, and ``reach`` how many windows of history it beats (for a full record,
    all it remembers: less than the memory while the series is young)."""

    reach: int = 0
    low: bool = False  # a record low: ``expected`` is then the previous low


class _SpanHistory:
    """Totals of one span: the ones still overlapping the current span, then bucket maxima."""

    def __init__(self, span: int, memory: int, bucket: int) -> None:
        self.span = span
        self.bucket = bucket
        self.pending: deque[float] = deque()
        self.buckets: deque[float] = deque(maxlen=max(memory // bucket, 1))
        self.open_max = -math.inf
        self.open_len = 0

    def push(self, total: float) -> None:
        self.pending.append(total)
        if len(self.pending) < self.span:
            return
        older = self.pending.popleft()
        self.open_max = max(self.open_max, older)
        self.open_len += 1
        if self.open_len == self.bucket:
            self.buckets.append(self.open_max)
            self.open_max, self.open_len = -math.inf, 0

    @property
    def remembered(self) -> int:
        return len(self.buckets) * self.bucket + self.open_len

    def previous_high(self) -> float:
        return max(self.open_max, max(self.buckets, default=-math.inf))

    def windows_beaten(self, total: float) -> int | None:
        """How many remembered totals, newest first, this one beats before a busier one;
        None when it beats them all."""
        if self.open_len and self.open_max >= total:
            return 0
        beaten = self.open_len
        for high in reversed(self.buckets):
            if high >= total:
                return beaten
            beaten += self.bucket
        return None


_DIRECTIONS = ("up", "down", "both")


class RecordDetector(base.AnomalyDetector):
    """Mention volume against its own busiest stretches over a long memory.

    Parameters
    ----------
    spans
        Lengths, in windows, of the stretches whose totals are compared (each on its own).
    memory
        How many windows back the totals are remembered.
    bucket
        Old totals are kept as the maximum of each ``bucket`` consecutive ones.
    min_count
        Fewest mentions a stretch needs before it can be a record high at all: on a sparse
        series the "busiest hour in weeks" may be three mentions. ``-math.inf`` for values that
        are not counts (any scale, negatives).
    warmup
        Windows to learn before any score other than 0 is given.
    direction
        ``"up"`` (record highs), ``"down"`` (record lows) or ``"both"``.
    low_margin, high_margin
        How far below the previous low a record low must fall (above the previous high a
        record high must rise), as a share of the remembered range (previous high - previous
        low). Counts set marginal lows on every quiet night, and a measurement such as a CPU
        share sets a record by 0.001 now and then; a margin keeps records to real moves, on
        any scale and offset. Highs of counts need none: they rise by whole mentions, and
        ``min_count`` keeps sparse series out.
    """

    def __init__(
        self,
        spans: Sequence[int] = (5, 30, 120, 480),
        memory: int = 30240,
        bucket: int = 360,
        min_count: float = 5,
        warmup: int = 60,
        direction: str = "up",
        low_margin: float = 0.0,
        high_margin: float = 0.0,
    ) -> None:
        if direction not in _DIRECTIONS:
            raise ValueError(f"direction must be one of {', '.join(_DIRECTIONS)}: {direction!r}")
        self.spans = spans
        self.memory = memory
        self.bucket = bucket
        self.min_count = min_count
        self.warmup = warmup
        self.direction = direction
        self.low_margin = low_margin
        self.high_margin = high_margin
        self._down = direction in ("down", "both")
        self._up = direction in ("up", "both")
        self._histories = [_SpanHistory(span, memory, bucket) for span in spans]
        # Lows are kept as highs of the negated totals: the same exact-record test, mirrored.
        # A margin on highs needs them too, for the range.
        self._lows = (
            [_SpanHistory(span, memory, bucket) for span in spans]
            if self._down or high_margin > 0
            else []
        )
        self._recent: deque[float] = deque(maxlen=max(max(spans, default=1) - 1, 1))
        self._sums = [0.0 for _ in spans]  # each span's total of the windows before this one
        self._learned = 0
        self._streak = False  # the latest learnt window was a full record
        # Whether the current streak has been reported (by the live pipeline): it is reported
        # once, but a streak that starts before its window alerts is reported when it does.
        self.streak_reported = False
        self._scored: tuple[int, float, float] | None = None  # (learned, n, score) just scored

    @classmethod
    def _unit_test_params(cls) -> Any:
        yield {"spans": (1, 3), "memory": 100, "bucket": 10, "warmup": 3}
        yield {
            "spans": (1, 3),
            "memory": 100,
            "bucket": 10,
            "warmup": 3,
            "direction": "both",
            "low_margin": 0.1,
            "high_margin": 0.1,
        }

    @property
    def full_record_score(self) -> float:
        """The score of a total that beats every remembered total of its span."""
        return math.log10(1 + self.memory)

    @property
    def warmed_up(self) -> bool:
        return self._learned >= self.warmup

    def _total(self, index: int, n: float) -> float:
        return n + self._sums[index]

    @property
    def in_streak(self) -> bool:
        """Whether the latest learnt window was already a full record: while a burst sits inside
        a longer span, every later window's total of that span is a record too."""
        return self._streak

    def learn_one(self, x: dict[Hashable, Any]) -> None:
        n = float(x.get("n", 0))
        scored = self._scored
        fresh = scored is not None and scored[:2] == (self._learned, n)
        score = scored[2] if fresh and scored is not None else self.score_one(x)
        self._streak = score >= self.full_record_score
        if not self._streak:
            self.streak_reported = False
        for index, history in enumerate(self._histories):
            history.push(self._total(index, n))
            if self._lows:
                self._lows[index].push(-self._total(index, n))
            if history.span > 1:
                # Slide the span: the newest window joins, the oldest of the span - 1 leaves.
                leaving = (
                    self._recent[-(history.span - 1)]
                    if len(self._recent) >= history.span - 1
                    else 0.0
                )
                self._sums[index] += n - leaving
        self._recent.append(n)
        self._learned += 1

    def score_one(self, x: dict[Hashable, Any]) -> float:
        return self.assess(x).score

    def assess(self, x: dict[Hashable, Any]) -> RecordFinding:
        """The span whose total reaches furthest back: observed total, previous high, score."""
        n = float(x.get("n", 0))
        best = RecordFinding(VOLUME_RECORD, n, math.nan, math.nan, math.nan, 0.0, _support(n))
        if not self.warmed_up:
            return best
        for index, history in enumerate(self._histories):
            if not history.remembered:
                continue
            total = self._total(index, n)
            high = history.previous_high()
            spread = high + self._lows[index].previous_high() if self._lows else 0.0
            if self._up and total >= self.min_count:
                beaten = history.windows_beaten(total - self.high_margin * spread)
                score = self._score(beaten)
                if score > best.score:
                    # The usual range is every remembered total: from nothing to the previous
                    # high.
                    best = RecordFinding(
                        VOLUME_RECORD,
                        total,
                        high,
                        0.0,
                        high,
                        score,
                        _support(total),
                        history.span,
                        self._reach(history, beaten),
                    )
            if self._down:
                lows = self._lows[index]
                low = -lows.previous_high()
                beaten = lows.windows_beaten(-(total + self.low_margin * spread))
                score = self._score(beaten)
                if score > best.score:
                    best = RecordFinding(
                        VOLUME_RECORD,
                        total,
                        low,
                        low,
                        high,
                        score,
                        _support(total),
                        history.span,
                        self._reach(lows, beaten),
                        low=True,
                    )
        self._scored = (self._learned, n, best.score)
        return best

    def _score(self, beaten: int | None) -> float:
        return self.full_record_score if beaten is None else math.log10(1 + beaten)

    def _reach(self, history: _SpanHistory, beaten: int | None) -> int:
        return min(history.remembered, self.memory) if beaten is None else beaten

    @staticmethod
    def _span_state(h: _SpanHistory) -> dict[str, Any]:
        return {
            "span": h.span,
            "pending": list(h.pending),
            "buckets": list(h.buckets),
            "open_max": h.open_max if h.open_len else None,
            "open_len": h.open_len,
        }

    @staticmethod
    def _restore_spans(histories: list[_SpanHistory], states: list[dict[str, Any]]) -> None:
        saved = {int(s["span"]): s for s in states}
        for history in histories:
            span_state = saved.get(history.span)
            if span_state is None:
                continue
            history.pending = deque(float(t) for t in span_state["pending"])
            history.buckets.clear()
            history.buckets.extend(float(t) for t in span_state["buckets"])
            history.open_len = int(span_state["open_len"])
            open_max = span_state["open_max"]
            history.open_max = -math.inf if open_max is None else float(open_max)

    def snapshot(self) -> dict[str, Any]:
        """Everything learnt, as JSON-ready data: weeks of totals are more than a restart
        replays."""
        return {
            "learned": self._learned,
            "streak": self._streak,
            "streak_reported": self.streak_reported,
            "recent": list(self._recent),
            "spans": [self._span_state(h) for h in self._histories],
            # Negated totals (see __init__); only when lows are watched.
            **({"low_spans": [self._span_state(h) for h in self._lows]} if self._lows else {}),
        }

    def restore(self, state: dict[str, Any]) -> None:
        """Continue from a snapshot; a span the snapshot does not know starts empty."""
        self._learned = int(state["learned"])
        self._streak = bool(state.get("streak", False))
        self.streak_reported = bool(state.get("streak_reported", False))
        self._scored = None
        self._recent.clear()
        self._recent.extend(float(n) for n in state["recent"])
        recent = list(self._recent)
        self._sums = [sum(recent[-(span - 1) :]) if span > 1 else 0.0 for span in self.spans]
        self._restore_spans(self._histories, state["spans"])
        self._restore_spans(self._lows, state.get("low_spans", []))


def _support(total: float) -> int:
    """The mentions a total rests on; values that are not counts (NAB) can be below zero."""
    return max(int(total), 0)
