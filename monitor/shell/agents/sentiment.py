"""Faust wiring for sentiment: thin timers that teach this worker's scorer new corrections and
refit its taught layer when labels were taught."""

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
        lambda: resources.correction_follower().apply_new(resources.engine(), resources.scorer())
    )
    if learnt:
        log.info("learnt %d staff sentiment correction(s)", learnt)


@app.timer(interval=CORRECTIONS_POLL_SECONDS)
@rides_out_database_outages
async def refit_taught_labels() -> None:
    """When labels were taught since the last poll, refit the taught layer from all of them.

    In a thread: the fit takes seconds for thousands of labels, and the scorer swaps the new
    layer in only when it is ready, so ingest keeps scoring with the previous one meanwhile.
    """
    taught = await asyncio.to_thread(
        lambda: resources.label_follower().apply_new(resources.engine(), resources.scorer())
    )
    if taught:
        log.info("refitted the taught sentiment layer from %d label(s)", taught)
