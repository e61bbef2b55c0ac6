"""Leave one domain out: train the learned parts on three of VADER's sets, test on the fourth.

Every fold scores the held-out set with plain VADER, with the rule layers alone, and with the
full default scorer (language detection included), whose model never saw the held-out set.
Our own customer-service sentences are training data in every fold; an optional labelled
file (``extra``) is tested with the model trained on all four sets.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass

from detectors.sentiment.base import LABELS, Scorer
from detectors.sentiment.metrics import Metrics
from detectors.sentiment.model import CorrectionModel
from detectors.sentiment.scorer import CustomerServiceScorer, RuleScorer
from detectors.sentiment.training import (
    CUSTOMER_SERVICE_TRAIN,
    Example,
    Featurised,
    Recipe,
    featurise,
    fit,
    load_labelled_csv,
)
from detectors.sentiment.vader import VaderScorer

SCORERS = ("vader", "rules", "ours")
Advance = Callable[[int], None]


@dataclass(frozen=True)
class Fold:
    held_out: str
    trained_on: tuple[str, ...]
    results: dict[str, Metrics]  # by scorer name
    # Our labelled customer-service sentences, training data in every fold.
    customer_service_sentences: int = 0


def evaluate(
    sets: dict[str, list[Example]],
    rules: RuleScorer,
    *,
    max_steps: int = 20,
    extra: Sequence[Example] = (),
    extra_name: str = "customer-service",
    recipe: Recipe = Recipe(),
    advance: Advance | None = None,
) -> list[Fold]:
    cs_train = load_labelled_csv(CUSTOMER_SERVICE_TRAIN)
    featurised: dict[str, Featurised] = {
        domain: featurise(rules, examples, advance) for domain, examples in sets.items()
    }
    cs_features = featurise(rules, cs_train, advance)
    vader = VaderScorer()
    folds: list[Fold] = []
    plans: list[tuple[str, list[Example], tuple[str, ...]]] = [
        (held_out, sets[held_out], tuple(d for d in sets if d != held_out)) for held_out in sets
    ]
    if extra:
        plans.append((extra_name, list(extra), tuple(sets)))
    for held_out, test, trained_on in plans:
        data = [row for domain in trained_on for row in featurised[domain]] + cs_features
        model = fit(data, recipe, advance)
        ours = CustomerServiceScorer(rules, model, max_steps=max_steps)
        results = {
            "vader": _score(vader, test, advance),
            "rules": _score(rules, test, advance),
            "ours": _score(ours, test, advance),
        }
        folds.append(Fold(held_out, trained_on, results, len(cs_train)))
    return folds


def _score(scorer: Scorer, test: Sequence[Example], advance: Advance | None) -> Metrics:
    pairs = []
    for example in test:
        pairs.append((example.label, scorer.score(example.text).label))
        if advance is not None:
            advance(1)
    return Metrics.of(pairs)


def train_final(
    sets: dict[str, list[Example]],
    rules: RuleScorer,
    *,
    recipe: Recipe = Recipe(),
    advance: Advance | None = None,
) -> CorrectionModel:
    """The shipped model: all of VADER's sets plus our customer-service sentences."""
    cs_train = load_labelled_csv(CUSTOMER_SERVICE_TRAIN)
    data = [row for examples in sets.values() for row in featurise(rules, examples, advance)]
    data += featurise(rules, cs_train, advance)
    model = fit(data, recipe, advance)
    model.metadata = {
        "trained_on": {
            **{f"vader:{d}": len(examples) for d, examples in sets.items()},
            "crisismon:customer_service_train": len(cs_train),
        },
        "recipe": {k: getattr(recipe, k) for k in recipe.__dataclass_fields__},
        "labels": "mean rating >= +0.5 positive, <= -0.5 negative, else neutral",
    }
    return model


def render(folds: Sequence[Fold]) -> str:
    """The evaluation as Markdown: a summary table, then per-class figures and confusions."""
    lines = [
        "| held-out set | n | VADER macro-F1 | rules only | ours | ours − VADER |"
        " negative recall (VADER → ours) |",
        "|---|---:|---:|---:|---:|---:|---:|",
    ]
    for fold in folds:
        v, r, o = (fold.results[name] for name in SCORERS)
        lines.append(
            f"| {fold.held_out} | {o.n:,} | {v.macro_f1:.3f} | {r.macro_f1:.3f} | "
            f"**{o.macro_f1:.3f}** | {o.macro_f1 - v.macro_f1:+.3f} | "
            f"{v.recall('negative'):.3f} → {o.recall('negative'):.3f} |"
        )
    for fold in folds:
        trained = f"{', '.join(fold.trained_on)} + our {fold.customer_service_sentences} sentences"
        lines += ["", f"**{fold.held_out}** (trained on {trained})", ""]
        lines += _per_class(fold)
        lines += ["", *_confusions(fold)]
    return "\n".join(lines)


def _per_class(fold: Fold) -> list[str]:
    lines = ["| class | VADER precision | VADER recall | ours precision | ours recall |"]
    lines.append("|---|---:|---:|---:|---:|")
    v, o = fold.results["vader"], fold.results["ours"]
    for label in LABELS:
        lines.append(
            f"| {label} | {v.precision(label):.3f} | {v.recall(label):.3f} | "
            f"{o.precision(label):.3f} | {o.recall(label):.3f} |"
        )
    return lines


def _confusions(fold: Fold) -> list[str]:
    v, o = fold.results["vader"], fold.results["ours"]
    columns = tuple(dict.fromkeys(v.predicted_labels() + o.predicted_labels()))
    head = " | ".join(f"{c[:3]}" for c in columns)
    lines = [f"| true ↓ predicted → | VADER: {head} | ours: {head} |", "|---|---|---|"]
    for label in LABELS:
        vs = " ".join(f"{v.confusion[(label, c)]:>5}" for c in columns)
        os_ = " ".join(f"{o.confusion[(label, c)]:>5}" for c in columns)
        lines.append(f"| {label} | `{vs}` | `{os_}` |")
    return lines
