"""What teaching changed: a k-fold before/after on the labels just taught.

"Before" is the general scorer (no taught layer, no staff corrections) on every label. "After"
fits the taught layer on the other folds (plus any labels taught earlier, which the install
uses as well) and scores the held-out fold, so no label is scored by a layer that saw it.
Folds are stratified by label and drawn with a fixed seed: the same labels give the same report.
"""

from __future__ import annotations

import random
from collections import defaultdict
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any, Protocol

from detectors.sentiment.base import LABELS, Sentiment
from detectors.sentiment.labels import Taught
from detectors.sentiment.metrics import Metrics

SEED = 17


class TeachableScorer(Protocol):
    def score(self, text: str, lang: str | None = None) -> Sentiment: ...

    def teach(self, examples: Sequence[Taught]) -> None: ...


@dataclass(frozen=True)
class BeforeAfter:
    folds: int
    seed: int
    before: Metrics
    after: Metrics

    @property
    def n(self) -> int:
        return self.before.n


def fold_of(examples: Sequence[Taught], folds: int, seed: int = SEED) -> list[int]:
    """Each example's fold, stratified: every label is spread evenly over the folds.

    >>> fold_of([("a", "negative", None)] * 4 + [("b", "positive", None)] * 2, 2)
    [0, 0, 1, 1, 0, 1]
    """
    rng = random.Random(seed)
    by_label: dict[str, list[int]] = defaultdict(list)
    for index, (_, label, _) in enumerate(examples):
        by_label[label].append(index)
    assigned = [0] * len(examples)
    offset = 0
    for label in sorted(by_label):
        indices = by_label[label]
        rng.shuffle(indices)
        for position, index in enumerate(indices):
            assigned[index] = (offset + position) % folds
        offset += len(indices)  # the next label starts where this one stopped
    return assigned


def cross_validate(
    scorer: TeachableScorer,
    examples: Sequence[Taught],
    *,
    earlier: Sequence[Taught] = (),
    folds: int = 5,
    seed: int = SEED,
    advance: Callable[[int], None] | None = None,
    fitting: Callable[[int, int], None] | None = None,
) -> BeforeAfter | None:
    """Before/after on ``examples``; None when there are too few for two folds.

    ``scorer`` must have no taught layer and no corrections; it is left without a taught layer.
    ``advance`` is called once per text scored (``len(examples) * 2`` in all), ``fitting``
    with (fold, folds) before each fold's layer is fitted.
    """
    folds = min(folds, len(examples))
    if folds < 2:
        return None
    scorer.teach([])
    before = Metrics.of(
        (label, _scored(scorer, text, lang, advance)) for text, label, lang in examples
    )
    assigned = fold_of(examples, folds, seed)
    pairs: list[tuple[str, str]] = []
    for fold in range(folds):
        train = [ex for ex, f in zip(examples, assigned, strict=True) if f != fold]
        if fitting is not None:
            fitting(fold + 1, folds)
        scorer.teach([*earlier, *train])
        pairs.extend(
            (label, _scored(scorer, text, lang, advance))
            for (text, label, lang), f in zip(examples, assigned, strict=True)
            if f == fold
        )
    scorer.teach([])
    return BeforeAfter(folds=folds, seed=seed, before=before, after=Metrics.of(pairs))


def _scored(
    scorer: TeachableScorer, text: str, lang: str | None, advance: Callable[[int], None] | None
) -> str:
    label = scorer.score(text, lang).label
    if advance is not None:
        advance(1)
    return label


def metrics_dict(metrics: Metrics) -> dict[str, Any]:
    support = {
        label: sum(c for (t, _), c in metrics.confusion.items() if t == label) for label in LABELS
    }
    return {
        "macro_f1": round(metrics.macro_f1, 4),
        "negative_recall": round(metrics.recall("negative"), 4),
        "classes": {
            label: {
                "n": support[label],
                "precision": round(metrics.precision(label), 4),
                "recall": round(metrics.recall(label), 4),
                "f1": round(metrics.f1(label), 4),
            }
            for label in LABELS
        },
    }


def report_dict(result: BeforeAfter) -> dict[str, Any]:
    return {
        "folds": result.folds,
        "seed": result.seed,
        "n": result.n,
        "before": metrics_dict(result.before),
        "after": metrics_dict(result.after),
    }


def report_table(result: BeforeAfter) -> list[str]:
    """The before/after as a Markdown table, readable as it is in a terminal."""
    before, after = metrics_dict(result.before), metrics_dict(result.after)
    lines = [
        f"{result.folds}-fold cross-validation on these {result.n:,} labels (seed {result.seed}): "
        "before = the general scorer, after = taught on the other folds",
        "",
        "| class | n | precision before → after | recall before → after | F1 before → after |",
        "|---|---:|---:|---:|---:|",
    ]
    for label in LABELS:
        b, a = before["classes"][label], after["classes"][label]
        cells = [f"{b[k]:.3f} → {a[k]:.3f}" for k in ("precision", "recall", "f1")]
        lines.append(f"| {label} | {b['n']:,} | " + " | ".join(cells) + " |")
    for name, key in (("macro-F1", "macro_f1"), ("negative recall", "negative_recall")):
        change = after[key] - before[key]
        shown = f"**{before[key]:.3f} → {after[key]:.3f}** ({change:+.3f})"
        lines.append(f"| **{name}** | | | | {shown} |")
    return lines
