"""Near-duplicate collapse in SQL: syndicated stories, retweets, one complaint pasted twice.

Each new mention's fingerprint (`streams.fingerprints`) is cut into 16 LSH band keys, bucketed
by event time; they are inserted into ``near_duplicate_bands`` in the ingest transaction, and
**a conflicting insert means "seen before"**, whichever worker saw it, because the table is
shared by all. A candidate is confirmed on its stored fingerprint and on the rules of
`streams.copy_rules` (similarity, at most 48 h apart, one voice or syndicated), so an LSH false
positive never collapses two different mentions. A copy points at its canonical mention, adds
to its ``copies``, and is counted in its windows' ``n_copies``, never in their volume. The
backtest runs the same rules on `streams.copy_rules.MemoryCopies`.

>>> a = signature("BREAKING: Example Cloud outage leaves shoppers unable to pay at checkout, "
...               "the company said on Monday")
>>> b = signature("Example Cloud outage leaves shoppers unable to pay at checkout, the company "
...               "said on Monday (Reuters)")
>>> c = signature("Example Cloud shares rose on Monday after the company said its checkout is "
...               "now faster for shoppers")
>>> similarity(a, b) > LONG_THRESHOLD > similarity(a, c)
True
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass
from urllib.parse import urlsplit

from sqlalchemy import bindparam, func, or_, select, text, update
from sqlmodel import Session

from monitor.storage.db import insert_for
from monitor.storage.models import Mention, NearDuplicateBand, NearDuplicateSignature
from streams.copy_rules import (
    LONG_THRESHOLD,
    Candidate,
    Key,
    candidate_of,
    collapse_with,
    traits_of,
)
from streams.fingerprints import Fingerprint, signature, similarity

__all__ = [
    "LONG_THRESHOLD",
    "NOT_COPIED",
    "Candidate",
    "Spread",
    "SqlCopies",
    "candidate_of",
    "collapse",
    "signature",
    "similarity",
    "spread_of",
]


def collapse(session: Session, candidates: Sequence[Candidate]) -> dict[str, str]:
    """Record the new mentions' bands and fingerprints; return {copy id: canonical id}.

    Runs inside the ingest transaction, after the mentions themselves were inserted."""
    return collapse_with(SqlCopies(session), candidates)


# Rows are inserted in the order given (sorted by key), so two workers cannot deadlock and the
# first of a batch's rows with one key is the one that takes it, as on SQLite.
_CLAIM_PG = text(
    "INSERT INTO near_duplicate_bands (band, hash, mention_id) "
    "SELECT r.band, r.hash, r.mention_id FROM unnest("
    "CAST(:bands AS integer[]), CAST(:hashes AS bigint[]), CAST(:ids AS varchar[])"
    ") WITH ORDINALITY AS r(band, hash, mention_id, n) ORDER BY r.n "
    "ON CONFLICT (band, hash) DO NOTHING RETURNING band, hash"
)
_CLAIM_SQLITE = (
    "INSERT OR IGNORE INTO near_duplicate_bands (band, hash, mention_id) VALUES (?, ?, ?)"
)
_OWNERS_SQLITE = "SELECT band, hash, mention_id FROM near_duplicate_bands WHERE hash IN ({})"
_SQLITE_CHUNK = 10_000
_OWNERS_PG = text(
    "SELECT band, hash, mention_id FROM near_duplicate_bands "
    "WHERE hash = ANY(CAST(:hashes AS bigint[]))"
)


def _columns(rows: Sequence[tuple[int, int, str]]) -> dict[str, list[object]]:
    return {
        "bands": [b for b, _, _ in rows],
        "hashes": [h for _, h, _ in rows],
        "ids": [m for _, _, m in rows],
    }


@dataclass(frozen=True, slots=True)
class SqlCopies:
    """The `streams.copy_rules.CopyStore` every worker shares: two tables and ``mentions``."""

    session: Session

    def claim(self, rows: Sequence[tuple[int, int, str]]) -> set[Key]:
        if self._postgresql:
            # Three array parameters instead of three per row: psycopg spent more time
            # rewriting a 64,000-parameter executemany than PostgreSQL spent inserting.
            found = self.session.execute(_CLAIM_PG, _columns(rows)).all()
            return {(int(b), int(h)) for b, h in found}
        # SQLite has one writer at a time and this transaction already wrote its mentions, so
        # the keys taken before the insert are exactly the ones it cannot take. A plain
        # executemany is several times faster than one with RETURNING.
        taken = self.owners({(b, h) for b, h, _ in rows})
        self.session.connection().exec_driver_sql(_CLAIM_SQLITE, list(rows))
        return {(b, h) for b, h, _ in rows if (b, h) not in taken}

    def owners(self, keys: set[Key]) -> dict[Key, str]:
        hashes = sorted({h for _, h in keys})
        found: list[tuple[int, int, str]] = []
        if self._postgresql and hashes:
            found.extend(self.session.execute(_OWNERS_PG, {"hashes": hashes}).tuples())
        elif hashes:
            connection = self.session.connection()
            for i in range(0, len(hashes), _SQLITE_CHUNK):  # SQLite caps bound parameters
                chunk = tuple(hashes[i : i + _SQLITE_CHUNK])
                query = _OWNERS_SQLITE.format(", ".join("?" * len(chunk)))
                found.extend(connection.exec_driver_sql(query, chunk).tuples())
        return {(b, h): m for b, h, m in found if (b, h) in keys}

    @property
    def _postgresql(self) -> bool:
        return self.session.get_bind().dialect.name == "postgresql"

    def stored(self, mention_ids: set[str]) -> dict[str, Candidate]:
        if not mention_ids:
            return {}
        m = Mention.__table__  # type: ignore[attr-defined]
        s = NearDuplicateSignature.__table__  # type: ignore[attr-defined]
        found = self.session.execute(
            select(
                m.c.mention_id,
                m.c.event_time,
                m.c.source,
                m.c.text,
                m.c.author,
                m.c.customer_id,
                m.c.url,
                m.c.network,
                m.c.drill,
                m.c.canonical_id,
                s.c.signature,
            )
            .join(s, s.c.mention_id == m.c.mention_id)
            .where(m.c.mention_id.in_(sorted(mention_ids)))
        ).all()
        return {
            row.mention_id: Candidate(
                row.mention_id,
                row.event_time,
                Fingerprint.from_bytes(row.signature),
                traits_of(
                    row.source,
                    row.text,
                    author=row.author,
                    customer_id=row.customer_id,
                    url=row.url,
                    network=row.network,
                ),
                row.drill,
                row.canonical_id,
            )
            for row in found
        }

    def take_over(self, rows: Sequence[tuple[int, int, str, str]]) -> None:
        if not rows:
            return
        table = NearDuplicateBand.__table__  # type: ignore[attr-defined]
        # The old owner in the WHERE: when two workers take one key, the second finds it gone.
        self.session.execute(
            update(table)
            .where(
                table.c.band == bindparam("b_band"),
                table.c.hash == bindparam("b_hash"),
                table.c.mention_id == bindparam("b_old"),
            )
            .values(mention_id=bindparam("b_new")),
            [{"b_band": b, "b_hash": h, "b_new": new, "b_old": old} for b, h, new, old in rows],
        )

    def save(self, candidates: Sequence[Candidate], copies: dict[str, str]) -> None:
        table = NearDuplicateSignature.__table__  # type: ignore[attr-defined]
        self.session.execute(
            insert_for(self.session, table).on_conflict_do_nothing(index_elements=["mention_id"]),
            [
                {"mention_id": c.mention_id, "signature": c.fingerprint.to_bytes()}
                for c in candidates
            ],
        )
        _link(self.session, copies)


def _link(session: Session, copies: dict[str, str]) -> None:
    """Point each copy at its canonical mention and add to the canonical's copy count."""
    if not copies:
        return
    table = Mention.__table__  # type: ignore[attr-defined]
    for copy_id in sorted(copies):
        session.execute(
            update(table).where(table.c.mention_id == copy_id).values(canonical_id=copies[copy_id])
        )
    counts: dict[str, int] = {}
    for root in copies.values():
        counts[root] = counts.get(root, 0) + 1
    for root in sorted(counts):
        session.execute(
            update(table)
            .where(table.c.mention_id == root)
            .values(copies=table.c.copies + counts[root])
        )


