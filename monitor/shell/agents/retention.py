"""The retention timer: the leader enforces config/retention.yaml every hour, in batches.

A Faust timer first fires one interval after the worker starts, so an hourly timer never ran
on a leader that restarted within the hour. This one ticks every minute (or sooner, when the
interval is shorter) and enforces retention on its first tick as leader and then whenever an
interval has passed since its last run in this process.
"""

from __future__ import annotations

import asyncio
import logging
import time
from datetime import UTC, datetime
from functools import lru_cache

from monitor.app import app
from monitor.settings import get_settings
from monitor.shell import resources
from monitor.shell.agents.outages import rides_out_database_outages
from monitor.yamlfile import ConfigFileError
from playbooks.policy import load_sending
from playbooks.retention import RetentionConfig, enforce_retention, load_retention

log = logging.getLogger(__name__)
RETENTION_CHECK_SECONDS = min(60.0, get_settings().retention_interval_seconds)
_last_run: float | None = None  # time.monotonic() of this process's last run; None: never


@lru_cache(maxsize=1)
def retention_config() -> RetentionConfig:
    config_dir = get_settings().config_dir
    return load_retention(
        config_dir / "retention.yaml",
        detection=resources.detection_config(),
        sending=load_sending(config_dir / "sending.yaml"),
    )


@app.timer(interval=RETENTION_CHECK_SECONDS, on_leader=True)
@rides_out_database_outages
async def enforce_retention_when_due() -> None:
    """Replace expired personal text and delete expired rows (`playbooks.retention`)."""
    global _last_run
    interval = get_settings().retention_interval_seconds
    if _last_run is not None and time.monotonic() - _last_run < interval:
        return
    try:
        config = retention_config()
    except ConfigFileError as exc:  # logged each interval until fixed; nothing is deleted
        log.error("retention not enforced: %s", exc)
        _last_run = time.monotonic()
        return
    # A database outage escapes to rides_out_database_outages: the next tick tries again.
    report = await asyncio.to_thread(
        enforce_retention, resources.engine(), config=config, now=datetime.now(UTC)
    )
    _last_run = time.monotonic()
    if report.total:
        changed = ", ".join(f"{kind} {count}" for kind, count in report.counts.items() if count)
        log.info("retention: %s", changed)
