"""Term bursts: words and phrases a series suddenly says far more often than it used to.

A window's features carry ``terms``, how many of its mentions contain each term (see
`detectors.vocabulary`), next to ``n``, the number of mentions. Per series, the detector keeps
an exponentially decayed count of mentions containing each term and of all mentions, so a
term's baseline rate is "share of mentions that say it". A window then expects
``n * rate`` mentions with the term, and the count it sees is judged with a Poisson tail:
counts, not z-scores, so a sparse series (a few mentions an hour) does not fire on noise.

* A term the series has never said (or no longer tracks) gets a prior rate: ``novel_rate``
  weighted as ``prior_weight`` mentions, raised to the count of the least frequent term that
  had to be dropped (the state keeps only the ``max_terms`` most frequent terms).
* Many terms are tested in each window, so a term's tail probability is multiplied by how many
  distinct terms the window holds (Bonferroni) before it becomes the window's score.
* A term that bursts is learnt only as its expected count, so an outage does not teach the
  baseline that "outage" is normal, and the next outage is as loud as the first. A term that
  bursts in every window for ``max_hold_windows`` (a product launch) becomes the new normal.

The score is the surprise ``-log10 P``, as for the other detectors: 5 means "about 1 in
100,000 windows".

>>> det = TermBurstDetector(warmup=5, min_baseline_mentions=20)
>>> usual = {"invoice": 3, "login": 2, "app": 4}
>>> for _ in range(30):
...     det.learn_one({"n": 10, "terms": usual})
>>> det.score_one({"n": 10, "terms": {"invoice": 4, "app": 3}}) < 1
True
>>> det.score_one({"n": 12, "terms": {"charged twice": 6, "app": 4}}) > 5
True
"""

from __future__ import annotations

import heapq
import json
import math
from collections.abc import Hashable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from river import base

from detectors.count_spike import Finding
from detectors.tails import count_band, nb_upper, poisson_upper, surprise

TERM_BURST = "term_burst"
_RESCALE_AT = 1e100  # stored counts are inflated instead of decayed; rescale before overflow


@dataclass(frozen=True, slots=True)
class TermCount:
    """One term of one window against its baseline: the raw material of "top terms"."""

    term: str
    observed: int  # mentions in the window that contain the term
    expected: float  # what the baseline rate expects for a window of this size
    score: float  # surprise of this term alone, before correcting for many terms


@dataclass(frozen=True, slots=True)
class TermFinding(Finding):
    """A term-burst finding; ``observed`` and ``expected`` count mentions saying ``term``."""

    term: str = ""
    tested: int = 0  # distinct terms in the window, the multiple-testing correction


def encode_top_terms(terms: Sequence[TermCount]) -> str | None:
    """Top terms as stored on an anomaly: JSON ``[[term, observed, expected], ...]``.

    >>> encode_top_terms([TermCount("outage", 23, 0.4123, 30.2)])
    '[["outage", 23, 0.412]]'
    """
    if not terms:
        return None
    return json.dumps([[t.term, t.observed, round(t.expected, 3)] for t in terms])


def decode_top_terms(stored: str | None) -> list[TermCount]:
    """The stored form back; unreadable or missing data is no terms (never an error)."""
    if not stored:
        return []
    try:
        rows = json.loads(stored)
        return [TermCount(str(t), int(k), float(e), math.nan) for t, k, e in rows]
    except (ValueError, TypeError):
        return []


