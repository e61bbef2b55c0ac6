"""Full-text search over mentions: SQLite FTS5 and PostgreSQL full-text, the same answers.

A query is words and "quoted phrases"; every word must occur (AND). It is parsed here, never
handed to the database as syntax: each word becomes a quoted FTS5 string (SQLite) or a quoted
``websearch_to_tsquery`` term (PostgreSQL), so operators such as NEAR, OR, * or ^ typed by
someone are plain words. What cannot be a search (an unbalanced quote, brackets, no word at
all, a very long query) raises `BadQuery` with a message for a 400.

Filters: series (a key of ``mentions.series_keys``), event time range, sentiment label and
source. Texts that retention or erasure replaced ([EXPIRED], [ERASED]) never match: SQLite
does not index them (migration 0007f) and both databases leave them out in the query.
Highlights are built here from the query's words, over the escaped text.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from markupsafe import Markup, escape
from sqlalchemy import Engine, and_, or_, text
from sqlmodel import Session, col, select

from monitor.storage.models import ERASED_TEXT, EXPIRED_TEXT, Mention

MAX_QUERY = 200
MAX_TERMS = 12
PER_PAGE = 25
MAX_PAGE = 400
LABELS = ("negative", "neutral", "positive")
_WORD = re.compile(r"\w+")
_REFUSED = re.compile(r"[()\[\]{}]")


class BadQuery(ValueError):
    """The search cannot be run as asked; the message says why, for a 400."""


@dataclass(frozen=True)
class SearchQuery:
    q: str
    series: str | None = None
    since: datetime | None = None
    until: datetime | None = None
    label: str | None = None
    source: str | None = None


@dataclass(frozen=True)
class Hit:
    mention: Mention
    highlighted: Markup

    def as_json(self) -> dict[str, Any]:
        m = self.mention
        return {
            "mention_id": m.mention_id,
            "source": m.source,
            "event_time": m.event_time.isoformat(),
            "label": m.label,
            "compound": m.compound,
            "series_keys": m.series_keys.split(),
            "url": m.url,
            "text": m.text,
            "highlighted": str(self.highlighted),
        }


@dataclass(frozen=True)
class SearchPage:
    hits: list[Hit]
    page: int
    per_page: int
    more: bool  # a next page exists


def parse_terms(q: str) -> list[list[str]]:
    """The query's terms, each a list of words (a phrase); `BadQuery` when it is none.

    >>> parse_terms('refund "charged twice" NEAR')
    [['refund'], ['charged', 'twice'], ['NEAR']]
    """
    if len(q) > MAX_QUERY:
        raise BadQuery(f"the query is longer than {MAX_QUERY} characters")
    if q.count('"') % 2:
        raise BadQuery('unbalanced quote: close the "phrase" or remove the quote')
    if _REFUSED.search(q):
        raise BadQuery('brackets are not search syntax here: use words and "quoted phrases"')
    terms: list[list[str]] = []
    for index, part in enumerate(q.split('"')):
        words = _WORD.findall(part)
        if index % 2:  # inside quotes: one phrase
            terms += [words] if words else []
        else:  # outside: each word alone; a word with inner punctuation is a phrase (can't)
            terms += [_WORD.findall(chunk) for chunk in part.split() if _WORD.search(chunk)]
    if not terms:
        raise BadQuery("give at least one word to search for")
    if len(terms) > MAX_TERMS:
        raise BadQuery(f"at most {MAX_TERMS} words or phrases")
    return terms


def fts5_query(terms: list[list[str]]) -> str:
    """The FTS5 MATCH string: every term a quoted string, so nothing is an operator.

    >>> fts5_query([["near"], ["charged", "twice"]])
    '"near" "charged twice"'
    """
    return " ".join('"' + " ".join(words).replace('"', '""') + '"' for words in terms)


def websearch_query(terms: list[list[str]]) -> str:
    """The ``websearch_to_tsquery`` text: every term quoted (words are letters and digits)."""
    return " ".join('"' + " ".join(words) + '"' for words in terms)


def _matching(engine: Engine, query: SearchQuery) -> Any:
    """The SELECT of matching mentions (no order, no limit)."""
    terms = parse_terms(query.q)
    for name, value in (("series", query.series), ("source", query.source)):
        if value and (len(value) > 1000 or any(ord(c) < 32 for c in value)):
            # PostgreSQL refuses NUL in text: a 400, not a database error
            raise BadQuery(f"{name} holds control characters or is too long")
    statement = select(Mention).where(
        col(Mention.text) != EXPIRED_TEXT, col(Mention.text) != ERASED_TEXT
    )
    if engine.dialect.name == "postgresql":
        statement = statement.where(
            text("to_tsvector('simple', mentions.text) @@ websearch_to_tsquery('simple', :fts)")
        ).params(fts=websearch_query(terms))
    else:
        statement = statement.where(
            text("mentions.rowid IN (SELECT rowid FROM mentions_fts WHERE mentions_fts MATCH :fts)")
        ).params(fts=fts5_query(terms))
    if query.series:
        statement = statement.where(
            col(Mention.series_keys).contains(f" {query.series} ", autoescape=True)
        )
    if query.since is not None:
        statement = statement.where(col(Mention.event_time) >= query.since)
    if query.until is not None:
        statement = statement.where(col(Mention.event_time) < query.until)
    if query.label:
        if query.label not in LABELS:
            raise BadQuery(f"label must be one of {', '.join(LABELS)}")
        statement = statement.where(Mention.label == query.label)
    if query.source:
        statement = statement.where(Mention.source == query.source.strip().lower())
    return statement


def search(
    engine: Engine, query: SearchQuery, *, page: int = 1, per_page: int = PER_PAGE
) -> SearchPage:
    """One page of matching mentions, newest first, with highlights."""
    if not 1 <= page <= MAX_PAGE:
        raise BadQuery(f"page must be 1 to {MAX_PAGE}: narrow the search instead")
    terms = parse_terms(query.q)
    statement = (
        _matching(engine, query)
        .order_by(col(Mention.event_time).desc(), col(Mention.mention_id).desc())
        .offset((page - 1) * per_page)
        .limit(per_page + 1)
    )
    with Session(engine) as session:
        rows = list(session.exec(statement).all())
    hits = [Hit(m, highlight(m.text, terms)) for m in rows[:per_page]]
    return SearchPage(hits, page, per_page, more=len(rows) > per_page)


def batches(engine: Engine, query: SearchQuery, *, size: int = 1000) -> Iterator[list[Mention]]:
    """Every matching mention, newest first, in batches (keyset paging), for an export."""
    after: tuple[datetime, str] | None = None
    while True:
        statement = _matching(engine, query)
        if after is not None:
            at, mention_id = after
            statement = statement.where(
                or_(
                    col(Mention.event_time) < at,
                    and_(col(Mention.event_time) == at, col(Mention.mention_id) < mention_id),
                )
            )
        statement = statement.order_by(
            col(Mention.event_time).desc(), col(Mention.mention_id).desc()
        ).limit(size)
        with Session(engine) as session:
            rows = list(session.exec(statement).all())
        if not rows:
            return
        yield rows
        after = (rows[-1].event_time, rows[-1].mention_id)


def highlight(value: str, terms: list[list[str]]) -> Markup:
    """``value`` escaped, the query's words in <mark>.

    >>> str(highlight("<b>Refund</b> please, refunds", [["refund"]]))
    '&lt;b&gt;<mark>Refund</mark>&lt;/b&gt; please, refunds'
    """
    words = sorted({w for term in terms for w in term}, key=len, reverse=True)
    pattern = re.compile(r"\b(" + "|".join(re.escape(w) for w in words) + r")\b", re.IGNORECASE)
    out: list[str] = []
    last = 0
    for match in pattern.finditer(value):
        out += [str(escape(value[last : match.start()])), f"<mark>{escape(match.group())}</mark>"]
        last = match.end()
    out.append(str(escape(value[last:])))
    return Markup("".join(out))


CSV_COLUMNS = ("mention_id", "event_time", "source", "label", "compound", "series", "url", "text")


def csv_row(mention: Mention) -> list[str]:
    """One export row; a cell a spreadsheet would run as a formula is quoted with '."""
    cells = [
        mention.mention_id,
        mention.event_time.isoformat(),
        mention.source,
        mention.label,
        f"{mention.compound:.4f}",
        " ".join(mention.series_keys.split()),
        mention.url or "",
        mention.text,
    ]
    free = (2, 5, 6, 7)  # source, series, url, text: what a sender could write
    return [f"'{c}" if k in free and c[:1] in _FORMULA else c for k, c in enumerate(cells)]


_FORMULA = ("=", "+", "-", "@", "\t", "\r")
