"""Study: the choices inside the taught sentiment layer, on the tuning split only.

Reproduces the evidence table of docs/sentiment.md ("Chosen on evidence, on a tuning split"):
for each variant of `detectors.sentiment.taught.Recipe` (and the gate switched off), teach 500
labels of each domain with draw seeds 100 and 101 (never the learning curve's 0-2), score
the held-out 40%, and score VADER's four sets against the untaught scorer.

Run: ``nice python -m bench.sentiment_taught_study --vader
../shared/data/sentiment/vader_groundtruth [--data bench/data/sentiment_domains]`` (5 to 10
minutes on 2 busy cores).
"""

from __future__ import annotations

import argparse
import dataclasses
import random
import statistics
import sys
from collections.abc import Sequence
from pathlib import Path

from bench.sentiment_learning_curve import TEST_SHARE, Item, best, figures, read, read_domain
from detectors.sentiment import build_scorer, taught
from detectors.sentiment.training import DataError, load_ground_truth
from monitor.settings import get_settings

SEEDS = (100, 101)
LABELS_TAUGHT = 500
CHOSEN = taught.Recipe()
VARIANTS: tuple[tuple[str, taught.Recipe, bool], ...] = (
    ("chosen", CHOSEN, True),
    ("ungated", CHOSEN, False),
    ("n-gram L2 1", dataclasses.replace(CHOSEN, ngram_l2=1.0), True),
    ("n-gram L2 3", dataclasses.replace(CHOSEN, ngram_l2=3.0), True),
    ("gate none below 0.85", dataclasses.replace(CHOSEN, gate_floor=0.85), True),
    ("negative labels x 1", dataclasses.replace(CHOSEN, negative_weight=1.0), True),
    ("negative labels x 2", dataclasses.replace(CHOSEN, negative_weight=2.0), True),
    ("classes fully balanced", dataclasses.replace(CHOSEN, balance=1.0), True),
    ("classes as taught", dataclasses.replace(CHOSEN, balance=0.0), True),
)


def layer_for(train: Sequence[Item], recipe: taught.Recipe, gated: bool) -> taught.TaughtLayer:
    rows = [(taught.layer_inputs(i.x, i.proba, i.patterns), i.proba, i.label) for i in train]
    layer = taught.fit(rows, recipe)
    if not gated:  # every text with a word is "familiar": the layer applies everywhere
        layer.gate_low = layer.gate_high = 0.0
    return layer


def predict(layer: taught.TaughtLayer, items: Sequence[Item]) -> list[str]:
    return [best(layer.adjust(i.proba, i.x, i.patterns.copy)) for i in items]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data", type=Path, default=Path("bench/data/sentiment_domains"))
    parser.add_argument("--vader", type=Path, required=True)
    args = parser.parse_args()
    try:
        folders = sorted(p for p in args.data.iterdir() if (p / "data.csv").is_file())
        general_sets = load_ground_truth(args.vader)
    except (DataError, FileNotFoundError, NotADirectoryError) as exc:
        sys.exit(f"error: {exc}")
    scorer = build_scorer(get_settings().config_dir)
    domains = {f.name: read(scorer, read_domain(f / "data.csv")) for f in folders}
    general = {
        name: read(scorer, [(e.text, e.label, "en") for e in examples])
        for name, examples in general_sets.items()
    }
    untaught = {
        name: figures(items, [best(i.proba) for i in items])[0] for name, items in general.items()
    }
    print("| variant | " + " | ".join(domains) + " | worst VADER set change |")
    print("|---|" + "---|" * len(domains) + "---:|")
    for name, recipe, gated in VARIANTS:
        cells, worst = [], 0.0
        for items in domains.values():
            scores = []
            for seed in SEEDS:
                order = list(range(len(items)))
                random.Random(seed).shuffle(order)
                cut = int(len(items) * TEST_SHARE)
                test = [items[i] for i in order[:cut]]
                train = [items[i] for i in order[cut:]][:LABELS_TAUGHT]
                layer = layer_for(train, recipe, gated)
                scores.append(figures(test, predict(layer, test)))
                for set_name, sample in general.items():
                    change = figures(sample, predict(layer, sample))[0] - untaught[set_name]
                    worst = min(worst, change)
            f1 = statistics.mean(s[0] for s in scores)
            recall = statistics.mean(s[1] for s in scores)
            cells.append(f"{f1:.3f} ({recall:.2f})")
        print(f"| {name} | " + " | ".join(cells) + f" | {worst:+.3f} |", flush=True)


if __name__ == "__main__":
    main()
