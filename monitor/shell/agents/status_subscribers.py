"""The leader forgets, every hour, status page subscribers who never confirmed.

An address typed into the status page's form is kept only to send its confirmation; once the
link has expired unused (48 hours), it is deleted (`playbooks.status_subscribers`).
"""

from __future__ import annotations

import asyncio
import logging
from datetime import UTC, datetime

from monitor.app import app
from monitor.shell import resources
from monitor.shell.agents.outages import rides_out_database_outages
from playbooks.status_subscribers import forget_unconfirmed

log = logging.getLogger(__name__)


@app.timer(interval=3600.0, on_leader=True)
@rides_out_database_outages
async def forget_unconfirmed_subscribers() -> None:
    """Delete the addresses whose confirmation link expired unused."""
    count = await asyncio.to_thread(forget_unconfirmed, resources.engine(), now=datetime.now(UTC))
    if count:
        log.info("forgot %d status page subscribers who never confirmed", count)
