"""Faust wiring for erasure: every worker's term detectors forget the words of erased mentions.

Erasure itself is plain SQL (`playbooks.erasure`, run by the CLI or the API); what a worker
learnt in memory would otherwise be saved back at its next window close.
"""

from __future__ import annotations

import asyncio
import logging
from datetime import UTC, datetime

from detectors.term_forget import ErasureFollower
from monitor.app import app
from monitor.shell import resources
from monitor.shell.agents.outages import rides_out_database_outages

log = logging.getLogger(__name__)

# Every worker holds its own series, so every worker checks (not only the leader).
ERASURE_CHECK_SECONDS = 2.0
_follower = ErasureFollower()


@app.timer(interval=ERASURE_CHECK_SECONDS)
@rides_out_database_outages
async def forget_erased_words() -> None:
    """After an erasure, drop the terms only the erased mentions said from this worker's
    term detectors and their stored snapshots."""
    erased = await asyncio.to_thread(
        _follower.mentions_erased_since, resources.engine(), now=datetime.now(UTC)
    )
    if erased:
        forgotten = await resources.detect_stage().forget_erased_words(at_most=erased)
        log.info("an erasure: %d term(s) only its mentions said were forgotten", forgotten)
