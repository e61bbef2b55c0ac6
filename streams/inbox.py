"""The SQL inbox: which accepted mentions must be published again, and as what records.

With the in-memory embedded broker, ``POST /api/mentions`` writes each mention to the inbox
before it answers 2xx, and the ingest transaction marks it done. Two kinds of entry are
published again, and nothing else (an entry that is merely queued behind a backlog is not
stuck, and publishing it again only doubles the work of an ingest that is already behind):

* **lost**: received before the current broker process started, not done. The old broker died
  (or the whole service did) and took its records with it. `crisismon run` tells its worker when
  the broker it runs on started (``CRISISMON_INBOX_LOST_BEFORE``); all of these go out at once.
* **stuck**: not done although ingest had read everything on the broker a while after it came
  in: its publish failed (the client got a 503 and never retried), or its record was lost
  some other way. `StuckClock` decides the cutoff from when the consumer was seen caught up.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from sqlalchemy import Engine, and_, or_
from sqlmodel import Session, col, select

from monitor.storage.models import InboxEntry

# Mentions per record when republishing: the same bundling as HTTP intake, so ingest pays its
# per-record cost once per bundle.
REPUBLISH_BUNDLE = 20
PAGE = 5_000


@dataclass(frozen=True, slots=True)
class Pending:
    mention_id: str
    payload: str
    received_at: datetime


def pending_page(
    engine: Engine,
    *,
    before: datetime,
    since: datetime | None = None,
    after: tuple[datetime, str] | None = None,
    limit: int = PAGE,
) -> list[Pending]:
    """Up to ``limit`` not-done entries received in ``[since, before)``, oldest first, after
    the ``(received_at, mention_id)`` key ``after`` (keyset paging: entries that stay pending
    while a page is being ingested are not read twice)."""
    query = select(InboxEntry).where(
        col(InboxEntry.done_at).is_(None), col(InboxEntry.received_at) < before
    )
    if since is not None:
        query = query.where(col(InboxEntry.received_at) >= since)
    if after is not None:
        at, mention_id = after
        query = query.where(
            or_(
                col(InboxEntry.received_at) > at,
                and_(col(InboxEntry.received_at) == at, col(InboxEntry.mention_id) > mention_id),
            )
        )
    query = query.order_by(col(InboxEntry.received_at), col(InboxEntry.mention_id)).limit(limit)
    with Session(engine) as session:
        return [Pending(e.mention_id, e.payload, e.received_at) for e in session.exec(query)]


def records(entries: Sequence[Pending], size: int = REPUBLISH_BUNDLE) -> list[tuple[bytes, bytes]]:
    """(key, value) records for ``entries``: JSON arrays of up to ``size`` stored payloads
    (each one a mention's JSON object), keyed by the first mention's id.

    >>> records([Pending("a", '{"x":1}', datetime(2026, 1, 1)),
    ...          Pending("b", '{"x":2}', datetime(2026, 1, 1))])
    [(b'a', b'[{"x":1},{"x":2}]')]
    """
    out = []
    for start in range(0, len(entries), size):
        part = entries[start : start + size]
        value = "[" + ",".join(e.payload for e in part) + "]"
        out.append((part[0].mention_id.encode(), value.encode("utf-8")))
    return out


@dataclass(slots=True)
class StuckClock:
    """When an inbox entry counts as stuck rather than queued.

    ``observe`` is called periodically with whether ingest had read up to the end of every
    ``mentions.raw`` partition. An entry received before such a moment was on the broker and
    read by then, unless its record never got there; ``grace`` later it must be done. So the
    cutoff is the latest caught-up moment at least ``grace`` old; under a sustained backlog
    there is none, and nothing is republished. Each call hands out only the span since the
    previous cutoff, so an entry is republished this way once (one that ingest dead-letters,
    or that keeps failing, does not go round every check).

    >>> clock = StuckClock(grace=timedelta(seconds=30))
    >>> t0 = datetime(2026, 1, 1)
    >>> clock.observe(t0, caught_up=True) is None  # too recent to judge
    True
    >>> clock.observe(t0 + timedelta(seconds=15), caught_up=False) is None
    True
    >>> clock.observe(t0 + timedelta(seconds=31), caught_up=False) == (None, t0)
    True
    >>> clock.observe(t0 + timedelta(seconds=46), caught_up=True) is None  # nothing new
    True
    >>> clock.observe(t0 + timedelta(seconds=80), caught_up=True)[1] - t0
    datetime.timedelta(seconds=46)
    """

    grace: timedelta
    since: datetime | None = None  # the previous cutoff (or when the broker started)
    _seen: list[datetime] = field(default_factory=list)

    def observe(self, now: datetime, *, caught_up: bool) -> tuple[datetime | None, datetime] | None:
        """Record this check; the ``(since, until)`` span of received times whose pending
        entries are stuck, or None."""
        if caught_up:
            self._seen.append(now)
        ripe = [t for t in self._seen if now - t >= self.grace]
        if not ripe:
            return None
        until = ripe[-1]
        self._seen = [t for t in self._seen if t > until]
        span = (self.since, until)
        self.since = until
        return span
