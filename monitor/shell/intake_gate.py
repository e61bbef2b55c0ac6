"""Backpressure for HTTP intake: accept no faster than ingest stores.

Accepting a mention costs the worker far less than storing it (parse and publish, against
score, fingerprint and write), so a busy client could have a worker accept 3,700 mentions/s
while it stored 120–215/s. Nothing was lost, but a backlog of minutes built up on the broker,
and the alert for a crisis during a surge came minutes late: the surge is when crises happen.

With the SQL inbox, the backlog is exactly the inbox entries not yet done. `IntakeGate` keeps
that count (read every 0.25 s, plus what it admitted since) and holds a request while admitting
it would take the backlog over ``limit``; once the backlog has drained enough it goes on. A
request held longer than ``max_wait`` gets a 503 with the backlog and a Retry-After, and
nothing of it is accepted. So the accepted rate follows the stored rate, and an accepted
mention is stored within about ``limit`` / ingest rate seconds. Without the inbox (Kafka, a
durable broker meant to buffer) there is no gate.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from collections.abc import Callable

from sqlalchemy import Engine, func, select

from monitor.storage.models import InboxEntry

log = logging.getLogger(__name__)

REFRESH_SECONDS = 0.25


def pending_count(engine: Engine) -> int:
    """Inbox entries accepted and not yet stored (the ``done_at`` index finds them)."""
    table = InboxEntry.__table__  # type: ignore[attr-defined]
    query = select(func.count()).select_from(table).where(table.c.done_at.is_(None))
    with engine.connect() as connection:
        return int(connection.execute(query).scalar_one())


class Backlogged(Exception):
    """Ingest is too far behind to accept more now."""

    def __init__(self, backlog: int, retry_after: int) -> None:
        super().__init__(
            f"ingest is {backlog:,} mentions behind; nothing was accepted, retry in {retry_after} s"
        )
        self.backlog = backlog
        self.retry_after = retry_after


class IntakeGate:
    """Admit ``n`` mentions only while the ingest backlog stays within ``limit``."""

    def __init__(
        self,
        count: Callable[[], int],
        *,
        limit: int,
        max_wait: float = 10.0,
        refresh_seconds: float = REFRESH_SECONDS,
    ) -> None:
        self.count = count
        self.limit = limit
        self.max_wait = max_wait
        self.refresh_seconds = refresh_seconds
        self.backlog = 0
        self._admitted = 0  # mentions admitted by this gate, ever
        self._refresher: asyncio.Task[None] | None = None
        self._refreshed = asyncio.Event()
        self._counted = asyncio.Event()  # set by the first count

    async def admit(self, n: int) -> None:
        """Return once ``n`` more mentions fit; raise `Backlogged` after ``max_wait``.

        A request larger than ``limit`` is admitted when the backlog is empty, or it could
        never be."""
        self._start()
        deadline = time.monotonic() + self.max_wait
        if not self._counted.is_set():  # a worker restarted on a backlog must know it first
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._counted.wait(), self.max_wait)
        while self.backlog > 0 and self.backlog + n > self.limit:
            left = deadline - time.monotonic()
            if left <= 0:
                raise Backlogged(self.backlog, retry_after=max(1, round(self.max_wait / 2)))
            self._refreshed.clear()
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._refreshed.wait(), min(left, 1.0))
        self.backlog += n
        self._admitted += n

    def _start(self) -> None:
        if self._refresher is None or self._refresher.done():
            self._refresher = asyncio.get_running_loop().create_task(self._refresh_forever())

    async def _refresh_forever(self) -> None:
        while True:
            admitted_before = self._admitted
            try:
                pending = await asyncio.to_thread(self.count)
            except Exception as exc:  # a database hiccup must not stop the gate for good
                log.warning("cannot count the inbox backlog: %s", exc)
            else:
                # What was admitted while counting may or may not be in the count: assume not,
                # the cautious side.
                self.backlog = pending + (self._admitted - admitted_before)
                self._refreshed.set()
                self._counted.set()
            await asyncio.sleep(self.refresh_seconds)


_shared: IntakeGate | None = None


async def admit_intake(n: int) -> str | None:
    """Hold ``n`` mentions at this worker's gate: None once admitted, else the 503's reason.

    Only with the inbox on, and ``CRISISMON_INTAKE_BACKLOG_LIMIT`` above 0."""
    global _shared
    from monitor.settings import get_settings
    from monitor.shell import resources

    settings = get_settings()
    if not settings.use_inbox or settings.intake_backlog_limit <= 0:
        return None
    if _shared is None:
        engine = resources.engine()
        _shared = IntakeGate(lambda: pending_count(engine), limit=settings.intake_backlog_limit)
    try:
        await _shared.admit(n)
    except Backlogged as exc:
        return str(exc)
    return None
