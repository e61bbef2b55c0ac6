"""The fairness report as JSON (for tools) and as Markdown (for people)."""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any

from playbooks.fairness import FAMILIES, FairnessReport, Figure, Flag, Group

LABELS = {
    "mentions": "mentions",
    "alert_rate_per_1000": "incidents per 1,000 mentions",
    "mean_sentiment": "mean sentiment",
    "negative_share": "share negative",
    "labelled": "labelled mentions",
    "macro_f1": "sentiment macro-F1",
    "negative_recall": "negative recall",
    "customers": "customers messaged",
    "sent_per_customer": "sent per customer",
    "suppressed_per_customer": "suppressed per customer",
    "capped_per_customer": "capped per customer",
    "minutes_to_first_message": "minutes to first message (median)",
}
SIZE_OF = {"mentions": "mentions", "labels": "labelled", "messages": "customers"}
# One table per family, in this order, under these titles (Markdown and the web page alike).
TITLES = {
    "mentions": "Alerts and sentiment",
    "labels": "Sentiment against staff labels",
    "messages": "Customer messages",
}
MAIN_LANGUAGE_NOTE = (
    "The main language has no series of its own (its mentions make up `global`), so its "
    "incident rate shows –."
)


def _flag_dict(flag: Flag) -> dict[str, Any]:
    return {
        "figure": flag.figure,
        "value": flag.value,
        "overall": flag.overall,
        "difference": round(flag.value - flag.overall, 4),
        "tolerance": flag.tolerance,
        "group_size": flag.size,
    }


def _group_dict(group: Group) -> dict[str, Any]:
    return {
        "kind": group.kind,
        "name": group.name,
        "sizes": {SIZE_OF[f]: n for f, n in group.sizes.items()},
        "figures": group.figures,
        "suppressed": group.suppressed,
        "flags": [_flag_dict(f) for f in group.flags],
    }


def as_dict(report: FairnessReport) -> dict[str, Any]:
    """The report as JSON-ready data (``crisismon report fairness --format json`` and the API)."""
    return {
        "since": report.since.isoformat(),
        "min_group_size": report.min_group_size,
        "overall": _group_dict(report.overall),
        "groups": [_group_dict(g) for g in report.groups],
        "flagged": len(report.flags),
    }


def to_json(report: FairnessReport) -> str:
    return json.dumps(as_dict(report), indent=2)


def table_figures(family: str) -> list[str]:
    """A family's figures as table columns; its count is the table's size column already."""
    return [f for f in FAMILIES[family] if f not in ("mentions", "labelled", "customers")]


def figure_text(value: Figure) -> str:
    """A figure as the report writes it: – for none, thousands separated, at most 3 decimals."""
    if value is None:
        return "–"
    if isinstance(value, int):
        return f"{value:,}"
    return f"{value:,.3f}".rstrip("0").rstrip(".") if abs(value) < 1000 else f"{value:,.0f}"


@dataclass(frozen=True, slots=True)
class Cell:
    """One figure of a table: its text, and its flag when it is too far from everyone's."""

    text: str
    flag: Flag | None = None


@dataclass(frozen=True, slots=True)
class Row:
    """One group in one family's table: the size column, then a cell per figure."""

    group: Group
    size: str  # "1,234", "0" or "fewer than 10"
    hidden: bool  # fewer than k people: no figures
    cells: list[Cell]

    @property
    def name(self) -> str:
        group = self.group
        return group.name if group.kind == "overall" else f"{group.kind} {group.name}"


def table_rows(report: FairnessReport, family: str) -> list[Row]:
    """Everyone, then every group, for one family's table (Markdown and the web page)."""
    figures = table_figures(family)
    rows = []
    for group in [report.overall, *report.groups]:
        if family in group.suppressed:
            hidden = [Cell("hidden")] * len(figures)
            rows.append(Row(group, f"fewer than {report.min_group_size}", True, hidden))
        elif family not in group.sizes:
            rows.append(Row(group, "0", False, [Cell("–")] * len(figures)))
        else:
            flags = {f.figure: f for f in group.flags}
            cells = [Cell(figure_text(group.figures.get(f)), flags.get(f)) for f in figures]
            rows.append(Row(group, f"{group.sizes[family]:,}", False, cells))
    return rows


def _table(report: FairnessReport, family: str) -> list[str]:
    header = ["group", SIZE_OF[family], *(LABELS[f] for f in table_figures(family))]
    lines = ["| " + " | ".join(header) + " |", "|" + "---|" * len(header)]
    for row in table_rows(report, family):
        cells = [c.text + (" ⚑" if c.flag else "") for c in row.cells]
        lines.append("| " + " | ".join([row.name, row.size, *cells]) + " |")
    return lines


def to_markdown(report: FairnessReport) -> str:
    k = report.min_group_size
    out = [
        f"# Fairness report since {report.since:%Y-%m-%d}",
        "",
        f"A group with fewer than {k} people in a table shows no figures there (k-anonymity).",
        "⚑ marks a figure further from everyone's than its tolerance (config/fairness.yaml).",
        "",
        "## Flags",
        "",
    ]
    flags = report.flags
    if not flags:
        out.append("No group differs from everyone beyond its tolerance.")
    for group, flag in flags:
        out.append(
            f"- {group.kind} **{group.name}** ({flag.size:,} {SIZE_OF[family_of(flag.figure)]}): "
            f"{LABELS[flag.figure]} {figure_text(flag.value)} against "
            f"{figure_text(flag.overall)} for everyone "
            f"(difference {flag.value - flag.overall:+.3g}, tolerance {flag.tolerance:g})"
        )
    for family, title in TITLES.items():
        out += ["", f"## {title}", "", *_table(report, family)]
    out += ["", MAIN_LANGUAGE_NOTE]
    return "\n".join(out) + "\n"


def family_of(figure: str) -> str:
    return next(f for f, figures in FAMILIES.items() if figure in figures)
