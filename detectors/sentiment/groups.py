"""Accuracy per group (language, customer segment): no group of customers judged worse.

Each labelled text belongs to one or more groups; every group gets the same figures as
everyone (macro-F1, negative recall, n). A group more than ``max_gap`` macro-F1 below the
overall figure is flagged. A group with fewer than ``min_n`` labelled texts shows "too few":
its figures would be noise, so it is neither shown nor flagged.

>>> rows = [LabelledText(("en",), "negative", "negative")] * 12 + \\
...     [LabelledText(("fr",), "negative", "neutral")] * 10 + \\
...     [LabelledText(("fr",), "neutral", "neutral")] * 2 + \\
...     [LabelledText(("de",), "negative", "negative")] * 3
>>> report = per_group(rows, by="lang")
>>> [(g.name, g.n, g.too_few, g.flagged) for g in report.groups]
[('en', 12, False, False), ('fr', 12, False, True), ('de', 3, True, False)]
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass

from detectors.sentiment.base import LABELS
from detectors.sentiment.metrics import Metrics

MIN_N = 10
MAX_GAP = 0.10
NO_GROUP = "(none)"


@dataclass(frozen=True, slots=True)
class LabelledText:
    """One text's groups, the label people gave it, and the label the scorer gave it."""

    groups: tuple[str, ...]
    truth: str
    predicted: str


@dataclass(frozen=True)
class GroupFigures:
    name: str
    metrics: Metrics
    too_few: bool
    gap: float  # overall macro-F1 minus this group's (positive: the group does worse)
    flagged: bool

    @property
    def n(self) -> int:
        return self.metrics.n

    @property
    def macro_f1(self) -> float:
        return macro_f1(self.metrics)


@dataclass(frozen=True)
class GroupReport:
    by: str
    overall: Metrics
    groups: list[GroupFigures]
    min_n: int = MIN_N
    max_gap: float = MAX_GAP

    @property
    def flagged(self) -> list[GroupFigures]:
        return [g for g in self.groups if g.flagged]

    @property
    def overall_macro_f1(self) -> float:
        return macro_f1(self.overall)


def macro_f1(metrics: Metrics) -> float:
    """Macro-F1 over the classes a group's texts were labelled or scored as.

    A class in neither has no F1 to average: counting it as 0 would put a group whose labels
    are all negative, every one scored right, at 0.333 and flag it (sklearn's default too).

    >>> round(macro_f1(Metrics.of([("negative", "negative")] * 3)), 3)
    1.0
    >>> round(macro_f1(Metrics.of([("negative", "negative"), ("negative", "neutral")])), 3)
    0.333
    """
    seen = {label for pair in metrics.confusion for label in pair}
    present = [label for label in LABELS if label in seen]
    return sum(metrics.f1(label) for label in present) / len(present) if present else 0.0


def per_group(
    rows: Iterable[LabelledText], *, by: str, min_n: int = MIN_N, max_gap: float = MAX_GAP
) -> GroupReport:
    """Figures for everyone and for each group, largest group first."""
    everyone: list[tuple[str, str]] = []
    by_name: dict[str, list[tuple[str, str]]] = defaultdict(list)
    for row in rows:
        pair = (row.truth, row.predicted)
        everyone.append(pair)
        for name in row.groups or (NO_GROUP,):
            by_name[name].append(pair)
    overall = Metrics.of(everyone)
    groups = []
    for name, pairs in sorted(by_name.items(), key=lambda item: (-len(item[1]), item[0])):
        metrics = Metrics.of(pairs)
        too_few = metrics.n < min_n
        gap = macro_f1(overall) - macro_f1(metrics)
        groups.append(GroupFigures(name, metrics, too_few, gap, not too_few and gap > max_gap))
    return GroupReport(by, overall, groups, min_n, max_gap)


def render(report: GroupReport) -> str:
    """The report as a Markdown table; a flagged group says so in its last column."""
    lines = [
        f"| {report.by} | n | macro-F1 | negative recall | below overall |",
        "|---|---:|---:|---:|---|",
        _row("all", report.overall, ""),
    ]
    for group in report.groups:
        if group.too_few:
            lines.append(f"| {group.name} | {group.n:,} | too few | too few | |")
            continue
        note = f"**FLAGGED** {group.gap:.3f}" if group.flagged else ""
        lines.append(_row(group.name, group.metrics, note))
    return "\n".join(lines)


def _row(name: str, metrics: Metrics, note: str) -> str:
    return (
        f"| {name} | {metrics.n:,} | {macro_f1(metrics):.3f} | "
        f"{metrics.recall('negative'):.3f} | {note} |"
    )


def summary(report: GroupReport) -> str:
    """One line about the flagged groups, for stderr."""
    if not report.groups:
        return "no groups"
    if not report.flagged:
        return (
            f"no {report.by} group is more than {report.max_gap:.2f} macro-F1 below the "
            f"overall {report.overall_macro_f1:.3f}"
        )
    names = ", ".join(f"{g.name} ({g.macro_f1:.3f})" for g in report.flagged)
    return (
        f"FLAGGED: {len(report.flagged)} {report.by} group(s) more than {report.max_gap:.2f} "
        f"macro-F1 below the overall {report.overall_macro_f1:.3f}: {names}"
    )


def normalise_label(value: object, *, where: str) -> str:
    """A person's label as negative, neutral or positive; `ValueError` for anything else."""
    label = str(value or "").strip().lower()
    if label not in LABELS:
        raise ValueError(f"{where}: label {value!r} is not one of {', '.join(LABELS)}")
    return label


def segments_of(series_keys: str) -> tuple[str, ...]:
    """The customer segments a stored mention counted in (its ``segment:S`` series).

    >>> segments_of(" global segment:vip source:x segment:new ")
    ('vip', 'new')
    """
    return tuple(
        k.removeprefix("segment:") for k in series_keys.split() if k.startswith("segment:")
    )


def as_groups(value: object) -> tuple[str, ...]:
    """A file's group column: one name, or several separated by ``|`` or ``;``."""
    text = str(value or "").replace(";", "|")
    return tuple(part.strip() for part in text.split("|") if part.strip())
