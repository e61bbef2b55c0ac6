"""The fairness report: the same figures per segment and per language, set against everyone's.

Figures come in three families, each about its own people, and each hidden when a group has
fewer than k of them (k-anonymity, config/fairness.yaml):

- ``mentions`` (size: mentions; hidden unless k distinct people wrote them, authors or
  customers, a mention with neither counting as one person): incidents per 1,000 mentions,
  mean sentiment, the share scored negative;
- ``labels`` (labelled mentions: the latest staff correction of each): macro-F1 and negative
  recall of the scored label against the staff's;
- ``messages`` (customers messaged): messages sent, suppressed and capped per customer, and
  the median minutes from an incident's opening to its first message sent.

A group is flagged for a figure when it is further from everyone's than the tolerance.

>>> macro_f1({("negative", "negative"): 8, ("neutral", "negative"): 2, ("neutral", "neutral"): 5})
0.8611
>>> negative_recall({("negative", "negative"): 8, ("neutral", "negative"): 2})
0.8
"""

from __future__ import annotations

import statistics
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta

from sqlalchemy import Engine

from detectors.sentiment.base import LABELS
from playbooks.fairness_config import FairnessConfig
from playbooks.fairness_queries import (
    LANGUAGE,
    SEGMENT,
    Key,
    MentionSums,
    MessageSums,
    confusion,
    first_messages,
    incident_counts,
    mention_sums,
    message_sums,
    people_at_least,
)

FAMILIES: dict[str, tuple[str, ...]] = {
    "mentions": ("mentions", "alert_rate_per_1000", "mean_sentiment", "negative_share"),
    "labels": ("labelled", "macro_f1", "negative_recall"),
    "messages": (
        "customers",
        "sent_per_customer",
        "suppressed_per_customer",
        "capped_per_customer",
        "minutes_to_first_message",
    ),
}
Figure = float | int | None
DEFAULT_DAYS = 365  # a report without a start covers the last year


def report_since(value: str | None, *, now: datetime) -> datetime:
    """Where a report starts: ``value`` (a date, YYYY-MM-DD, or an ISO 8601 time; UTC unless it
    says otherwise) or, when it is empty, DEFAULT_DAYS before ``now``. ValueError with one
    readable line for anything else.

    >>> report_since("2026-01-05", now=datetime(2026, 6, 1, tzinfo=UTC)).isoformat()
    '2026-01-05T00:00:00+00:00'
    >>> report_since(None, now=datetime(2026, 6, 1, tzinfo=UTC)).date().isoformat()
    '2025-06-01'
    """
    if value is None or not value.strip():
        return now - timedelta(days=DEFAULT_DAYS)
    problem = f"{value[:40]!r} is not a date (use YYYY-MM-DD)"
    try:
        moment = datetime.fromisoformat(value.strip())
        # An offset that moves the time past year 1 or 9999 cannot be compared: refuse it.
        return moment.astimezone(UTC) if moment.tzinfo else moment.replace(tzinfo=UTC)
    except (ValueError, OverflowError):
        raise ValueError(problem) from None


@dataclass(frozen=True, slots=True)
class Flag:
    """One group's figure too far from everyone's."""

    figure: str
    value: float
    overall: float
    tolerance: float
    size: int  # the group's mentions, labelled mentions or customers, as the figure counts


@dataclass(slots=True)
class Group:
    kind: str  # "segment", "language", or "overall"
    name: str
    # Size per family (mentions, labelled mentions, customers); a family with fewer than k
    # people is absent here and listed in ``suppressed``, and its figures are not shown.
    sizes: dict[str, int] = field(default_factory=dict)
    figures: dict[str, Figure] = field(default_factory=dict)
    suppressed: list[str] = field(default_factory=list)
    flags: list[Flag] = field(default_factory=list)


@dataclass(slots=True)
class FairnessReport:
    since: datetime
    min_group_size: int
    overall: Group
    groups: list[Group]

    @property
    def flags(self) -> list[tuple[Group, Flag]]:
        return [(g, f) for g in self.groups for f in g.flags]


