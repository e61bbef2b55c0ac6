"""Detector cost: windows scored per second across 10,000 live series, and state per series.

Run: ``python -m bench.detectors [series] [windows]``. Each series gets its own detectors from
the shipped configuration; every window is scored then learnt, as when windows close live.
The count detector and the term-burst detector are timed separately; term counts come from a
pool of windows of Zipf-distributed words (counting texts into terms is not timed here).
"""

from __future__ import annotations

import json
import pickle
import sys
import time
from collections.abc import Hashable
from datetime import UTC, datetime, timedelta
from typing import Any

import numpy as np

from detectors.config import DetectionConfig
from detectors.terms import TermBurstDetector
from detectors.vocabulary import count_terms

_VOCABULARY = 5000


def _term_pool(rng: np.random.Generator, most: int) -> list[list[dict[str, int]]]:
    """For each window size up to ``most``, a few windows of term counts."""
    probs = 1.0 / np.arange(1, _VOCABULARY + 1) ** 1.1
    probs /= probs.sum()
    pool = []
    for n in range(most + 1):
        windows = []
        for _ in range(4):
            texts = [
                " ".join(f"w{r}" for r in rng.choice(_VOCABULARY, size=8, p=probs))
                for _ in range(n)
            ]
            windows.append(count_terms(texts))
        pool.append(windows)
    return pool


def _terms_at_bound(pool: list[list[dict[str, int]]]) -> tuple[TermBurstDetector, int]:
    """One busy series' term detector over a day, and the most bytes its state took."""
    detector = DetectionConfig().build_terms()
    busiest = len(pool) - 1
    largest = 0
    for minute in range(24 * 60):
        x: dict[Hashable, Any] = {"n": busiest, "terms": pool[busiest][minute % 4]}
        detector.score_one(x)
        detector.learn_one(x)
        if minute % 10 == 0:
            largest = max(largest, len(pickle.dumps(detector)))
    return detector, largest


def main() -> None:
    series = int(sys.argv[1]) if len(sys.argv) > 1 else 10_000
    windows = int(sys.argv[2]) if len(sys.argv) > 2 else 60
    settings = DetectionConfig().detector
    detectors = [settings.build() for _ in range(series)]
    rng = np.random.default_rng(1)
    rates = rng.gamma(1.5, 4.0, series)  # mostly sparse series, a few busy ones
    start = datetime(2026, 3, 2, tzinfo=UTC)
    started = time.perf_counter()
    for window in range(windows):
        counts = rng.poisson(rates)
        at = start + timedelta(minutes=window)  # window starts feed the seasonal term
        for detector, n in zip(detectors, counts, strict=True):
            x: dict[Hashable, Any] = {
                "start": at,
                "n": int(n),
                "n_negative": int(n) // 8,
                "sum_compound": 0.1 * int(n),
            }
            detector.score_one(x)
            detector.learn_one(x)
    elapsed = time.perf_counter() - started
    state = sum(len(pickle.dumps(d)) for d in detectors[:200]) / 200
    print(f"series: {series:,}, windows each: {windows}")
    print(f"windows scored and learnt per second: {series * windows / elapsed:,.0f}")
    print(
        f"one minute of windows for all series takes {series / (series * windows / elapsed):.2f}s"
    )
    print(f"detector state per series (pickled): {state:,.0f} bytes")
    _bench_terms(rng, rates, windows)
    _bench_records(rng, rates, windows)


def _bench_records(rng: np.random.Generator, rates: np.ndarray, windows: int) -> None:
    """The record detector with the shipped settings on 1,000 of the series, warmed up first
    (a cold detector scores nothing and is misleadingly fast), then its state once the
    three-week memory is full (filled directly, 30,240 windows)."""
    settings = DetectionConfig().records
    sample = rates[:1000]
    detectors = [settings.build() for _ in sample]
    for detector, rate in zip(detectors, sample, strict=True):
        for n in rng.poisson(rate, settings.warmup_windows + max(settings.spans_windows)):
            detector.learn_one({"n": int(n)})
    started = time.perf_counter()
    for _ in range(windows):
        for detector, n in zip(detectors, rng.poisson(sample), strict=True):
            x: dict[Hashable, Any] = {"n": int(n)}
            detector.score_one(x)
            detector.learn_one(x)
    elapsed = time.perf_counter() - started
    full = settings.build()
    for n in rng.poisson(float(np.median(rates)), settings.memory_windows + 500):
        full.learn_one({"n": int(n)})
    snapshot = len(json.dumps(full.snapshot(), separators=(",", ":")))
    print(
        f"record windows scored and learnt per second (warmed up): "
        f"{len(sample) * windows / elapsed:,.0f}"
    )
    print(
        f"record state per series with a full {settings.memory_windows:,}-window memory: "
        f"{len(pickle.dumps(full)):,} bytes pickled, {snapshot:,} bytes as its SQL snapshot"
    )


def _bench_terms(rng: np.random.Generator, rates: np.ndarray, windows: int) -> None:
    config = DetectionConfig()
    series = len(rates)
    pool = _term_pool(rng, most=60)
    detectors = [config.build_terms() for _ in range(series)]
    started = time.perf_counter()
    for _ in range(windows):
        counts = np.minimum(rng.poisson(rates), len(pool) - 1)
        for detector, n in zip(detectors, counts, strict=True):
            x: dict[Hashable, Any] = {"n": int(n), "terms": pool[int(n)][int(n) % 4]}
            config.terms.judge(detector, x, config.detector)
            detector.learn_one(x)
    elapsed = time.perf_counter() - started
    state = sum(len(pickle.dumps(d)) for d in detectors[:200]) / 200
    full, largest = _terms_at_bound(pool)
    snapshot = len(json.dumps(full.snapshot(), separators=(",", ":")))
    print(f"term-burst windows scored and learnt per second: {series * windows / elapsed:,.0f}")
    print(f"term-burst state per series after {windows} windows (pickled): {state:,.0f} bytes")
    print(
        f"term-burst state of a busy series over a day (max_terms {full.max_terms}, at most "
        f"{full.max_terms * 3 // 2} between trims): at most {largest:,} bytes pickled, "
        f"{snapshot:,} bytes as its SQL snapshot"
    )


if __name__ == "__main__":
    main()
