"""Render an incident as the alert a support lead reads: Block Kit blocks plus the same text.

The text is what the console notifier prints, what `crisismon demo` shows, what Slack shows in
notifications, and what is stored on the incident: one rendering, so they never disagree.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from detectors.explain import METRIC_TITLES, describe_top_terms
from monitor.incidents.acknowledge import ack_block
from monitor.incidents.feedback_buttons import feedback_blocks
from monitor.incidents.service import SEVERITY_RANK, IncidentDetail, top_terms_of
from monitor.storage.models import Anomaly
from streams.near_duplicates import NOT_COPIED

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
    """``text`` is for people (console, storage); Slack gets ``slack_text`` and ``blocks``,
    where customer words are escaped so they cannot ping a channel or disguise a link."""

    text: str
    blocks: list[dict[str, Any]] = field(default_factory=list)
    slack_text: str = ""


DRILL_TAG = "[DRILL]"


def slack_escape(text: str) -> str:
    """Escape the three characters Slack's mrkdwn treats as control characters.

    >>> slack_escape("<!channel> & <https://x|y>")
    '&lt;!channel&gt; &amp; &lt;https://x|y&gt;'
    """
    return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


def _plain(text: str) -> str:
    return text


@dataclass(frozen=True, slots=True)
class _Parts:
    headline: str
    intro: str
    why: list[str]
    quotes: list[str]


def _parts(detail: IncidentDetail, esc: Callable[[str], str]) -> _Parts:
    incident = detail.incident
    headline = f"{incident.title} [{incident.severity.upper()}]"
    # The span of the strongest anomalies: earlier, milder blips of the same incident stay
    # listed in `crisismon incidents` but would only blur when the trouble began.
    top = max((SEVERITY_RANK.get(a.severity, 0) for a in detail.anomalies), default=0)
    leading = [a for a in detail.anomalies if SEVERITY_RANK.get(a.severity, 0) == top]
    first = min((a.window_start for a in leading), default=incident.first_window_start)
    last = max((a.window_end for a in leading), default=incident.last_window_end)
    window = f"{first:%Y-%m-%d %H:%M}–{last:%H:%M} UTC"
    series = esc(", ".join(incident.series.split()))
    intro = f"Incident #{incident.id} · series: {series} · {window}"

    # The strongest finding per series tells the story; the rest are counted, not listed.
    strongest: dict[str, Anomaly] = {}
    for anomaly in detail.anomalies:  # already strongest first
        strongest.setdefault(anomaly.series, anomaly)
    why = []
    for anomaly in list(strongest.values())[:_MAX_SERIES]:
        metric = METRIC_TITLES.get(anomaly.metric, anomaly.metric)
        why.append(
            f"• {esc(anomaly.series)} · {metric.lower()}: {esc(anomaly.summary)} "
            f"(detector {esc(anomaly.detector)}, window {anomaly.window_start:%H:%M} UTC)"
        )
    hidden = len(detail.anomalies) - min(len(strongest), _MAX_SERIES)
    if hidden > 0:
        windows = "window" if hidden == 1 else "windows"
        why.append(f"• plus {hidden} more anomalous {windows} in this incident")
    terms = top_terms_of(detail)  # what people are saying more than usual
    if terms:
        why.append(f"• top terms: {esc(describe_top_terms(terms))}")

    quotes: list[str] = []
    seen_texts: set[str] = set()
    for mention in detail.examples:
        if mention.text not in seen_texts and len(quotes) < _MAX_QUOTES:
            seen_texts.add(mention.text)
            # Why the scorer called it what it did, in its own words (first three drivers).
            why_label = ""
            if mention.sentiment_drivers:
                drivers = ", ".join(mention.sentiment_drivers.split(" | ")[:3])
                why_label = f" · {mention.label}: {esc(drivers)}"
            quotes.append(
                f"> “{esc(_shorten(mention.text))}” "
                f"({esc(mention.source)}, {mention.event_time:%H:%M} UTC){why_label}"
                f"{detail.spread.get(mention.mention_id, NOT_COPIED).describe()}"
            )
    return _Parts(headline, intro, why, quotes)


def why_it_fired(detail: IncidentDetail) -> list[str]:
    """The alert's "Why it fired" lines, word for word as the Slack alert and the console show
    them (plain text: the web page escapes them itself)."""
    return _parts(detail, _plain).why


def _as_text(parts: _Parts, icon: str, dashboard_url: str | None) -> str:
    lines = [f"{icon} {parts.headline}".strip(), parts.intro, "Why it fired:", *parts.why]
    if parts.quotes:
        lines += ["Example mentions:", *parts.quotes]
    if dashboard_url:
        lines.append(f"Open: {dashboard_url}")
    return "\n".join(lines)


def render_alert(detail: IncidentDetail, *, dashboard_url: str | None = None) -> AlertMessage:
    icon = _SEVERITY_ICON.get(detail.incident.severity, "")
    plain = _parts(detail, _plain)
    slack = _parts(detail, slack_escape)
    blocks: list[dict[str, Any]] = [
        # plain_text blocks are not parsed by Slack, so the headline needs no escaping.
        {"type": "header", "text": {"type": "plain_text", "text": _shorten(plain.headline, 150)}},
        {"type": "context", "elements": [{"type": "mrkdwn", "text": slack.intro}]},
        {
            "type": "section",
            "text": {"type": "mrkdwn", "text": "*Why it fired*\n" + "\n".join(slack.why)},
        },
    ]
    if slack.quotes:
        blocks.append(
            {
                "type": "section",
                "text": {
                    "type": "mrkdwn",
                    "text": "*Example mentions*\n" + "\n".join(slack.quotes),
                },
            }
        )
    if detail.incident.id is not None:
        blocks.append(ack_block(detail.incident.id))
        blocks.extend(feedback_blocks(detail.incident.id))
    text, slack_text = _as_text(plain, icon, dashboard_url), _as_text(slack, icon, dashboard_url)
    if detail.incident.drill:
        # A drill's alert says so first, in every place a person may read it.
        text, slack_text = f"{DRILL_TAG} {text}", f"{DRILL_TAG} {slack_text}"
        header = blocks[0]["text"]
        header["text"] = _shorten(f"{DRILL_TAG} {header['text']}", 150)
    return AlertMessage(text=text, blocks=blocks, slack_text=slack_text)


@dataclass(frozen=True, slots=True)
class Headline:
    """What an alert states about its incident at a glance: severity, title and series. When
    these change after the alert was posted, the alert is edited (``alert_updates``)."""

    severity: str
    title: str
    series: tuple[str, ...]


def headline_of(detail: IncidentDetail) -> Headline:
    incident = detail.incident
    return Headline(incident.severity, incident.title, tuple(incident.series.split()))


def posted_headline(text: str) -> Headline | None:
    r"""The headline of an alert's stored ``text`` (as ``render_alert`` wrote it), or None.

    >>> found = posted_headline(
    ...     ":warning: Mention volume spike on global [WARNING]\n"
    ...     "Incident #4 · series: global, source:social · 2026-01-05 10:00–10:03 UTC\nWhy…")
    >>> found.severity, found.title, found.series
    ('warning', 'Mention volume spike on global', ('global', 'source:social'))
    """
    lines = text.removeprefix(f"{DRILL_TAG} ").splitlines()
    if len(lines) < 2:
        return None
    first = lines[0]
    for icon in _SEVERITY_ICON.values():
        first = first.removeprefix(f"{icon} ")
    title, bracket, rest = first.rpartition(" [")
    _, marker, tail = lines[1].partition(" · series: ")
    if not bracket or not rest.endswith("]") or not marker:
        return None
    series = tail.rpartition(" · ")[0]  # the window comes last
    return Headline(rest[:-1].lower(), title, tuple(series.split(", ")))


def change_note(before: Headline, after: Headline) -> str | None:
    """The short note threaded under an edited alert: only when the incident was raised, since
    a note notifies the channel; a series that joined only shows in the edited alert.

    >>> old = Headline("warning", "Term burst on topic:billing", ("topic:billing",))
    >>> change_note(old, Headline("critical", "Mention volume spike on global",
    ...                           ("topic:billing", "global")))
    'Raised to critical: Mention volume spike on global (now also on global)'
    >>> change_note(old, Headline("warning", old.title, ("topic:billing", "source:tickets")))
    """
    if SEVERITY_RANK.get(after.severity, 0) <= SEVERITY_RANK.get(before.severity, 0):
        return None
    added = [s for s in after.series if s not in before.series]
    also = f" (now also on {', '.join(added)})" if added else ""
    return f"Raised to {after.severity}: {after.title}{also}"


def _shorten(text: str, limit: int = _MAX_QUOTE) -> str:
    return text if len(text) <= limit else text[: limit - 1] + "…"
