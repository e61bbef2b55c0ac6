"""Training data and the one fixed training recipe for the learned correction.

The data: VADER's four human-rated sets (Hutto & Gilbert, ICWSM 2014; MIT licence), read
from a folder the user points at, and our own hand-labelled customer-service sentences,
shipped in ``data/customer_service_train.csv``. Mean ratings become three classes by one rule,
`class_for_rating`.
"""

from __future__ import annotations

import csv
import random
from collections import defaultdict
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path

from detectors.sentiment.base import LABELS
from detectors.sentiment.features import features
from detectors.sentiment.model import CorrectionModel
from detectors.sentiment.scorer import RuleScorer

GROUND_TRUTH_FILES = {
    "tweets": "tweets_GroundTruth.txt",
    "amazon": "amazonReviewSnippets_GroundTruth.txt",
    "movies": "movieReviewSnippets_GroundTruth.txt",
    "nyt": "nytEditorialSnippets_GroundTruth.txt",
}
DEFAULT_GROUND_TRUTH = Path("../shared/data/sentiment/vader_groundtruth")
CUSTOMER_SERVICE_TRAIN = Path(__file__).resolve().parent / "data" / "customer_service_train.csv"
# Half a point on VADER's -4..+4 rating scale either side of zero: raters leaned that way.
RATING_CUT = 0.5


class DataError(ValueError):
    """A training or evaluation file is missing or malformed; one readable line."""


@dataclass(frozen=True, slots=True)
class Example:
    text: str
    label: str
    domain: str


def class_for_rating(mean_rating: float) -> str:
    """The one rule: mean rating >= +0.5 is positive, <= -0.5 negative, else neutral.

    >>> class_for_rating(0.5), class_for_rating(0.49), class_for_rating(-0.5)
    ('positive', 'neutral', 'negative')
    """
    if mean_rating >= RATING_CUT:
        return "positive"
    if mean_rating <= -RATING_CUT:
        return "negative"
    return "neutral"


def load_ground_truth(
    folder: Path, domains: Iterable[str] | None = None
) -> dict[str, list[Example]]:
    """VADER's sets as ``{domain: examples}``: ``id<TAB>mean rating<TAB>text`` per line."""
    if not folder.is_dir():
        raise DataError(f"{folder}: not a folder (expected VADER's *_GroundTruth.txt files)")
    out: dict[str, list[Example]] = {}
    for domain in domains or GROUND_TRUTH_FILES:
        path = folder / GROUND_TRUTH_FILES[domain]
        if not path.is_file():
            raise DataError(f"{path}: file not found")
        examples = []
        for number, line in enumerate(path.read_text(encoding="utf-8").splitlines(), 1):
            if not line.strip():
                continue
            parts = line.split("\t", 2)
            try:
                rating = float(parts[1])
                text = parts[2].strip()
            except (IndexError, ValueError):
                raise DataError(f"{path}:{number}: expected id, rating and text") from None
            examples.append(Example(text, class_for_rating(rating), domain))
        out[domain] = examples
    return out


def load_labelled_csv(path: Path, domain: str = "customer-service") -> list[Example]:
    """A CSV with ``text`` and ``label`` columns (negative, neutral or positive)."""
    try:
        with path.open(newline="", encoding="utf-8") as handle:
            rows = list(csv.DictReader(handle))
    except FileNotFoundError:
        raise DataError(f"{path}: file not found") from None
    examples = []
    for number, row in enumerate(rows, 2):
        label = (row.get("label") or "").strip()
        if label not in LABELS or not (row.get("text") or "").strip():
            raise DataError(f"{path}:{number}: needs a text and a label in {', '.join(LABELS)}")
        examples.append(Example(row["text"].strip(), label, domain))
    return examples


@dataclass(frozen=True, slots=True)
class Recipe:
    """The one fixed training configuration (chosen before the held-out evaluation)."""

    epochs: int = 5
    learning_rate: float = 0.05
    l2: float = 1e-4
    # Our customer-service sentences are few beside VADER's 23,703; each is seen this often.
    customer_service_repeat: int = 25
    seed: int = 6


Featurised = list[tuple[dict[str, float], str, str]]


def featurise(
    rules: RuleScorer, examples: Sequence[Example], advance: Callable[[int], None] | None = None
) -> Featurised:
    """Feature dicts for labelled English examples (their language is known, not detected)."""
    out: Featurised = []
    for example in examples:
        analysis = rules.analyse(example.text, "en")
        assert analysis is not None  # English always has a lexicon
        out.append((features(analysis, "en"), example.label, example.domain))
        if advance is not None:
            advance(1)
    return out


def fit(
    data: Featurised, recipe: Recipe = Recipe(), advance: Callable[[int], None] | None = None
) -> CorrectionModel:
    """Train from scratch: every epoch draws each class equally often (macro-F1 weighs them
    equally), in a seeded order, so the same data always gives the same model."""
    rng = random.Random(recipe.seed)
    by_label: dict[str, list[tuple[dict[str, float], str]]] = defaultdict(list)
    for x, label, domain in data:
        repeat = recipe.customer_service_repeat if domain == "customer-service" else 1
        by_label[label].extend([(x, label)] * repeat)
    per_class = max((len(items) for items in by_label.values()), default=0)
    model = CorrectionModel(learning_rate=recipe.learning_rate, l2=recipe.l2)
    for _ in range(recipe.epochs):
        epoch: list[tuple[dict[str, float], str]] = []
        for label in sorted(by_label):
            items = by_label[label]
            epoch.extend(items[i % len(items)] for i in rng.sample(range(per_class), per_class))
        rng.shuffle(epoch)
        for x, label in epoch:
            model.learn_one(x, label)
        if advance is not None:
            advance(1)
    return model
