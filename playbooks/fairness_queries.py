"""The fairness report's sums, one GROUP BY query each, on SQLite and PostgreSQL alike.

Each function returns a few rows per group (a segment, a language, or everyone as ``None``),
never a row per mention or delivery: a year of data is summed by the database.
A mention is in segment S when its series keys hold ``segment:S`` (its customer's segments
when it was ingested, the same series the detectors watched); a delivery is in the segment
whose copy its customer got. Languages are the mention's ``lang`` and the customer's locale.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import (
    ColumnElement,
    Engine,
    and_,
    case,
    distinct,
    false,
    func,
    literal_column,
    null,
    select,
)

from detectors.sentiment.language import normalise_tag
from detectors.series import MAIN_LANGUAGE
from monitor.storage.models import Anomaly, Incident, Mention, SentimentCorrection
from playbooks.models import Customer, Delivery, Draft

SEGMENT = "segment"
LANGUAGE = "language"
UNKNOWN_LANGUAGE = "unknown"
# The reason policy.py gives when the frequency cap holds a message back.
CAP_REASON = "frequency cap%"

_mentions = Mention.__table__  # type: ignore[attr-defined]
_anomalies = Anomaly.__table__  # type: ignore[attr-defined]
_incidents = Incident.__table__  # type: ignore[attr-defined]
_corrections = SentimentCorrection.__table__  # type: ignore[attr-defined]
_deliveries = Delivery.__table__  # type: ignore[attr-defined]
_drafts = Draft.__table__  # type: ignore[attr-defined]
_customers = Customer.__table__  # type: ignore[attr-defined]

Key = tuple[str, str | None]  # (kind, group name); (kind, None) is everyone


@dataclass
class MentionSums:
    mentions: int = 0
    people: int = 0
    sum_compound: float = 0.0
    negative: int = 0


@dataclass
class MessageSums:
    customers: int = 0
    sent: int = 0
    suppressed: int = 0
    capped: int = 0


def _in_segment(name: str) -> ColumnElement[bool]:
    # Segment names are YAML keys; escape LIKE's wildcards so "a_b" does not match "axb".
    escaped = name.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
    return _mentions.c.series_keys.like(f"% segment:{escaped} %", escape="\\")


def _count_if(when: ColumnElement[bool]) -> Any:
    return func.coalesce(func.sum(case((when, 1), else_=0)), 0)


def _lang(column: Any) -> Any:
    # A literal, not a bound parameter: PostgreSQL sees two parameters in SELECT and GROUP BY
    # as two different expressions.
    return func.coalesce(func.lower(column), literal_column("''"))


def _mention_filter(since: datetime) -> list[ColumnElement[bool]]:
    # Drills and near-duplicate copies are left out, as the detectors leave them out of volume.
    return [
        _mentions.c.drill == false(),
        _mentions.c.canonical_id.is_(None),
        _mentions.c.event_time >= since,
    ]


def mention_sums(
    engine: Engine, *, since: datetime, segments: Sequence[str]
) -> dict[Key, MentionSums]:
    """Two passes over the mentions: one GROUP BY language, one for everyone and every
    segment at once (a conditional sum per segment, not a scan per segment)."""
    m = _mentions
    person = func.coalesce(m.c.customer_id, m.c.author, m.c.mention_id)
    negative = m.c.label == "negative"

    def sums(when: ColumnElement[bool] | None) -> list[Any]:
        if when is None:
            return [
                func.count(),
                func.count(distinct(person)),
                func.sum(m.c.compound),
                _count_if(negative),
            ]
        return [
            _count_if(when),
            func.count(distinct(case((when, person)))),
            func.sum(case((when, m.c.compound), else_=0.0)),
            _count_if(and_(when, negative)),
        ]

    where = _mention_filter(since)
    by_language = select(_lang(m.c.lang), *sums(None)).where(*where).group_by(_lang(m.c.lang))
    columns = sums(None) + [c for name in segments for c in sums(_in_segment(name))]
    out: dict[Key, MentionSums] = {}
    with engine.connect() as conn:
        for lang, *row in conn.execute(by_language):
            out[(LANGUAGE, lang or UNKNOWN_LANGUAGE)] = _mention_sums(row)
        wide = list(conn.execute(select(*columns).where(*where)).one())
    for index, name in enumerate([None, *segments]):
        out[(SEGMENT, name)] = _mention_sums(wide[4 * index : 4 * index + 4])
    out[(LANGUAGE, None)] = out[(SEGMENT, None)]
    return out


def _mention_sums(row: Sequence[Any]) -> MentionSums:
    n, people, compound, negative = row
    return MentionSums(int(n or 0), int(people or 0), float(compound or 0.0), int(negative or 0))


def incident_counts(
    engine: Engine, *, since: datetime, segments: Sequence[str], languages: Sequence[str]
) -> dict[Key, int]:
    """Real incidents opened since ``since``: all of them, and those a group's series was in.

    The main language has no series of its own (it would repeat ``global``), so it has none.
    """
    series = {f"segment:{s}": (SEGMENT, s) for s in segments}
    series.update({f"lang:{lang}": (LANGUAGE, lang) for lang in languages if lang != MAIN_LANGUAGE})
    a, i = _anomalies, _incidents
    real = and_(i.c.drill == false(), i.c.opened_at >= since)
    # A group with a series of its own and no incident has a rate of 0, not "unknown".
    out: dict[Key, int] = {key: 0 for key in series.values()}
    with engine.connect() as conn:
        everyone = int(conn.execute(select(func.count()).select_from(i).where(real)).scalar_one())
        out[(SEGMENT, None)] = out[(LANGUAGE, None)] = everyone
        if series:
            query = (
                select(a.c.series, func.count(distinct(a.c.incident_id)))
                .select_from(a.join(i, a.c.incident_id == i.c.id))
                .where(real, a.c.series.in_(list(series)))
                .group_by(a.c.series)
            )
            for name, count in conn.execute(query):
                out[series[name]] = int(count)
    return out


def confusion(
    engine: Engine, *, since: datetime, segments: Sequence[str]
) -> dict[Key, dict[tuple[str, str], int]]:
    """(scored label, staff label) counts per group; the latest correction of a mention wins."""
    m, c = _mentions, _corrections
    latest = select(func.max(c.c.id).label("id")).group_by(c.c.mention_id).subquery("latest")
    labels = (
        select(c.c.mention_id, c.c.label)
        .select_from(c.join(latest, latest.c.id == c.c.id))
        .subquery("staff")
    )
    base = m.join(labels, labels.c.mention_id == m.c.mention_id)
    where = _mention_filter(since)
    by_language = (
        select(_lang(m.c.lang), m.c.label, labels.c.label, func.count())
        .select_from(base)
        .where(*where)
        .group_by(_lang(m.c.lang), m.c.label, labels.c.label)
    )
    per_segment = [_count_if(_in_segment(name)) for name in segments]
    wide = (
        select(m.c.label, labels.c.label, func.count(), *per_segment)
        .select_from(base)
        .where(*where)
        .group_by(m.c.label, labels.c.label)
    )
    out: dict[Key, dict[tuple[str, str], int]] = {}
    with engine.connect() as conn:
        for lang, scored, staff, count in conn.execute(by_language):
            out.setdefault((LANGUAGE, lang or UNKNOWN_LANGUAGE), {})[(scored, staff)] = int(count)
        for scored, staff, *counts in conn.execute(wide):
            for name, count in zip([None, *segments], counts, strict=True):
                if count:
                    out.setdefault((SEGMENT, name), {})[(scored, staff)] = int(count)
    if (SEGMENT, None) in out:
        out[(LANGUAGE, None)] = out[(SEGMENT, None)]
    return out


def _message_base(since: datetime) -> tuple[Any, list[ColumnElement[bool]]]:
    d, dr, cu, i = _deliveries, _drafts, _customers, _incidents
    joined = (
        d.join(dr, dr.c.id == d.c.draft_id)
        .join(cu, cu.c.id == d.c.customer_id)
        .join(i, i.c.id == dr.c.incident_id)
    )
    return joined, [d.c.created_at >= since, i.c.drill == false()]


def message_sums(engine: Engine, *, since: datetime) -> dict[Key, MessageSums]:
    """Deliveries by outcome per segment copy, per customer language, and for everyone."""
    d, dr, cu = _deliveries, _drafts, _customers
    joined, where = _message_base(since)
    capped = and_(d.c.status == "suppressed", d.c.reason.like(CAP_REASON))
    sums = (
        func.count(distinct(d.c.customer_id)),
        func.coalesce(func.sum(case((d.c.status == "sent", 1), else_=0)), 0),
        func.coalesce(func.sum(case((and_(d.c.status == "suppressed", ~capped), 1), else_=0)), 0),
        func.coalesce(func.sum(case((capped, 1), else_=0)), 0),
    )
    queries = [
        (
            SEGMENT,
            select(dr.c.segment, *sums).select_from(joined).where(*where).group_by(dr.c.segment),
        ),
        (
            LANGUAGE,
            select(cu.c.locale, *sums).select_from(joined).where(*where).group_by(cu.c.locale),
        ),
        (SEGMENT, select(null(), *sums).select_from(joined).where(*where)),
    ]
    out: dict[Key, MessageSums] = {}
    with engine.connect() as conn:
        for kind, query in queries:
            for group, customers, sent, suppressed, n_capped in conn.execute(query):
                name = _language_of(group) if kind == LANGUAGE else group
                # Locales of one language (fr-FR, fr-CA) add up: a customer has one locale.
                total = out.setdefault((kind, name), MessageSums())
                total.customers += int(customers)
                total.sent += int(sent)
                total.suppressed += int(suppressed)
                total.capped += int(n_capped)
    out[(LANGUAGE, None)] = out.get((SEGMENT, None), MessageSums())
    return out


def first_messages(engine: Engine, *, since: datetime) -> dict[Key, list[float]]:
    """Minutes from each incident's opening to its first message sent, per group."""
    d, dr, cu, i = _deliveries, _drafts, _customers, _incidents
    joined, where = _message_base(since)
    where = [*where, d.c.status == "sent"]
    first = func.min(d.c.sent_at)
    queries: list[tuple[str, Any]] = [
        (SEGMENT, dr.c.segment),
        (LANGUAGE, cu.c.locale),
        (SEGMENT, None),
    ]
    # (group, incident) -> earliest send and the opening; a few rows per incident.
    earliest: dict[tuple[Key, int], tuple[datetime, datetime]] = {}
    with engine.connect() as conn:
        for kind, column in queries:
            keys = [i.c.id, i.c.opened_at] if column is None else [column, i.c.id, i.c.opened_at]
            shown = null() if column is None else column
            query = (
                select(shown, i.c.id, i.c.opened_at, first)
                .select_from(joined)
                .where(*where)
                .group_by(*keys)
            )
            for group, incident, opened, sent in conn.execute(query):
                name = _language_of(group) if kind == LANGUAGE else group
                at = ((kind, name), int(incident))
                if at not in earliest or sent < earliest[at][0]:
                    earliest[at] = (sent, opened)
    out: dict[Key, list[float]] = {}
    for (key, _incident), (sent, opened) in earliest.items():
        out.setdefault(key, []).append(max(0.0, (sent - opened).total_seconds() / 60))
    out[(LANGUAGE, None)] = out.get((SEGMENT, None), [])
    return out


def _language_of(locale: str | None) -> str:
    return normalise_tag(locale) or UNKNOWN_LANGUAGE
