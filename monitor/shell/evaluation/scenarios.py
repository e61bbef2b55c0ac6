"""Score a backtest's incidents against a scenario's truth: what was found, where, how late.

Rules (docs/scenarios.md says the same):

- An incident *pages* when it reached warning or critical; only paged incidents count here.
- A crisis is *found* when an incident paged between its onset and 30 minutes after its end.
- It is found *on the right series* when one of those incidents names an acceptable series
  (the crisis says which: ``region:eu`` for an EU payment failure, ``source:reviews`` or
  ``reviews`` for a broken review form…).
- Its *delay* is from onset to the first such page (right series first, when there is one).
- *Incidents per crisis*: paged incidents whose span overlaps the crisis (one is the goal).
- A *false alarm* is a paged incident, paged after the warm-up, that overlaps no crisis and
  no decoy; they are counted per day scored.
- A *decoy fired* when a paged incident overlaps it.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from statistics import median
from typing import Protocol

from streams.crisis_scenarios.truth import KINDS, Crisis, Decoy

SLACK = timedelta(minutes=30)
PAGING = ("warning", "critical")


class Incident(Protocol):
    """What scoring reads of an incident (`monitor.incidents.backtest.BacktestIncident`)."""

    @property
    def opened_at(self) -> datetime: ...
    @property
    def paged_at(self) -> datetime | None: ...
    @property
    def closed_at(self) -> datetime: ...
    @property
    def series(self) -> tuple[str, ...]: ...
    @property
    def severity(self) -> str: ...
    @property
    def metric(self) -> str: ...


@dataclass(frozen=True, slots=True)
class CrisisScore:
    crisis: Crisis
    found: bool
    right_series: bool
    delay_minutes: float | None  # onset to the first page (on the right series if any)
    incidents: int  # paged incidents overlapping the crisis
    paged_series: tuple[str, ...] = ()  # series of the incident the delay is measured on
    # A paged incident that was already open before onset and ran into the crisis: it may have
    # swallowed the crisis's anomalies, so nobody was paged anew.
    absorbed_by: Incident | None = None

    @property
    def kind(self) -> str:
        return self.crisis.kind


@dataclass(slots=True)
class SeedScore:
    seed: int
    tuning: bool
    days_scored: float
    crises: list[CrisisScore]
    false_alarms: list[Incident] = field(default_factory=list)
    decoys_fired: list[tuple[Decoy, Incident]] = field(default_factory=list)
    decoys: int = 0
    incidents: int = 0  # all incidents, paged or not

    @property
    def false_alarms_per_day(self) -> float:
        return len(self.false_alarms) / self.days_scored if self.days_scored else 0.0


def _pages(incident: Incident) -> bool:
    return incident.severity in PAGING and incident.paged_at is not None


def _overlaps(incident: Incident, start: datetime, end: datetime) -> bool:
    return incident.opened_at <= end and incident.closed_at >= start


def score_crisis(crisis: Crisis, paged: Sequence[Incident]) -> CrisisScore:
    """How the paged incidents of a run did on one crisis."""
    window_end = crisis.end + SLACK
    in_time = sorted(
        (i for i in paged if i.paged_at is not None and crisis.onset <= i.paged_at <= window_end),
        key=lambda i: i.paged_at or crisis.onset,
    )
    right = [i for i in in_time if any(crisis.accepts(s) for s in i.series)]
    measured = right[0] if right else (in_time[0] if in_time else None)
    delay = None
    if measured is not None and measured.paged_at is not None:
        delay = (measured.paged_at - crisis.onset).total_seconds() / 60
    overlapping = [i for i in paged if _overlaps(i, crisis.onset, window_end)]
    earlier = [i for i in overlapping if i.paged_at is not None and i.paged_at < crisis.onset]
    return CrisisScore(
        crisis,
        found=bool(in_time),
        right_series=bool(right),
        delay_minutes=delay,
        incidents=len(overlapping),
        paged_series=measured.series if measured else (),
        absorbed_by=earlier[0] if earlier else None,
    )


def score_seed(
    seed: int,
    incidents: Sequence[Incident],
    crises: Sequence[Crisis],
    decoys: Sequence[Decoy],
    *,
    scored_from: datetime,
    scored_until: datetime,
    tuning: bool = False,
) -> SeedScore:
    """Score one run: every crisis, the false alarms after warm-up, and the decoys."""
    paged = [i for i in incidents if _pages(i)]
    windows = [(c.onset, c.end + SLACK) for c in crises]
    windows += [(d.start, d.end + SLACK) for d in decoys]
    false_alarms = [
        i
        for i in paged
        if i.paged_at is not None
        and scored_from <= i.paged_at <= scored_until
        and not any(_overlaps(i, start, end) for start, end in windows)
    ]
    fired = [
        (decoy, incident)
        for decoy in decoys
        for incident in paged
        if _overlaps(incident, decoy.start, decoy.end + SLACK)
    ]
    days = (scored_until - scored_from).total_seconds() / 86400
    return SeedScore(
        seed,
        tuning,
        days,
        [score_crisis(c, paged) for c in crises],
        false_alarms,
        fired,
        decoys=len(decoys),
        incidents=len(incidents),
    )


@dataclass(frozen=True, slots=True)
class Summary:
    """Crises, detections and delays of a group of crises (one kind, or all of them)."""

    label: str
    crises: int
    found: int
    right_series: int
    median_delay: float | None  # minutes, over the crises found
    max_delay: float | None
    duplicated: int  # crises with more than one paged incident


def summarise(label: str, scores: Sequence[CrisisScore]) -> Summary:
    delays = [s.delay_minutes for s in scores if s.delay_minutes is not None]
    return Summary(
        label,
        len(scores),
        sum(s.found for s in scores),
        sum(s.right_series for s in scores),
        median(delays) if delays else None,
        max(delays) if delays else None,
        sum(s.incidents > 1 for s in scores),
    )


def by_kind(seeds: Sequence[SeedScore]) -> list[Summary]:
    """One summary per crisis kind that occurred, in the order of `KINDS`."""
    scores = [c for seed in seeds for c in seed.crises]
    return [
        summarise(kind, [s for s in scores if s.kind == kind])
        for kind in KINDS
        if any(s.kind == kind for s in scores)
    ]


@dataclass(frozen=True, slots=True)
class Totals:
    label: str
    seeds: tuple[int, ...]
    crises: Summary
    false_alarms: int
    days_scored: float
    decoys: int
    decoys_fired: int

    @property
    def false_alarms_per_day(self) -> float:
        return self.false_alarms / self.days_scored if self.days_scored else 0.0


def totals(label: str, seeds: Sequence[SeedScore]) -> Totals:
    return Totals(
        label,
        tuple(s.seed for s in seeds),
        summarise("all", [c for s in seeds for c in s.crises]),
        sum(len(s.false_alarms) for s in seeds),
        sum(s.days_scored for s in seeds),
        sum(s.decoys for s in seeds),
        # A decoy counts once however many incidents it set off.
        sum(len({d.id for d, _ in s.decoys_fired}) for s in seeds),
    )
