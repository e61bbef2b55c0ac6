"""Sentiment throughput: the full default scorer against plain VADER, on the same texts, in one run.

Target (issue #6): at least 5,000 texts/s per core for the full default scorer. Plain VADER is
measured in the same run on the same texts, so the ratio holds on any machine.

Run: ``python -m bench.sentiment [N] [--data DIR]``. The texts are VADER's tweets (read from
``--data``, default ../shared/data/sentiment/vader_groundtruth) and our customer-service
sentences, repeated to N (default 20,000).
"""

from __future__ import annotations

import argparse
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

from detectors.sentiment import VaderScorer, build_scorer
from detectors.sentiment.training import (
    CUSTOMER_SERVICE_TRAIN,
    DEFAULT_GROUND_TRUTH,
    load_ground_truth,
    load_labelled_csv,
)
from monitor.settings import get_settings

TARGET_PER_SECOND = 5_000


def texts(n: int, data: Path) -> list[str]:
    pool = [e.text for e in load_ground_truth(data, ["tweets"])["tweets"]]
    pool += [e.text for e in load_labelled_csv(CUSTOMER_SERVICE_TRAIN)]
    return [pool[i % len(pool)] for i in range(n)]


def rate(score: Callable[[str], object], items: list[str], rounds: int = 3) -> float:
    """Texts per second, the best of ``rounds`` passes (the least disturbed by neighbours)."""
    best = 0.0
    for _ in range(rounds):
        started = time.perf_counter()
        for text in items:
            score(text)
        best = max(best, len(items) / (time.perf_counter() - started))
    return best


def measure(n: int = 20_000, data: Path = DEFAULT_GROUND_TRUTH) -> dict[str, Any]:
    """Texts per second of plain VADER and of the default scorer on the same texts."""
    items = texts(n, data)
    vader = VaderScorer()
    ours = build_scorer(get_settings().config_dir)
    vader.score("warm up")
    ours.score("warm up")
    vader_rate = rate(vader.score, items)
    ours_rate = rate(ours.score, items)
    return {
        "texts": len(items),
        "vader_rate": round(vader_rate, 1),
        "rate": round(ours_rate, 1),
        "ratio": round(ours_rate / vader_rate, 3),
        "target_per_second": TARGET_PER_SECOND,
    }


def describe(result: dict[str, Any]) -> str:
    met = "met" if result["rate"] >= TARGET_PER_SECOND else "MISSED"
    return "\n".join(
        [
            f"texts: {result['texts']:,} (VADER tweets and our customer-service sentences), "
            "one core",
            f"plain VADER:                {result['vader_rate']:>9,.0f}/s",
            f"default scorer (all layers): {result['rate']:>8,.0f}/s",
            f"default / VADER: {result['ratio']:.3f}",
            f"target >= {TARGET_PER_SECOND:,}/s: {met}",
        ]
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("n", nargs="?", type=int, default=20_000)
    parser.add_argument("--data", type=Path, default=DEFAULT_GROUND_TRUTH)
    args = parser.parse_args()
    print(describe(measure(args.n, args.data)))


if __name__ == "__main__":
    main()
