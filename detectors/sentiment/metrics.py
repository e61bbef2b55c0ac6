"""Three-class scores: macro-F1, per-class precision and recall, the confusion matrix.

>>> m = Metrics.of([("negative", "negative"), ("negative", "neutral"), ("positive", "positive")])
>>> round(m.macro_f1, 3), m.recall("negative"), m.confusion[("negative", "neutral")]
(0.556, 0.5, 1)
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable
from dataclasses import dataclass

from detectors.sentiment.base import LABELS, UNSCORED


@dataclass(frozen=True)
class Metrics:
    # (true label, predicted label) -> count; predictions may also be "unscored".
    confusion: Counter[tuple[str, str]]

    @classmethod
    def of(cls, pairs: Iterable[tuple[str, str]]) -> Metrics:
        return cls(Counter(pairs))

    @property
    def n(self) -> int:
        return sum(self.confusion.values())

    def precision(self, label: str) -> float:
        predicted = sum(c for (_, p), c in self.confusion.items() if p == label)
        return self.confusion[(label, label)] / predicted if predicted else 0.0

    def recall(self, label: str) -> float:
        actual = sum(c for (t, _), c in self.confusion.items() if t == label)
        return self.confusion[(label, label)] / actual if actual else 0.0

    def f1(self, label: str) -> float:
        p, r = self.precision(label), self.recall(label)
        return 2 * p * r / (p + r) if p + r else 0.0

    @property
    def macro_f1(self) -> float:
        return sum(self.f1(label) for label in LABELS) / len(LABELS)

    @property
    def accuracy(self) -> float:
        return sum(self.confusion[(label, label)] for label in LABELS) / self.n if self.n else 0.0

    def predicted_labels(self) -> tuple[str, ...]:
        unscored = any(p == UNSCORED for _, p in self.confusion)
        return (*LABELS, UNSCORED) if unscored else LABELS
