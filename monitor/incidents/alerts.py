"""Render an incident as the alert a support lead reads: Block Kit blocks plus the same text.

The text is what the console notifier prints, what `crisismon demo` shows, what Slack shows in
notifications, and what is stored on the incident: one rendering, so they never disagree.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from detectors.explain import METRIC_TITLES
from monitor.incidents.service import IncidentDetail
from monitor.storage.models import Anomaly

_SEVERITY_ICON = {
    "critical": ":rotating_light:",
    "warning": ":warning:",
    "info": ":information_source:",
}
_MAX_SERIES = 5
_MAX_QUOTES = 3
_MAX_QUOTE = 240


@dataclass(frozen=True, slots=True)
class AlertMessage:
    text: str
    blocks: list[dict[str, Any]] = field(default_factory=list)


def render_alert(detail: IncidentDetail, *, dashboard_url: str | None = None) -> AlertMessage:
    incident = detail.incident
    icon = _SEVERITY_ICON.get(incident.severity, "")
    headline = f"{incident.title} [{incident.severity.upper()}]"
    window = f"{incident.first_window_start:%Y-%m-%d %H:%M}–{incident.last_window_end:%H:%M} UTC"
    intro = f"Incident #{incident.id} · series: {', '.join(incident.series.split())} · {window}"

    # The strongest finding per series tells the story; the rest are counted, not listed.
    strongest: dict[str, Anomaly] = {}
    for anomaly in detail.anomalies:  # already strongest first
        strongest.setdefault(anomaly.series, anomaly)
    why_lines = []
    for anomaly in list(strongest.values())[:_MAX_SERIES]:
        metric = METRIC_TITLES.get(anomaly.metric, anomaly.metric)
        why_lines.append(
            f"• {anomaly.series} · {metric.lower()}: {anomaly.summary} "
            f"(detector {anomaly.detector}, window {anomaly.window_start:%H:%M} UTC)"
        )
    hidden = len(detail.anomalies) - min(len(strongest), _MAX_SERIES)
    if hidden > 0:
        windows = "window" if hidden == 1 else "windows"
        why_lines.append(f"• plus {hidden} more anomalous {windows} in this incident")

    quotes: list[str] = []
    seen_texts: set[str] = set()
    for mention in detail.examples:
        if mention.text not in seen_texts and len(quotes) < _MAX_QUOTES:
            seen_texts.add(mention.text)
            quotes.append(
                f"> “{_shorten(mention.text)}” ({mention.source}, {mention.event_time:%H:%M} UTC)"
            )

    text_parts = [f"{icon} {headline}".strip(), intro, "Why it fired:", *why_lines]
    if quotes:
        text_parts += ["Example mentions:", *quotes]
    if dashboard_url:
        text_parts.append(f"Open: {dashboard_url}")

    blocks: list[dict[str, Any]] = [
        {"type": "header", "text": {"type": "plain_text", "text": _shorten(headline, 150)}},
        {"type": "context", "elements": [{"type": "mrkdwn", "text": intro}]},
        {
            "type": "section",
            "text": {"type": "mrkdwn", "text": "*Why it fired*\n" + "\n".join(why_lines)},
        },
    ]
    if quotes:
        blocks.append(
            {
                "type": "section",
                "text": {"type": "mrkdwn", "text": "*Example mentions*\n" + "\n".join(quotes)},
            }
        )
    return AlertMessage(text="\n".join(text_parts), blocks=blocks)


def _shorten(text: str, limit: int = _MAX_QUOTE) -> str:
    return text if len(text) <= limit else text[: limit - 1] + "…"