def fairness_report(
    engine: Engine, *, since: datetime, segments: Sequence[str], config: FairnessConfig
) -> FairnessReport:
    """Every segment in ``segments`` and every language seen, against everyone."""
    messages = message_sums(engine, since=since)
    # Segments a message went to that the file no longer lists are shown too.
    segments = [*segments, *sorted({n for k, n in messages if k == SEGMENT and n} - set(segments))]
    mentions = mention_sums(engine, since=since, segments=segments)
    labels = confusion(engine, since=since, segments=segments)
    firsts = first_messages(engine, since=since)
    languages = sorted(
        {name for kind, name in [*mentions, *messages] if kind == LANGUAGE and name is not None}
    )
    incidents = incident_counts(engine, since=since, segments=segments, languages=languages)
    keys = [(SEGMENT, None), *((SEGMENT, s) for s in segments)]
    keys += [(LANGUAGE, lang) for lang in languages if (LANGUAGE, lang) in mentions]
    people = people_at_least(engine, since=since, k=config.min_group_size, groups=keys)

    def build(key: Key, kind: str, name: str) -> Group:
        return _group(
            kind,
            name,
            mentions.get(key, MentionSums()),
            people.get(key, 0),
            incidents.get(key),
            labels.get(key, {}),
            messages.get(key, MessageSums()),
            firsts.get(key, []),
            config.min_group_size,
        )

    overall = build((SEGMENT, None), "overall", "everyone")
    groups = [build((SEGMENT, s), SEGMENT, s) for s in segments]
    groups += [build((LANGUAGE, lang), LANGUAGE, lang) for lang in languages]
    tolerance = config.tolerance.model_dump()
    for group in groups:
        group.flags = _flags(group, overall, tolerance)
    return FairnessReport(since, config.min_group_size, overall, groups)


def _group(
    kind: str,
    name: str,
    mentions: MentionSums,
    people: int,
    incidents: int | None,
    labels: Mapping[tuple[str, str], int],
    messages: MessageSums,
    firsts: list[float],
    k: int,
) -> Group:
    n, customers, labelled = mentions.mentions, messages.customers, sum(labels.values())
    per_customer = (lambda x: round(x / customers, 3)) if customers else (lambda _x: None)
    figures: dict[str, Figure] = {
        "mentions": n,
        "alert_rate_per_1000": (
            round(1000 * incidents / n, 3) if n and incidents is not None else None
        ),
        "mean_sentiment": round(mentions.sum_compound / n, 4) if n else None,
        "negative_share": round(mentions.negative / n, 4) if n else None,
        "labelled": labelled,
        "macro_f1": macro_f1(labels) if labelled else None,
        "negative_recall": negative_recall(labels),
        "customers": customers,
        "sent_per_customer": per_customer(messages.sent),
        "suppressed_per_customer": per_customer(messages.suppressed),
        "capped_per_customer": per_customer(messages.capped),
        "minutes_to_first_message": round(statistics.median(firsts), 1) if firsts else None,
    }
    group = Group(kind, name)
    # (family, its size, its people): mentions are hidden by their distinct people.
    for family, size, persons in (
        ("mentions", n, people),
        ("labels", labelled, labelled),
        ("messages", customers, customers),
    ):
        if size == 0:
            continue  # nothing to show, nothing to hide
        if persons < k:
            group.suppressed.append(family)
            continue
        group.sizes[family] = size
        group.figures.update({f: figures[f] for f in FAMILIES[family]})
    return group


def _flags(group: Group, overall: Group, tolerance: Mapping[str, float]) -> list[Flag]:
    flags: list[Flag] = []
    for family, size in group.sizes.items():
        for figure in FAMILIES[family]:
            value, everyone = group.figures.get(figure), overall.figures.get(figure)
            if figure not in tolerance or value is None or everyone is None:
                continue
            if abs(value - everyone) > tolerance[figure] + 1e-9:
                flags.append(Flag(figure, value, everyone, tolerance[figure], size))
    return flags


def macro_f1(cells: Mapping[tuple[str, str], int]) -> float:
    """The mean F1 over the labels that occur, scored or given; cells are (scored, staff)."""
    present = [lab for lab in LABELS if any(lab in pair for pair, n in cells.items() if n)]
    scores = []
    for label in present:
        hit = cells.get((label, label), 0)
        scored = sum(n for (s, _), n in cells.items() if s == label)
        given = sum(n for (_, g), n in cells.items() if g == label)
        scores.append(2 * hit / (scored + given) if scored + given else 0.0)
    return round(sum(scores) / len(scores), 4) if scores else 0.0


def negative_recall(cells: Mapping[tuple[str, str], int]) -> float | None:
    """Of the mentions staff called negative, the share scored negative; None without any."""
    given = sum(n for (_, g), n in cells.items() if g == "negative")
    return round(cells.get(("negative", "negative"), 0) / given, 4) if given else None
