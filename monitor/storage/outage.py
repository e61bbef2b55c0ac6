"""Riding out a database that is briefly unreachable.

A database restart, a failover or a cut network path makes every statement fail for a while.
A stream stage that let the error escape would crash its agent and lose its place in the
batch; one that dead-lettered the batch would throw good data away. `while_unavailable` keeps
the batch and tries again, with a growing pause, until the database answers: the partition
waits, nothing is lost, and ingest resumes by itself. An error about the data itself (see
`monitor.storage.poison.refused`) is not an outage and is raised at once.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable
from typing import TypeVar

from sqlalchemy.exc import DBAPIError

from monitor.metrics import count_error

log = logging.getLogger(__name__)

T = TypeVar("T")

FIRST_PAUSE = 0.5
LONGEST_PAUSE = 5.0


def is_outage(exc: BaseException) -> bool:
    """Whether ``exc`` says the database cannot be reached or used right now (connection lost,
    server down, SQLite locked), rather than that it refuses the data."""
    from monitor.storage.poison import refused

    return isinstance(exc, DBAPIError) and not refused(exc)


async def while_unavailable(call: Callable[[], T], *, what: str) -> T:
    """``call()`` in a thread, again and again while the database is unavailable."""
    pause = FIRST_PAUSE
    while True:
        try:
            return await asyncio.to_thread(call)
        except DBAPIError as exc:
            if not is_outage(exc):
                raise
            first_line = (str(exc.orig or exc).splitlines() or [type(exc).__name__])[0]
            log.warning("database unavailable while %s; trying again: %s", what, first_line)
            count_error("database_unavailable")
            await asyncio.sleep(pause)
            pause = min(pause * 2, LONGEST_PAUSE)
