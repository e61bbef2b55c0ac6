"""Backtests: the live detector objects over history, offline, in seconds.

Two inputs: a CSV of ``timestamp,value`` (one row per window, e.g. NAB) or a mentions file
(JSONL/CSV, as `crisismon replay` reads), which is scored and counted into windows per series
with the same functions the ingest agent uses. Each series then runs through a fresh detector
from `DetectorSettings.build()`, scored before it learns, exactly as `detectors.closing` does.
"""

from __future__ import annotations

import csv
from collections import Counter, defaultdict
from collections.abc import Callable, Hashable
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from itertools import pairwise
from pathlib import Path
from typing import Any

from detectors.config import DetectionConfig
from detectors.count_spike import Finding
from detectors.explain import describe, describe_top_terms
from detectors.judging import judge_window, learn_window
from detectors.sentiment import Scorer
from detectors.series import NO_FAN_OUT, FanOut, parent_of
from detectors.terms import TermCount
from detectors.vocabulary import mention_terms
from streams.copy_rules import copies_in_memory
from streams.ingest import score_batch
from streams.mentions import MentionIn, parse_event_time
from streams.windows import aggregate, window_start, window_starts_between


class BacktestError(ValueError):
    """The input cannot be backtested; one readable line."""


@dataclass(slots=True)
class SeriesHistory:
    """Windows of one series in time order: (start, n, n_negative, sum_compound)."""

    series: str
    window_seconds: int
    rows: list[tuple[datetime, int, int, float]] = field(default_factory=list)
    # Term counts of the windows that hold mentions (mentions files only), for term bursts.
    terms: dict[datetime, dict[str, int]] = field(default_factory=dict)


@dataclass(frozen=True, slots=True)
class BacktestAlert:
    series: str
    window_start: datetime
    severity: str
    finding: Finding
    top_terms: tuple[TermCount, ...] = ()
    window_seconds: int = 60

    def describe(self) -> str:
        terms = (
            f" · top terms: {describe_top_terms(list(self.top_terms))}" if self.top_terms else ""
        )
        what = describe(self.finding, self.window_seconds)
        return (
            f"{self.window_start:%Y-%m-%d %H:%M} UTC  {self.severity:8}  {self.series} · "
            f"{self.finding.metric.replace('_', ' ')}: {what}{terms}"
        )


@dataclass(slots=True)
class SeriesResult:
    history: SeriesHistory
    scores: list[float]
    expected: list[float]
    alerts: list[BacktestAlert]
    # (row index, lower, upper) of the volume band, sampled every ``band_stride`` rows.
    bands: list[tuple[int, float, float]] = field(default_factory=list)


def load_value_csv(path: Path) -> SeriesHistory:
    """A ``timestamp,value`` CSV; the window length is the most common step between rows."""
    try:
        with path.open(newline="", encoding="utf-8-sig") as handle:
            reader = csv.DictReader(handle)
            if not reader.fieldnames or not {"timestamp", "value"} <= set(reader.fieldnames):
                raise BacktestError(f"{path}: a value CSV needs the columns timestamp,value")
            rows = []
            for row in reader:
                try:
                    moment = parse_event_time(row["timestamp"] or "")
                    value = round(float(row["value"]))
                except (TypeError, ValueError) as exc:
                    raise BacktestError(f"{path} line {reader.line_num}: {exc}") from exc
                rows.append((moment, value, 0, 0.0))
    except FileNotFoundError as exc:
        raise BacktestError(f"{path}: no such file") from exc
    if len(rows) < 2:
        raise BacktestError(f"{path}: needs at least two rows")
    steps: dict[int, int] = defaultdict(int)
    for (a, *_), (b, *_) in pairwise(rows):
        steps[int((b - a).total_seconds())] += 1
    step = max(steps, key=lambda s: steps[s])
    if step <= 0:
        raise BacktestError(f"{path}: timestamps must increase")
    return SeriesHistory(path.stem, step, rows)


