"""Retention of what ingest keeps: mention text, dead-letter payloads, inbox rows, windows.

Each function handles rows older than ``before`` in batches of ``batch`` rows, one transaction
per batch, so a large backlog never holds a long lock; with ``dry_run`` it only counts. Counts
survive: a mention whose text expires keeps its sentiment, series and times, and the window
aggregates it was counted in are not touched.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import Engine, and_, delete, func, or_, select, text, update
from sqlalchemy.orm import Session
from sqlalchemy.sql.elements import ColumnElement

from monitor.storage.db import session_scope
from monitor.storage.models import ERASED_TEXT as ERASED
from monitor.storage.models import EXPIRED_TEXT as EXPIRED
from monitor.storage.models import TEXT_KEPT, DeadLetter, InboxEntry, Mention, SeriesWindow
from monitor.storage.search_index import purge_replaced_texts

# EXPIRED replaces expired text: short, plain, and distinct from an erasure's ERASED; both are
# left out of TEXT_KEPT, the partial index of mentions retention still has to look at.


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
    due = and_(text(TEXT_KEPT), table.c.ingest_time < before, table.c.event_time < before)
    if dry_run:
        return _count(engine, table, due)
    done = 0
    after: tuple[datetime, str] | None = None
    while True:
        # Keyset order on the partial index of kept text: a mention received long ago but
        # said later (a clock ahead) is passed over once, not read again by every batch.
        query = select(table.c.ingest_time, table.c.mention_id).where(due)
        if after is not None:
            query = query.where(
                (table.c.ingest_time > after[0])
                | ((table.c.ingest_time == after[0]) & (table.c.mention_id > after[1]))
            )
        with session_scope(engine) as session:
            page = session.execute(
                query.order_by(table.c.ingest_time, table.c.mention_id).limit(batch)
            ).all()
            if not page:
                if done:  # the expired words leave the full-text index too
                    purge_replaced_texts(session)
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
    """Delete closed windows that started and closed before ``before``, except each series'
    newest ``keep_newest`` closed ones (what warming a detector reads, however old); open
    windows are never touched. Returns how many.

    Series by series on the primary key (series, window_start), so an hourly run reads what
    has aged, not the whole table; at most ``batch`` windows per transaction.
    """
    with session_scope(engine) as session:
        names = [row[0] for row in session.execute(_SERIES_NAMES)]
    done = 0
    for series in names:
        while True:
            with session_scope(engine) as session:
                due = _due_windows(session, series, before=before, keep_newest=keep_newest)
                if due is None:
                    break
                if dry_run:
                    done += int(
                        session.execute(
                            select(func.count()).select_from(_WINDOWS).where(due)
                        ).scalar_one()
                    )
                    break
                starts = (
                    session.execute(
                        select(_WINDOWS.c.window_start)
                        .where(due)
                        .order_by(_WINDOWS.c.window_start)
                        .limit(batch)
                    )
                    .scalars()
                    .all()
                )
                if starts:
                    session.execute(
                        delete(_WINDOWS).where(due, _WINDOWS.c.window_start <= starts[-1])
                    )
            done += len(starts)
            if len(starts) < batch:
                break
    return done


_WINDOWS = SeriesWindow.__table__  # type: ignore[attr-defined]


def _due_windows(
    session: Session, series: str, *, before: datetime, keep_newest: int
) -> ColumnElement[bool] | None:
    """The condition on a series' windows that may go; None when none may."""
    kept_from = session.execute(
        select(_WINDOWS.c.window_start)
        .where(_WINDOWS.c.series == series, _WINDOWS.c.closed.is_(True))
        .order_by(_WINDOWS.c.window_start.desc())
        .offset(keep_newest - 1)
        .limit(1)
    ).scalar()
    if kept_from is None:
        return None  # fewer closed windows than warming reads: all stay
    return and_(
        _WINDOWS.c.series == series,
        _WINDOWS.c.closed.is_(True),
        _WINDOWS.c.window_start < min(before, kept_from),
        # Closed before ``before`` too: a replay of last year's file keeps its windows for
        # the full period from the day it was loaded.
        or_(_WINDOWS.c.closed_at.is_(None), _WINDOWS.c.closed_at < before),
    )


# Every series name, one index probe each (a loose index scan, on SQLite and PostgreSQL alike)
# instead of reading every window.
_SERIES_NAMES = text(
    """
    WITH RECURSIVE names(series) AS (
        SELECT MIN(series) FROM series_windows
        UNION ALL
        SELECT (SELECT MIN(w.series) FROM series_windows w WHERE w.series > names.series)
        FROM names WHERE names.series IS NOT NULL
    )
    SELECT series FROM names WHERE series IS NOT NULL
    """
)
