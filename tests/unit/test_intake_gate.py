"""Intake is held while ingest's backlog is over the limit, and refused after the wait."""

from __future__ import annotations

import asyncio
import time

import pytest

from monitor.shell.intake_gate import Backlogged, IntakeGate


class Inbox:
    """Pending entries as the database would count them: admitted ones arrive, ingest drains."""

    def __init__(self) -> None:
        self.pending = 0

    def count(self) -> int:
        return self.pending


def test_a_request_waits_until_the_backlog_has_room():
    async def scenario() -> float:
        inbox = Inbox()
        gate = IntakeGate(inbox.count, limit=100, max_wait=5, refresh_seconds=0.01)
        await gate.admit(80)
        inbox.pending = 80  # written to the inbox, not stored yet
        await asyncio.sleep(0.05)
        started = time.monotonic()

        async def ingest() -> None:
            await asyncio.sleep(0.3)
            inbox.pending = 0

        drained = asyncio.create_task(ingest())
        await gate.admit(50)  # 80 + 50 > 100: held until ingest has stored the 80
        await drained
        return time.monotonic() - started

    held = asyncio.run(scenario())
    assert 0.25 < held < 2


def test_a_request_held_too_long_is_refused_with_the_backlog():
    async def scenario() -> None:
        inbox = Inbox()
        inbox.pending = 5_000
        gate = IntakeGate(inbox.count, limit=2_000, max_wait=0.3, refresh_seconds=0.01)
        await asyncio.sleep(0)
        with pytest.raises(Backlogged, match="ingest is 5,000 mentions behind; nothing was"):
            await gate.admit(1)  # a fresh gate counts the backlog before it admits

    asyncio.run(scenario())


def test_a_request_larger_than_the_limit_goes_through_an_empty_backlog():
    async def scenario() -> None:
        gate = IntakeGate(lambda: 0, limit=100, max_wait=0.2, refresh_seconds=0.01)
        await gate.admit(1_000)

    asyncio.run(scenario())
