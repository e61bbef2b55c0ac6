"""Retention of what ingest keeps: mention text, dead-letter payloads, inbox rows, windows.

Each function handles rows older than ``before`` in batches of ``batch`` rows, one transaction
per batch, so a large backlog never holds a long lock; with ``dry_run`` it only counts. Counts
survive: a mention whose text expires keeps its sentiment, series and times, and the window
aggregates it was counted in are not touched.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import Engine, and_, delete, func, or_, select, update
from sqlalchemy.sql.elements import ColumnElement

from monitor.storage.db import session_scope
from monitor.storage.models import DeadLetter, InboxEntry, Mention, SeriesWindow

# What replaces expired text: short, plain, and distinct from an erasure's "[ERASED]".
EXPIRED = "[EXPIRED]"
ERASED = "[ERASED]"


def _count(engine: Engine, table: object, where: ColumnElement[bool]) -> int:
    with session_scope(engine) as session:
        return int(
            session.execute(select(func.count()).select_from(table).where(where)).scalar_one()  # type: ignore[arg-type]
        )


def expire_mention_text(engine: Engine, *, before: datetime, batch: int, dry_run: bool) -> int:
    """Replace the text, author, url and sentiment drivers of mentions said and received
    before ``before``; returns how many. Ingest time too: a replay of last year's file keeps
    its text for the full period from the day it was loaded."""
    table = Mention.__table__  # type: ignore[attr-defined]
    due = and_(
        table.c.event_time < before,
        table.c.ingest_time < before,
        table.c.text.not_in([EXPIRED, ERASED]),
    )
    if dry_run:
        return _count(engine, table, due)
    done = 0
    after: tuple[datetime, str] | None = None
    while True:
        # Keyset order on the event-time index: rows received later than ``before`` are
        # passed over once, not read again by every batch.
        query = select(table.c.event_time, table.c.mention_id).where(due)
        if after is not None:
            query = query.where(
                (table.c.event_time > after[0])
                | ((table.c.event_time == after[0]) & (table.c.mention_id > after[1]))
            )
        with session_scope(engine) as session:
            page = session.execute(
                query.order_by(table.c.event_time, table.c.mention_id).limit(batch)
            ).all()
            if not page:
                return done
            ids = [row[1] for row in page]
            session.execute(
                update(table)
                .where(table.c.mention_id.in_(ids))
                .values(
                    text=EXPIRED,
                    text_truncated=False,
                    author=None,
                    url=None,
                    sentiment_drivers=None,
                )
            )
        done += len(page)
        after = (page[-1][0], page[-1][1])


def expire_dead_letter_payloads(
    engine: Engine, *, before: datetime, batch: int, dry_run: bool
) -> int:
    """Replace the payloads of dead letters received before ``before`` (the reason, topic and
    source stay, so the dead-letter counts per source do too); returns how many."""
    table = DeadLetter.__table__  # type: ignore[attr-defined]
    due = and_(table.c.received_at < before, table.c.payload.not_in([EXPIRED, ERASED]))
    if dry_run:
        return _count(engine, table, due)
    done = 0
    while True:
        with session_scope(engine) as session:
            ids = (
                session.execute(select(table.c.id).where(due).order_by(table.c.id).limit(batch))
                .scalars()
                .all()
            )
            if not ids:
                return done
            session.execute(
                update(table)
                .where(table.c.id.in_(ids))
                .values(payload=EXPIRED, payload_redacted=True, raw_expires_at=None)
            )
        done += len(ids)


def delete_done_inbox(engine: Engine, *, before: datetime, batch: int, dry_run: bool) -> int:
    """Delete inbox rows ingested before ``before``; rows not ingested yet are never touched
    (the inbox republishes them); returns how many."""
    table = InboxEntry.__table__  # type: ignore[attr-defined]
    due = and_(table.c.done_at.is_not(None), table.c.done_at < before)
    if dry_run:
        return _count(engine, table, due)
    done = 0
    while True:
        with session_scope(engine) as session:
            ids = (
                session.execute(select(table.c.mention_id).where(due).limit(batch)).scalars().all()
            )
            if not ids:
                return done
            session.execute(delete(table).where(table.c.mention_id.in_(ids)))
        done += len(ids)


def delete_closed_windows(
    engine: Engine, *, before: datetime, keep_newest: int, batch: int, dry_run: bool
) -> int:
    """Delete closed windows that started and closed before ``before``, except each series' newest
    ``keep_newest`` closed ones (what warming a detector reads, however old); open windows are
    never touched. Returns how many."""
    table = SeriesWindow.__table__  # type: ignore[attr-defined]
    newer = table.alias("newer")
    # The start of the series' keep_newest-th newest closed window: anything older may go.
    kept_from = (
        select(newer.c.window_start)
        .where(newer.c.series == table.c.series, newer.c.closed.is_(True))
        .order_by(newer.c.window_start.desc())
        .offset(keep_newest - 1)
        .limit(1)
        .scalar_subquery()
    )
    # Closed before ``before`` too: a replay of last year's file keeps its windows for the full
    # period from the day it was loaded, like its mentions' text.
    due = and_(
        table.c.closed.is_(True),
        table.c.window_start < before,
        or_(table.c.closed_at.is_(None), table.c.closed_at < before),
        table.c.window_start < kept_from,
    )
    if dry_run:
        return _count(engine, table, due)
    done = 0
    while True:
        with session_scope(engine) as session:
            page = session.execute(
                select(table.c.series, table.c.window_start).where(due).limit(batch)
            ).all()
            if not page:
                return done
            newest: dict[str, datetime] = {}
            for series, start in page:
                newest[series] = max(start, newest.get(series, start))
            for series, start in sorted(newest.items()):
                result = session.execute(
                    delete(table).where(
                        due, table.c.series == series, table.c.window_start <= start
                    )
                )
                done += int(result.rowcount or 0)  # type: ignore[attr-defined]