@dataclass(frozen=True, slots=True)
class Spread:
    """How far a story spread: its copies, and the outlets (`outlet_of`) that said it,
    the canonical mention's included."""

    copies: int
    outlets: int

    def describe(self) -> str:
        """The note an alert adds to an example mention; empty when it was not copied.

        >>> Spread(14, 12).describe(), Spread(1, 1).describe(), Spread(0, 1).describe()
        (' (copied 14 times, 12 outlets)', ' (copied once)', '')
        """
        if not self.copies:
            return ""
        times = "once" if self.copies == 1 else f"{self.copies} times"
        outlets = f", {self.outlets} outlets" if self.outlets > 1 else ""
        return f" (copied {times}{outlets})"


NOT_COPIED = Spread(0, 1)


def spread_of(session: Session, mention_ids: Sequence[str]) -> dict[str, Spread]:
    """The spread of these canonical mentions; mentions nobody copied are left out."""
    table = Mention.__table__  # type: ignore[attr-defined]
    ids = sorted(set(mention_ids))
    if not ids:
        return {}
    found = session.execute(
        select(
            func.coalesce(table.c.canonical_id, table.c.mention_id),
            table.c.source,
            table.c.author,
            table.c.url,
            table.c.attributes,
        )
        # Both columns are indexed; coalesce() in the WHERE would scan every mention.
        .where(or_(table.c.canonical_id.in_(ids), table.c.mention_id.in_(ids)))
    ).all()
    said: dict[str, int] = {}
    outlets: dict[str, set[str]] = {}
    for root, source, author, url, attributes in found:
        said[root] = said.get(root, 0) + 1
        outlets.setdefault(root, set()).add(outlet_of(source, author, url, attributes))
    return {m: Spread(n - 1, len(outlets[m])) for m, n in said.items() if n > 1}


def outlet_of(source: str, author: str | None, url: str | None, attributes: str | None) -> str:
    """Who published a mention: its author, else its `outlet` attribute, else the site its link
    points at, else its source.

    >>> outlet_of("news", None, "https://www.herald.example/2026/recall", None)
    'herald.example'
    >>> outlet_of("news", None, None, '{"outlet": "Daily Wire"}')
    'Daily Wire'
    """
    if author:
        return author
    try:
        named = json.loads(attributes).get("outlet") if attributes else None
    except (ValueError, AttributeError):
        named = None
    if isinstance(named, str) and named:
        return named
    host = urlsplit(url).hostname if url else None
    if host:
        return host.removeprefix("www.")
    return source
