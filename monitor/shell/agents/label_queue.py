"""The labelling queue in Slack: the leader posts a few mentions to label now and then.

The timer ticks every few seconds but posts only when the last post to Slack is older than
``queue.slack_every_seconds`` (config/sentiment.yaml), read from SQL, so a restarted or new
leader keeps the pace; the day's cap (``queue.daily_cap``) is counted across every surface.
"""

from __future__ import annotations

import asyncio
import logging
import time
from datetime import UTC, datetime, timedelta

from sqlalchemy import Engine, func, select
from sqlmodel import Session

from monitor.app import app
from monitor.settings import get_settings
from monitor.shell import resources
from monitor.shell.agents.outages import rides_out_database_outages
from monitor.shell.label_views import queue_settings
from monitor.storage.models import SentimentLabelRequest

log = logging.getLogger(__name__)
QUEUE_TICK_SECONDS = 5.0
# After a tick that found nothing to post (the day's cap used, nothing left to ask), the
# queue's query over a week of mentions waits this long, or the posting interval if shorter.
IDLE_SECONDS = 300.0
_idle_until = 0.0  # time.monotonic()


def last_slack_post(engine: Engine) -> datetime | None:
    table = SentimentLabelRequest.__table__  # type: ignore[attr-defined]
    query = select(func.max(table.c.offered_at)).where(table.c.surface == "slack")
    with Session(engine) as session:
        found: datetime | None = session.execute(query).scalar_one()
    return found


@app.timer(interval=QUEUE_TICK_SECONDS, on_leader=True)
@rides_out_database_outages
async def post_label_queue() -> None:
    """Post the next mentions to label to the Slack channel, when one is configured."""
    global _idle_until
    settings = get_settings()
    if not settings.slack_configured or time.monotonic() < _idle_until:
        return
    assert settings.slack_bot_token is not None and settings.slack_channel is not None
    config, engine, now = queue_settings(), resources.engine(), datetime.now(UTC)
    last = await asyncio.to_thread(last_slack_post, engine)
    if last is not None and now - last < timedelta(seconds=config.slack_every_seconds):
        return
    from monitor.incidents.slack_labels import post_from_queue

    posted = await post_from_queue(
        engine,
        token=settings.slack_bot_token,
        channel=settings.slack_channel,
        settings=config,
        now=now,
        base_url=settings.slack_base_url,
    )
    if posted:
        log.info("posted %d mention(s) to label to Slack", posted)
    else:
        _idle_until = time.monotonic() + min(IDLE_SECONDS, config.slack_every_seconds)
