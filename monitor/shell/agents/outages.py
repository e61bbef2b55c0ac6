"""Timers that ride out a database outage instead of crashing the worker.

Faust treats an exception that escapes a timer as a crash of the whole worker: every agent
stops, and `crisismon run` has to start a new worker, which warms every detector again. A
database that is away for a few seconds (a restart, a failover, a cut path) is not a reason for
that. Every timer's work is kept in SQL and is still due on its next tick, so a timer that
meets an outage says so and waits for that tick. Any other error still crashes: hiding a bug as
an outage would lie.
"""

from __future__ import annotations

import functools
import logging
from collections.abc import Awaitable, Callable

from sqlalchemy.exc import DBAPIError

from monitor.storage.outage import is_outage

log = logging.getLogger(__name__)

Timer = Callable[[], Awaitable[None]]


def rides_out_database_outages(timer: Timer) -> Timer:
    """``timer``, logging a database outage and leaving the work to its next tick."""

    @functools.wraps(timer)
    async def tick() -> None:
        try:
            await timer()
        except DBAPIError as exc:
            if not is_outage(exc):
                raise
            first_line = (str(exc.orig or exc).splitlines() or [type(exc).__name__])[0]
            log.warning(
                "database unavailable in %s; trying again on its next tick: %s",
                timer.__name__,
                first_line,
            )

    return tick
