"""The fairness report as JSON (for tools) and as Markdown (for people)."""

from __future__ import annotations

import json
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


def to_json(report: FairnessReport) -> str:
    return json.dumps(
        {
            "since": report.since.isoformat(),
            "min_group_size": report.min_group_size,
            "overall": _group_dict(report.overall),
            "groups": [_group_dict(g) for g in report.groups],
            "flagged": len(report.flags),
        },
        indent=2,
    )


def _cell(value: Figure) -> str:
    if value is None:
        return "–"
    if isinstance(value, int):
        return f"{value:,}"
    return f"{value:,.3f}".rstrip("0").rstrip(".") if abs(value) < 1000 else f"{value:,.0f}"


def _table(report: FairnessReport, family: str) -> list[str]:
    # The mention, labelled and messaged counts are the family's size column already.
    figures = [f for f in FAMILIES[family] if f not in ("mentions", "labelled", "customers")]
    header = ["group", SIZE_OF[family], *(LABELS[f] for f in figures)]
    lines = ["| " + " | ".join(header) + " |", "|" + "---|" * len(header)]
    k = report.min_group_size
    for group in [report.overall, *report.groups]:
        name = group.name if group.kind == "overall" else f"{group.kind} {group.name}"
        if family in group.suppressed:
            cells = [f"fewer than {k}"] + ["hidden"] * len(figures)
        elif family not in group.sizes:
            cells = ["0"] + ["–"] * len(figures)
        else:
            flagged = {f.figure for f in group.flags}
            cells = [f"{group.sizes[family]:,}"] + [
                _cell(group.figures.get(f)) + (" ⚑" if f in flagged else "") for f in figures
            ]
        lines.append("| " + " | ".join([name, *cells]) + " |")
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
            f"- {group.kind} **{group.name}** ({flag.size:,} {SIZE_OF[_family(flag.figure)]}): "
            f"{LABELS[flag.figure]} {_cell(flag.value)} against {_cell(flag.overall)} for "
            f"everyone (difference {flag.value - flag.overall:+.3g}, tolerance {flag.tolerance:g})"
        )
    for family, title in (
        ("mentions", "Alerts and sentiment"),
        ("labels", "Sentiment against staff labels"),
        ("messages", "Customer messages"),
    ):
        out += ["", f"## {title}", "", *_table(report, family)]
    out += [
        "",
        "The main language has no series of its own (its mentions make up `global`), so its "
        "incident rate shows –.",
    ]
    return "\n".join(out) + "\n"


def _family(figure: str) -> str:
    return next(f for f, figures in FAMILIES.items() if figure in figures)
