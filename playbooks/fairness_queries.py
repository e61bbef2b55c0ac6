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


def _mention_filter(engine: Engine, since: datetime) -> list[ColumnElement[bool]]:
    """Drills and near-duplicate copies are left out, as the detectors leave them out of
    volume; and mentions before ``since``, unless there are none (then a plain scan reads
    every row faster than the event-time index would hand them over one by one)."""
    where = [_mentions.c.drill == false(), _mentions.c.canonical_id.is_(None)]
    with engine.connect() as conn:
        first = conn.execute(select(func.min(_mentions.c.event_time))).scalar()
    if first is None or first < since:
        where.append(_mentions.c.event_time >= since)
    return where


def _segment_flags(segments: Sequence[str]) -> list[Any]:
    """A 0/1 column per segment, ``s0``, ``s1``…: is the mention in it."""
    return [case((_in_segment(name), 1), else_=0).label(f"s{i}") for i, name in enumerate(segments)]


def _membership(segments: Sequence[str], *columns: Any) -> list[Any]:
    """One row per mention: its language, a 0/1 per segment, and ``columns``."""
    return [_lang(_mentions.c.lang).label("lang"), *_segment_flags(segments), *columns]


def _groups_of(lang: str, flags: Sequence[int], segments: Sequence[str]) -> list[Key]:
    """The groups a membership pattern adds to: everyone, its language, its segments."""
    named = [(SEGMENT, name) for name, flag in zip(segments, flags, strict=True) if flag]
    return [(SEGMENT, None), (LANGUAGE, lang or UNKNOWN_LANGUAGE), *named]


def mention_sums(
    engine: Engine, *, since: datetime, segments: Sequence[str]
) -> dict[Key, MentionSums]:
    """Two passes: one GROUP BY language; one GROUP BY segment pattern (which of the segments a
    mention is in) over the mentions with a customer, as only they can be in a segment.
    Measured on a year in SQLite (which sorts to group), this beats one pass grouped by
    language and pattern together, and a conditional sum per segment."""
    m = _mentions
    negative = m.c.label == "negative"
    where = _mention_filter(engine, since)
    lang = _lang(m.c.lang)
    by_language = select(lang, func.count(), func.sum(m.c.compound), _count_if(negative))
    out: dict[Key, MentionSums] = {(SEGMENT, None): MentionSums()}
    everyone = out[(SEGMENT, None)]
    with engine.connect() as conn:
        for name, n, compound, n_negative in conn.execute(by_language.where(*where).group_by(lang)):
            sums = _mention_sums([n, compound, n_negative])
            out[(LANGUAGE, name or UNKNOWN_LANGUAGE)] = sums
            everyone.mentions += sums.mentions
            everyone.sum_compound += sums.sum_compound
            everyone.negative += sums.negative
        if segments:
            negative_flag = case((negative, 1), else_=0).label("negative")
            flags = select(*_segment_flags(segments), m.c.compound, negative_flag)
            rows = flags.where(*where, m.c.customer_id.is_not(None)).subquery("known")
            pattern = [rows.c[f"s{i}"] for i in range(len(segments))]
            query = select(
                *pattern, func.count(), func.sum(rows.c.compound), func.sum(rows.c.negative)
            ).group_by(*pattern)
            for *inside, n, compound, n_negative in conn.execute(query):
                for name, flag in zip(segments, inside, strict=True):
                    if flag:
                        sums = out.setdefault((SEGMENT, name), MentionSums())
                        sums.mentions += int(n)
                        sums.sum_compound += float(compound or 0.0)
                        sums.negative += int(n_negative or 0)
    out[(LANGUAGE, None)] = everyone
    return out


def _mention_sums(row: Sequence[Any]) -> MentionSums:
    n, compound, negative = row
    return MentionSums(int(n or 0), float(compound or 0.0), int(negative or 0))


def people_at_least(
    engine: Engine, *, since: datetime, k: int, groups: Sequence[Key]
) -> dict[Key, int]:
    """For each group, its distinct people (authors, or customers, or the mention itself when
    neither is known), counted only up to ``k``: enough to hide a group smaller than k.

    The database filters and streams; reading stops at the k-th person, so a large group
    costs a few rows and only a group smaller than k costs a full pass.
    """
    m = _mentions
    person = func.coalesce(m.c.customer_id, m.c.author, m.c.mention_id)
    out: dict[Key, int] = {}
    with engine.connect().execution_options(stream_results=True, yield_per=500) as conn:
        for kind, name in groups:
            where = _mention_filter(engine, since)
            if kind == SEGMENT and name is not None:
                where.append(_in_segment(name))
            elif kind == LANGUAGE and name is not None:
                lang = "" if name == UNKNOWN_LANGUAGE else name
                where.append(_lang(m.c.lang) == lang)
            seen: set[str] = set()
            result = conn.execute(select(person).where(*where))
            for (who,) in result:
                seen.add(who)
                if len(seen) >= k:
                    break
            result.close()
            out[(kind, name)] = len(seen)
    return out


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
    staff = (
        select(c.c.mention_id, c.c.label)
        .select_from(c.join(latest, latest.c.id == c.c.id))
        .subquery("staff")
    )
    rows = (
        select(*_membership(segments, m.c.label.label("scored"), staff.c.label.label("given")))
        .select_from(m.join(staff, staff.c.mention_id == m.c.mention_id))
        .where(*_mention_filter(engine, since))
        .subquery("labelled")
    )
    keys = [rows.c.lang, *(rows.c[f"s{i}"] for i in range(len(segments)))]
    keys += [rows.c.scored, rows.c.given]
    out: dict[Key, dict[tuple[str, str], int]] = {}
    with engine.connect() as conn:
        for lang, *flags, scored, given, n in conn.execute(
            select(*keys, func.count()).group_by(*keys)
        ):
            for key in _groups_of(lang, flags, segments):
                cells = out.setdefault(key, {})
                cells[(scored, given)] = cells.get((scored, given), 0) + int(n)
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
    # The status page's email subscribers are not customers: their emails are not compared.
    not_subscribers = d.c.channel != "status_email"
    return joined, [d.c.created_at >= since, i.c.drill == false(), not_subscribers]


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