class TermBurstDetector(base.AnomalyDetector):
    """New or rising terms in windowed term counts.

    Parameters
    ----------
    half_life
        Windows after which a mention weighs half as much in a term's baseline.
    warmup
        Windows to learn before any score other than 0 is given.
    min_baseline_mentions
        Fewest mentions (decayed) the baseline must rest on before any score other than 0.
    min_count
        Fewest mentions in a window that must contain a term before it can burst.
    max_terms
        Most terms kept per series (the most frequent, by decayed count); bounds the state.
    novel_rate
        Prior share of mentions that contain a term the series has never said, and the lowest
        share any term is expected at.
    prior_weight
        How many mentions the prior is worth against the series' own history.
    novel_shape
        Shape of the gamma prior on an untracked term's rate; lower tolerates more new words.
    learn_clip_score
        Terms scoring at least this much are learnt as their expected count (held).
    max_hold_windows
        A term held this many bursting windows in a row is accepted as the new normal.
    hold_gap_windows
        Windows without a burst that end a term's hold.
    band
        Two-sided probability mass of the expected band shown in explanations.
    """

    def __init__(
        self,
        half_life: float = 1440.0,
        warmup: int = 60,
        min_baseline_mentions: float = 100.0,
        min_count: int = 3,
        max_terms: int = 300,
        novel_rate: float = 0.002,
        prior_weight: float = 250.0,
        novel_shape: float = 1.0,
        learn_clip_score: float = 5.0,
        max_hold_windows: int = 120,
        hold_gap_windows: int = 30,
        band: float = 0.99,
    ) -> None:
        self.half_life = half_life
        self.warmup = warmup
        self.min_baseline_mentions = min_baseline_mentions
        self.min_count = min_count
        self.max_terms = max_terms
        self.novel_rate = novel_rate
        self.prior_weight = prior_weight
        self.novel_shape = novel_shape
        self.learn_clip_score = learn_clip_score
        self.max_hold_windows = max_hold_windows
        self.hold_gap_windows = hold_gap_windows
        self.band = band
        self._growth = 0.5 ** (-1.0 / half_life)  # 1 / decay per window
        # Counts are stored multiplied by _scale, which grows each window instead of every
        # count shrinking: learning a window costs its own terms, not the whole table.
        self._scale = 1.0
        self._total = 0.0  # decayed mentions, stored units
        self._counts: dict[str, float] = {}  # decayed mentions containing the term
        self._floor = 0.0  # least count kept at the last trim: an untracked term's ceiling
        # Terms held because they burst: (windows held in a row, window index last held).
        self._held: dict[str, tuple[int, int]] = {}
        self._learned = 0

    @classmethod
    def _unit_test_params(cls) -> Any:
        yield {"warmup": 3, "half_life": 10.0, "max_terms": 20}

    @property
    def warmed_up(self) -> bool:
        return (
            self._learned >= self.warmup and self._total / self._scale >= self.min_baseline_mentions
        )

    @property
    def tracked_terms(self) -> int:
        return len(self._counts)

    def learn_one(self, x: dict[Hashable, Any]) -> None:
        n = max(int(x.get("n", 0)), 0)
        terms: Mapping[str, int] = x.get("terms") or {}
        # Judged against the baseline as it was, before this window decays it.
        clip_at = self._clip_limits(n, terms) if self.warmed_up and n and terms else {}
        self._scale *= self._growth
        if self._scale > _RESCALE_AT:
            self._rescale()
        self._learned += 1
        self._total += n * self._scale
        for term, k in terms.items():
            learnt = min(float(k), clip_at.get(term, math.inf), float(n))
            self._counts[term] = self._counts.get(term, 0.0) + learnt * self._scale
        if len(self._counts) > self.max_terms + self.max_terms // 2:
            self._trim()
        if len(self._held) > self.max_terms:
            self._forget_old_holds()

    def score_one(self, x: dict[Hashable, Any]) -> float:
        if not self.warmed_up:
            return 0.0
        return self.assess(x, bands=False)[0].score

    def assess(self, x: dict[Hashable, Any], *, bands: bool = True) -> list[Finding]:
        """The window's strongest term, corrected for the number of terms tested."""
        n = int(x.get("n", 0))
        terms: Mapping[str, int] = x.get("terms") or {}
        tested = len(terms)
        best = TermFinding(TERM_BURST, 0.0, 0.0, math.nan, math.nan, 0.0, n, tested=tested)
        if not self.warmed_up or n <= 0:
            return [best]
        best_p = 1.0
        for term, k in terms.items():
            if k < self.min_count:
                continue
            expected = n * self._rate(term)
            if k <= expected:
                continue
            p = self._tail(term, int(k), expected)
            # On a tie a phrase wins: "charged twice" says more than "charged".
            if (p, " " not in term) < (best_p, " " not in best.term):
                best_p = p
                best = TermFinding(
                    TERM_BURST, float(k), expected, math.nan, math.nan, 0.0, n,
                    term=term, tested=tested,
                )  # fmt: skip
        if not best.term:
            return [best]
        lower = upper = math.nan
        if bands:
            lower, upper = count_band(best.expected, None, self.band)
        score = max(0.0, surprise(min(1.0, best_p * max(tested, 1))))
        return [
            TermFinding(
                TERM_BURST, best.observed, best.expected, lower, upper, score, n,
                term=best.term, tested=tested,
            )
        ]  # fmt: skip

    def top_terms(self, x: dict[Hashable, Any], limit: int = 3) -> list[TermCount]:
        """The terms that rose most in this window against the baseline, phrases first.

        A word is left out when a listed phrase holds it as often ("charged twice" says what
        "charged" and "twice" would). Empty before the baseline has enough history.
        """
        n = int(x.get("n", 0))
        terms: Mapping[str, int] = x.get("terms") or {}
        if not self.warmed_up or n <= 0:
            return []
        risen = []
        for term, k in terms.items():
            expected = n * self._rate(term)
            if k >= 2 and k > expected:
                score = surprise(self._tail(term, int(k), expected))
                risen.append(TermCount(term, int(k), expected, score))
        risen.sort(key=lambda t: (-round(t.score, 6), " " not in t.term, -t.observed, t.term))
        chosen: list[TermCount] = []
        for candidate in risen:
            words = candidate.term.split(" ")
            covered = any(
                " " in c.term
                and c.observed >= 0.8 * candidate.observed
                and (set(words) <= set(c.term.split(" ")))
                for c in chosen
            )
            if not covered:
                chosen.append(candidate)
            if len(chosen) == limit:
                break
        return chosen

    def snapshot(self) -> dict[str, Any]:
        """The learnt state as plain JSON-ready data, for warming a detector after a restart."""
        return {
            "learned": self._learned,
            "total": self._total / self._scale,
            "floor": self._floor / self._scale,
            "counts": {t: round(v / self._scale, 4) for t, v in self._counts.items()},
            "held": {t: [h, self._learned - last] for t, (h, last) in self._held.items()},
        }

    def restore(self, state: Mapping[str, Any]) -> None:
        """Continue from a `snapshot`; the constructor arguments stay this detector's own."""
        self._scale = 1.0
        self._learned = int(state.get("learned", 0))
        self._total = float(state.get("total", 0.0))
        self._floor = float(state.get("floor", 0.0))
        counts = {str(t): float(v) for t, v in dict(state.get("counts", {})).items()}
        kept = self.max_terms + self.max_terms // 2  # the most learn_one keeps between trims
        self._counts = dict(heapq.nlargest(kept, counts.items(), key=lambda kv: kv[1]))
        held = dict(state.get("held", {}))
        self._held = {str(t): (int(h), self._learned - int(ago)) for t, (h, ago) in held.items()}

    def _rate(self, term: str) -> float:
        count = max(self._counts.get(term, 0.0), self._floor) / self._scale
        total = self._total / self._scale
        rate = (count + self.novel_rate * self.prior_weight) / (total + self.prior_weight)
        # No term is expected rarer than novel_rate: bounded state cannot know every rare term
        # of a rich vocabulary, and a word seen once a week is not news when it comes twice.
        return max(rate, self.novel_rate)

    def _tail(self, term: str, k: int, expected: float) -> float:
        """P(a window this size holds at least k mentions of the term).

        A tracked term's rate is known: Poisson. An untracked one's is only bounded, so its rate
        gets a gamma prior (shape ``novel_shape``), which makes the count negative binomial.
        """
        if term in self._counts:
            return poisson_upper(k, expected)
        return nb_upper(k, mean=expected, size=self.novel_shape)

    def _clip_limits(self, n: int, terms: Mapping[str, int]) -> dict[str, float]:
        """What each bursting term may teach: its expected count while it is held.

        A term that keeps bursting window after window for ``max_hold_windows`` is accepted
        as the new normal (a product launch, not an outage); a pause of ``hold_gap_windows``
        without a burst ends the hold, so the next outage is held, and news, again.
        """
        tested = max(len(terms), 1)
        limits = {}
        for term, k in terms.items():
            if k < self.min_count:
                continue
            expected = n * self._rate(term)
            if k <= expected:
                continue
            if surprise(min(1.0, self._tail(term, k, expected) * tested)) < self.learn_clip_score:
                continue
            held, last = self._held.get(term, (0, self._learned))
            if self._learned - last > self.hold_gap_windows:
                held = 0
            self._held[term] = (held + 1, self._learned)
            if held < self.max_hold_windows:
                limits[term] = expected
        return limits

    def _forget_old_holds(self) -> None:
        gone = [
            t
            for t, (_h, last) in self._held.items()
            if self._learned - last > self.hold_gap_windows
        ]
        for term in gone:
            del self._held[term]

    def _trim(self) -> None:
        """Keep the ``max_terms`` most frequent terms; the least of them bounds the rest.

        Trimming only once the table is half as large again gives a newly rising term some
        windows to earn its place before it has to beat terms with a long history.
        """
        ranked = sorted(self._counts.items(), key=lambda kv: kv[1], reverse=True)
        kept = ranked[: self.max_terms]
        self._floor = kept[-1][1]
        self._counts = dict(kept)

    def _rescale(self) -> None:
        self._total /= self._scale
        self._floor /= self._scale
        self._counts = {t: v / self._scale for t, v in self._counts.items()}
        self._scale = 1.0
