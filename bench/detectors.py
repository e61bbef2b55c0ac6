"""Detector cost: windows scored per second across 10,000 live series, and state per series.

Run: ``python -m bench.detectors [series] [windows]``. Each series gets its own detector from
the shipped configuration; every window is scored then learnt, as when windows close live.
"""

from __future__ import annotations

import pickle
import sys
import time
from collections.abc import Hashable
from datetime import UTC, datetime, timedelta
from typing import Any

import numpy as np

from detectors.config import DetectionConfig


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


if __name__ == "__main__":
    main()
