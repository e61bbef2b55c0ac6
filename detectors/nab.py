"""A scorer for the Numenta Anomaly Benchmark (NAB), written from its published method.

NAB scores detections against labelled anomaly *windows*:

* the first detection inside a window earns ``tp_weight`` scaled by a sigmoid of how early in the
  window it came (earlier is better); later detections in the same window change nothing;
* a window without any detection costs ``fn_weight``;
* a detection outside every window costs ``fp_weight`` scaled by the same sigmoid of how far it
  lies past the end of the previous window (a detection just after a window costs little, one
  long after, or before the first window, costs the full weight);
* rows of the probationary period at the start of each file (min(15 % of rows, 750)) are not
  scored, though a detector sees them.

The raw score is normalised so that the null detector (never fires) scores 0 and a perfect one
(fires on the first row of every window and nowhere else) scores 100.

>>> rows = 1000
>>> windows = [(800, 849)]
>>> score_file([], windows, rows, STANDARD).raw == -1.0
True
>>> round(score_file([800], windows, rows, STANDARD).raw, 3)
1.0
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field


@dataclass(frozen=True, slots=True)
class Profile:
    name: str
    tp_weight: float
    fp_weight: float
    fn_weight: float


STANDARD = Profile("standard", 1.0, 0.11, 1.0)
REWARD_LOW_FP = Profile("reward_low_FP_rate", 1.0, 0.22, 1.0)
REWARD_LOW_FN = Profile("reward_low_FN_rate", 1.0, 0.11, 2.0)
PROFILES = (STANDARD, REWARD_LOW_FP, REWARD_LOW_FN)


def scaled_sigmoid(relative_position: float) -> float:
    """NAB's reward curve: about +1 at the start of a window, 0 at its end, -1 far past it.

    >>> round(scaled_sigmoid(-1.0), 4), round(scaled_sigmoid(0.0), 4), scaled_sigmoid(4.0)
    (0.9866, 0.0, -1.0)
    """
    if relative_position > 3.0:
        return -1.0
    return 2.0 / (1.0 + math.exp(5.0 * relative_position)) - 1.0


def probationary_rows(rows: int, percent: float = 0.15) -> int:
    """Rows at the start of a file that are not scored.

    >>> probationary_rows(15_902), probationary_rows(1_000)
    (750, 150)
    """
    return int(min(math.floor(percent * rows), percent * 5000))


@dataclass(slots=True)
class FileScore:
    raw: float
    true_positives: int = 0
    false_positives: int = 0
    false_negatives: int = 0
    first_hits: list[int] = field(default_factory=list)


def score_file(
    detections: Iterable[int],
    windows: Sequence[tuple[int, int]],
    rows: int,
    profile: Profile,
) -> FileScore:
    """Score detections (row indices) against windows (inclusive row index pairs) in one file."""
    max_tp = scaled_sigmoid(-1.0)
    probation = probationary_rows(rows)
    hits = sorted({d for d in detections if probation <= d < rows})
    ordered = sorted(windows)
    best: dict[int, float] = {}
    score = FileScore(raw=0.0)
    for row in hits:
        inside = next((k for k, (lo, hi) in enumerate(ordered) if lo <= row <= hi), None)
        if inside is not None:
            lo, hi = ordered[inside]
            width = hi - lo + 1
            position = -(hi - row + 1) / width
            value = scaled_sigmoid(position) * profile.tp_weight / max_tp
            if inside not in best:
                score.first_hits.append(row)
            best[inside] = max(best.get(inside, -math.inf), value)
            continue
        previous = [(lo, hi) for lo, hi in ordered if hi < row]
        if previous:
            lo, hi = previous[-1]
            width = hi - lo + 1
            past = abs(hi - row) / float(width - 1)
        else:
            past = 3.0
        score.raw += scaled_sigmoid(past) * profile.fp_weight
        score.false_positives += 1
    for k in range(len(ordered)):
        if k in best:
            score.raw += best[k]
            score.true_positives += 1
        else:
            score.raw -= profile.fn_weight
            score.false_negatives += 1
    return score


@dataclass(frozen=True, slots=True)
class CorpusScore:
    profile: Profile
    raw: float
    null: float
    perfect: float
    true_positives: int
    false_positives: int
    false_negatives: int

    @property
    def normalised(self) -> float:
        """0 for the null detector, 100 for a perfect one; NaN when there is no window to find
        (then the null and the perfect detector score alike)."""
        if self.perfect == self.null:
            return math.nan
        return 100.0 * (self.raw - self.null) / (self.perfect - self.null)


def score_corpus(
    files: Iterable[tuple[Sequence[int], Sequence[tuple[int, int]], int]],
    profile: Profile,
) -> CorpusScore:
    """Sum raw, null and perfect scores over (detections, windows, rows) per file."""
    raw = null = perfect = 0.0
    tp = fp = fn = 0
    for detections, windows, rows in files:
        result = score_file(detections, windows, rows, profile)
        raw += result.raw
        tp, fp, fn = (
            tp + result.true_positives,
            fp + result.false_positives,
            fn + result.false_negatives,
        )
        null += score_file([], windows, rows, profile).raw
        perfect += score_file([lo for lo, _ in windows], windows, rows, profile).raw
    return CorpusScore(profile, raw, null, perfect, tp, fp, fn)
