"""Study: how the record detector's NAB configuration was chosen, and whether the choice holds
when the roles of the two halves of realTweets are swapped.

An offline experiment, not part of the service. The grid is the one in the README's tuning log:
memories of 3 to 60 days, seven sets of spans, a cooldown of half a day or a day. The selection
rule is fixed: for each (spans, cooldown), the plateau score of a memory is the mean standard
score of that memory and its neighbours in the list; the configuration with the best plateau on
the training half wins.

* fold A: choose on AAPL, AMZN, CRM, CVS, FB and score GOOG, IBM, KO, PFE, UPS;
* fold B: choose on GOOG, IBM, KO, PFE, UPS and score the other five;
* cross-validated: every file scored with the configuration chosen on the other half, summed
  into one corpus score. No file is ever scored by a configuration chosen on it;
* the in-sample ceiling: the best grid configuration chosen on all ten files and scored on them,
  an optimistic bound for this detector family and never a result.

Records are computed with exact sliding maxima (NumPy); the shipped detector keeps 6-hour
maxima, which gives the same alerts for the shipped configuration (`crisismon eval nab`).

Run: ``python -m bench.nab_study [--data ../shared/data/nab]`` (about a minute).
"""

from __future__ import annotations

import argparse
import itertools
from collections import deque
from collections.abc import Sequence
from pathlib import Path

import numpy as np
from numpy.typing import NDArray

from detectors.nab import STANDARD, score_corpus
from detectors.nab_eval import NabFile, load_corpus, one_per_cooldown

DAY = 288
MEMORIES_DAYS = (3, 7, 10, 14, 21, 28, 60)
SPAN_SETS = (
    (1,),
    (1, 12),
    (1, 12, 48),
    (1, 6, 36),
    (1, 3, 12, 48),
    (1, 6, 24, 96),
    (1, 12, 48, 144),
)
COOLDOWNS = (144, 288)
MIN_COUNT, WARMUP = 5, DAY
FOLD_A = ("AAPL", "AMZN", "CRM", "CVS", "FB")

Config = tuple[tuple[int, ...], int, int]  # spans, memory in days, cooldown in rows


def trailing_max(values: NDArray[np.float64], length: int, lag: int) -> NDArray[np.float64]:
    """out[t] = max(values[t - lag - length + 1 .. t - lag]), -inf where that is empty."""
    out = np.full(len(values), -np.inf)
    window: deque[int] = deque()
    for t in range(len(values)):
        j = t - lag
        if j < 0:
            continue
        while window and values[window[-1]] <= values[j]:
            window.pop()
        window.append(j)
        while window[0] < j - length + 1:
            window.popleft()
        out[t] = values[window[0]]
    return out


def full_records(values: NDArray[np.float64], spans: Sequence[int], memory: int) -> NDArray:
    """Rows where some span's total beats every earlier non-overlapping total in memory."""
    hit = np.zeros(len(values), dtype=bool)
    for span in spans:
        totals = np.convolve(values, np.ones(span))[: len(values)]
        previous = trailing_max(totals, memory, span)
        hit |= (totals > previous) & (totals >= MIN_COUNT) & np.isfinite(previous)
    hit[:WARMUP] = False
    return hit


def score(files: list[NabFile], chosen: dict[str, list[int]]) -> float:
    return score_corpus(
        ((chosen[f.key], f.windows, len(f.values)) for f in files), STANDARD
    ).normalised


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data", type=Path, default=Path("../shared/data/nab"))
    files = load_corpus(parser.parse_args().data)
    hits = {
        (spans, days, f.key): full_records(np.asarray(f.values, float), spans, days * DAY)
        for spans, days, f in itertools.product(SPAN_SETS, MEMORIES_DAYS, files)
    }

    def alerts_of(config: Config, nab_file: NabFile) -> list[int]:
        spans, days, cooldown = config
        rows = np.flatnonzero(hits[(spans, days, nab_file.key)]).tolist()
        return one_per_cooldown(rows, cooldown)

    def grid_scores(train: list[NabFile]) -> dict[Config, float]:
        return {
            config: score(train, {f.key: alerts_of(config, f) for f in train})
            for config in itertools.product(SPAN_SETS, MEMORIES_DAYS, COOLDOWNS)
        }

    def choose(train: list[NabFile]) -> tuple[Config, float]:
        scores = grid_scores(train)

        def plateau(config: Config) -> float:
            spans, days, cooldown = config
            k = MEMORIES_DAYS.index(days)
            near = MEMORIES_DAYS[max(k - 1, 0) : k + 2]
            return float(np.mean([scores[(spans, d, cooldown)] for d in near]))

        best = max(scores, key=plateau)
        return best, scores[best]

    in_a = [f for f in files if any(t in f.key for t in FOLD_A)]
    in_b = [f for f in files if f not in in_a]
    cross: dict[str, list[int]] = {}
    for name, train, test in (("A", in_a, in_b), ("B", in_b, in_a)):
        config, train_score = choose(train)
        for f in test:
            cross[f.key] = alerts_of(config, f)
        test_score = score(test, cross)
        spans, days, cooldown = config
        print(
            f"fold {name}: chose spans {spans}, {days}-day memory, cooldown {cooldown} rows; "
            f"standard {train_score:.1f} on its training files, {test_score:.1f} on the others"
        )
    print(f"cross-validated, all ten files: standard {score(files, cross):.1f}")
    # For scale only, never a result: the best of the grid when chosen on the files it scores.
    everything = grid_scores(files)
    spans, days, cooldown = best = max(everything, key=everything.__getitem__)
    print(
        f"in-sample ceiling of the grid (chosen on all ten, optimistic): standard "
        f"{everything[best]:.1f} with spans {spans}, {days}-day memory, cooldown {cooldown}"
    )


if __name__ == "__main__":
    main()