def histories_from_mentions(
    mentions: list[MentionIn], scorer: Scorer, window_seconds: int, fan_out: FanOut = NO_FAN_OUT
) -> list[SeriesHistory]:
    """Score and count mentions into windows per series, filling quiet windows with zero.

    ``fan_out`` adds the topic:, product: (and segment:) series the live pipeline would count.
    """
    if not mentions:
        raise BacktestError("no valid mentions to backtest")
    scored = score_batch(mentions, scorer, fan_out=fan_out)
    # Near-duplicates collapse as live: copies count in n_copies and say no terms, not volume.
    copies = copies_in_memory(scored)
    counted = [item.counted(copy=item.mention.mention_id in copies) for item in scored]
    deltas = aggregate(counted, window_seconds)
    # Mentions saying each term, per (series, window), as closing windows live counts them;
    # each text is cut into terms once, however many series it counts toward.
    term_counts: dict[tuple[str, datetime], Counter[str]] = defaultdict(Counter)
    for item in (i for i in scored if i.mention.mention_id not in copies):
        start = window_start(item.mention.event_time, window_seconds)
        said = mention_terms(item.mention.text)
        for key in item.series_keys:
            term_counts[(key, start)].update(said)
    per_series: dict[str, dict[datetime, tuple[int, int, float]]] = defaultdict(dict)
    for (series, start), delta in deltas.items():
        per_series[series][start] = (delta.n, delta.n_negative, delta.sum_compound)
    first = min(start for _series, start in deltas)
    last = max(start for _series, start in deltas) + timedelta(seconds=window_seconds)
    starts = window_starts_between(first, last, window_seconds)
    histories = []
    for series in sorted(per_series):
        known = per_series[series]
        # A series begins with its first mention, as live detection starts it: the windows
        # before it never existed, so its detector does not learn them as zeros.
        begins = min(known)
        rows = [(s, *known.get(s, (0, 0, 0.0))) for s in starts if s >= begins]
        terms = {s: dict(term_counts[(series, s)]) for s in known}
        histories.append(SeriesHistory(series, window_seconds, rows, terms))
    return histories


def run_histories(
    histories: list[SeriesHistory],
    config: DetectionConfig,
    on_progress: Callable[[int], None] = lambda _n: None,
    band_stride: int = 0,
) -> list[SeriesResult]:
    """`run_series` for every series, each slice with its parent (``global``), as live."""
    by_name = {history.series: history for history in histories}
    results = []
    for history in histories:
        parent_name = parent_of(history.series)
        parent = by_name.get(parent_name) if parent_name else None
        results.append(run_series(history, config, on_progress, band_stride, parent=parent))
    return results


def run_series(
    history: SeriesHistory,
    config: DetectionConfig,
    on_progress: Callable[[int], None] = lambda _n: None,
    band_stride: int = 0,
    parent: SeriesHistory | None = None,
) -> SeriesResult:
    """Score before learn, window by window, and grade findings as the live pipeline does.

    ``parent`` (the ``global`` history over the same windows) lets a slice be judged by its
    share of it, as live closing does."""
    parent_n = {row[0]: row[1] for row in parent.rows} if parent is not None else None
    detector = config.detector.build()
    terms = config.build_terms()
    records = config.records.build()
    scores: list[float] = []
    expected: list[float] = []
    alerts: list[BacktestAlert] = []
    bands: list[tuple[int, float, float]] = []
    for index, (start, n, n_negative, sum_compound) in enumerate(history.rows):
        if band_stride and index % band_stride == 0 and detector.warmed_up:
            _mean, lower, upper = detector.volume_band(start)
            bands.append((index, lower, upper))
        x: dict[Hashable, Any] = {
            "start": start,
            "n": n,
            "n_negative": n_negative,
            "sum_compound": sum_compound,
            "terms": history.terms.get(start, {}),
        }
        if parent_n is not None:
            x["parent_n"] = parent_n.get(start, 0)
        judged = judge_window(config, detector, terms, records, x)
        top = tuple(judged.top_terms)
        alerts.extend(
            BacktestAlert(history.series, start, severity, finding, top, history.window_seconds)
            for finding, severity in judged.reported
        )
        scores.append(judged.score)
        volume = judged.expected_volume
        expected.append(float("nan") if volume is None else volume)
        learn_window(x, detector, terms, records)
        if index % 1000 == 999:
            on_progress(1000)
    on_progress(len(history.rows) % 1000)
    return SeriesResult(history, scores, expected, alerts, bands)


def incidents_of(alerts: list[BacktestAlert], merge_gap: timedelta) -> int:
    """How many incidents the alerts would make, merged as the live correlator merges them."""
    count, last = 0, None
    for alert in sorted(alerts, key=lambda a: a.window_start):
        if last is None or alert.window_start - last > merge_gap:
            count += 1
        last = alert.window_start
    return count
