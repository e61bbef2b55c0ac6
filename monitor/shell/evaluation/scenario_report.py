"""The scenario benchmark's scores as Markdown tables or JSON."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from monitor.shell.evaluation.scenarios import (
    CrisisScore,
    Incident,
    SeedScore,
    Summary,
    Totals,
    by_kind,
    totals,
)

_LISTED = 40  # misses and false alarms listed in Markdown; JSON has them all
_SERIES_NAMED = 3


def _delay(minutes: float | None) -> str:
    return "–" if minutes is None else f"{minutes:.0f} min"


def _seed_label(score: SeedScore) -> str:
    return f"{score.seed} (tuning)" if score.tuning else str(score.seed)


def _groups(seeds: Sequence[SeedScore]) -> list[tuple[str, list[SeedScore]]]:
    held = [s for s in seeds if not s.tuning]
    tuned = [s for s in seeds if s.tuning]
    groups = []
    if held:
        groups.append(("held out", held))
    if tuned:
        groups.append(("tuning", tuned))
    return groups


def _kind_rows(summaries: Sequence[Summary]) -> list[str]:
    rows = [
        "| kind | crises | found | on the right series | median delay | max delay "
        "| more than one incident |",
        "|---|---:|---:|---:|---:|---:|---:|",
    ]
    rows += [
        f"| {s.label} | {s.crises} | {s.found} | {s.right_series} | {_delay(s.median_delay)} "
        f"| {_delay(s.max_delay)} | {s.duplicated} |"
        for s in summaries
    ]
    return rows


def _totals_row(t: Totals) -> str:
    c = t.crises
    seeds = ", ".join(str(s) for s in t.seeds)
    return (
        f"| {t.label} ({seeds}) | {c.crises} | {c.found} | {c.right_series} "
        f"| {_delay(c.median_delay)} | {_delay(c.max_delay)} | {t.false_alarms_per_day:.2f} "
        f"| {t.decoys_fired} of {t.decoys} | {c.duplicated} |"
    )


def _describe_series(series: Sequence[str]) -> str:
    named = ", ".join(series[:_SERIES_NAMED])
    more = len(series) - _SERIES_NAMED
    return named + (f" +{more} more" if more > 0 else "")


def _miss_line(seed: SeedScore, score: CrisisScore) -> str:
    c = score.crisis
    where = f"{c.kind} on {c.slice}, onset {c.onset:%a %d %H:%M} UTC ({c.local_hour:02d}h local)"
    if not score.found:
        what = "not paged"
        if (swallower := score.absorbed_by) is not None and swallower.paged_at is not None:
            what += (
                f"; ran into an incident paged {swallower.paged_at:%a %d %H:%M} "
                f"({swallower.metric.replace('_', ' ')} on {_describe_series(swallower.series)})"
            )
    else:
        what = (
            f"paged after {_delay(score.delay_minutes)} on {_describe_series(score.paged_series)}"
            f", none of {', '.join(c.series)}"
        )
    return f"- seed {seed.seed} {c.id} ({where}): {what}"


def _alarm_line(seed: SeedScore, incident: Incident) -> str:
    paged = f"{incident.paged_at:%a %d %H:%M}" if incident.paged_at else "?"
    return (
        f"- seed {seed.seed} {paged} UTC: {incident.severity} "
        f"{incident.metric.replace('_', ' ')} on {_describe_series(incident.series)}"
    )


def render_markdown(seeds: Sequence[SeedScore], *, days: int, tuning_seeds: Sequence[int]) -> str:
    tuned = ", ".join(str(s) for s in tuning_seeds) or "none"
    lines = [
        f"# Scenario benchmark: {days} days per seed, live configuration",
        "",
        f"Tuning seeds (thresholds may be chosen on these): {tuned}. Every other seed is held "
        "out. A crisis is found when an incident pages between its onset and 30 minutes after "
        "its end; delays are from onset to that page (docs/scenarios.md).",
        "",
        "## Per seed",
        "",
        "| seed | crises | found | on the right series | false alarms a day | decoys fired "
        "| more than one incident |",
        "|---|---:|---:|---:|---:|---:|---:|",
    ]
    for s in seeds:
        found = sum(c.found for c in s.crises)
        right = sum(c.right_series for c in s.crises)
        fired = len({d.id for d, _ in s.decoys_fired})
        lines.append(
            f"| {_seed_label(s)} | {len(s.crises)} | {found} | {right} "
            f"| {s.false_alarms_per_day:.2f} | {fired} of {s.decoys} "
            f"| {sum(c.incidents > 1 for c in s.crises)} |"
        )
    groups = _groups(seeds)
    for label, group in groups:
        lines += ["", f"## Per crisis kind, {label} seeds", "", *_kind_rows(by_kind(group))]
    lines += [
        "",
        "## Totals",
        "",
        "| seeds | crises | found | on the right series | median delay | max delay "
        "| false alarms a day | decoys fired | more than one incident |",
        "|---|---:|---:|---:|---:|---:|---:|---:|---:|",
        *(_totals_row(totals(label, group)) for label, group in groups),
    ]
    misses = [(s, c) for s in seeds for c in s.crises if not c.right_series]
    if misses:
        lines += ["", "## Crises not paged on the right series", ""]
        lines += [_miss_line(s, c) for s, c in misses[:_LISTED]]
        if len(misses) > _LISTED:
            lines.append(f"- … and {len(misses) - _LISTED} more (--format json lists all)")
    alarms = [(s, i) for s in seeds for i in s.false_alarms]
    decoys = [(s, d, i) for s in seeds for d, i in s.decoys_fired]
    if alarms or decoys:
        lines += ["", "## False alarms and decoys that paged", ""]
        lines += [_alarm_line(s, i) for s, i in alarms[:_LISTED]]
        if len(alarms) > _LISTED:
            lines.append(f"- … and {len(alarms) - _LISTED} more false alarms")
        lines += [f"{_alarm_line(s, i)} (decoy {d.id})" for s, d, i in decoys]
    return "\n".join(lines) + "\n"


def _incident_json(incident: Incident) -> dict[str, Any]:
    return {
        "opened_at": incident.opened_at.isoformat(),
        "paged_at": incident.paged_at.isoformat() if incident.paged_at else None,
        "closed_at": incident.closed_at.isoformat(),
        "series": list(incident.series),
        "severity": incident.severity,
        "metric": incident.metric,
    }


def _summary_json(s: Summary) -> dict[str, Any]:
    return {
        "crises": s.crises,
        "found": s.found,
        "right_series": s.right_series,
        "median_delay_minutes": s.median_delay,
        "max_delay_minutes": s.max_delay,
        "more_than_one_incident": s.duplicated,
    }


def render_json(
    seeds: Sequence[SeedScore], *, days: int, tuning_seeds: Sequence[int]
) -> dict[str, Any]:
    return {
        "days": days,
        "tuning_seeds": list(tuning_seeds),
        "seeds": [
            {
                "seed": s.seed,
                "tuning": s.tuning,
                "days_scored": s.days_scored,
                "incidents": s.incidents,
                "false_alarms_per_day": s.false_alarms_per_day,
                "crises": [
                    {
                        **c.crisis.to_json(),
                        "found": c.found,
                        "right_series": c.right_series,
                        "delay_minutes": c.delay_minutes,
                        "incidents": c.incidents,
                        "paged_series": list(c.paged_series),
                        "absorbed_by": _incident_json(c.absorbed_by) if c.absorbed_by else None,
                    }
                    for c in s.crises
                ],
                "false_alarms": [_incident_json(i) for i in s.false_alarms],
                "decoys": s.decoys,
                "decoys_fired": [
                    {"decoy": d.to_json(), "incident": _incident_json(i)} for d, i in s.decoys_fired
                ],
            }
            for s in seeds
        ],
        "groups": {
            label: {
                "by_kind": {k.label: _summary_json(k) for k in by_kind(group)},
                "all": _summary_json(t.crises),
                "false_alarms_per_day": t.false_alarms_per_day,
                "decoys": t.decoys,
                "decoys_fired": t.decoys_fired,
            }
            for label, group in _groups(seeds)
            for t in [totals(label, group)]
        },
    }
