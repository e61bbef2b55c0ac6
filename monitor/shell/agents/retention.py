"""The retention timer: the leader enforces config/retention.yaml every hour, in batches."""

from __future__ import annotations

import asyncio
import logging
from datetime import UTC, datetime
from functools import lru_cache

from sqlalchemy.exc import DBAPIError

from monitor.app import app
from monitor.settings import get_settings
from monitor.shell import resources
from monitor.yamlfile import ConfigFileError
from playbooks.retention import RetentionConfig, enforce_retention, load_retention

log = logging.getLogger(__name__)
# A Faust timer first fires one interval after the worker starts: nothing is expired in the
# first hour of a new leader (`crisismon db retention` does it at once).
RETENTION_SECONDS = 3600.0


@lru_cache(maxsize=1)
def retention_config() -> RetentionConfig:
    path = get_settings().config_dir / "retention.yaml"
    return load_retention(path, detection=resources.detection_config())


@app.timer(interval=RETENTION_SECONDS, on_leader=True)
async def enforce_retention_hourly() -> None:
    """Replace expired personal text and delete expired rows (`playbooks.retention`)."""
    try:
        config = retention_config()
    except ConfigFileError as exc:  # logged each hour until fixed; nothing is deleted meanwhile
        log.error("retention not enforced: %s", exc)
        return
    try:
        report = await asyncio.to_thread(
            enforce_retention, resources.engine(), config=config, now=datetime.now(UTC)
        )
    except DBAPIError as exc:  # the database is away: the next hour tries again
        log.warning("retention skipped, database unavailable: %s", type(exc.orig).__name__)
        return
    if report.total:
        changed = ", ".join(f"{kind} {count}" for kind, count in report.counts.items() if count)
        log.info("retention: %s", changed)
