"""Faust wiring for sentiment: a thin timer that teaches this worker's scorer new corrections."""

from __future__ import annotations

import asyncio
import logging

from monitor.app import app
from monitor.shell import resources
from monitor.shell.agents.outages import rides_out_database_outages

log = logging.getLogger(__name__)

# Every worker has its own scorer, so every worker learns (not only the leader).
CORRECTIONS_POLL_SECONDS = 5.0


@app.timer(interval=CORRECTIONS_POLL_SECONDS)
@rides_out_database_outages
async def learn_corrections() -> None:
    """Read staff corrections recorded since the last poll and learn them."""
    learnt = await asyncio.to_thread(
        resources.correction_follower().apply_new, resources.engine(), resources.scorer()
    )
    if learnt:
        log.info("learnt %d staff sentiment correction(s)", learnt)
