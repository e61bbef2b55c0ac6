"""The labelling queue over HTTP, for the web app: read the queue, label one mention.

GET /api/sentiment/queue[?limit=N] and POST /api/sentiment/queue/MENTION_ID {"label": ...}.
Both are a responder's right (``Access.RESPONDER``: responder, approver or admin, by session
or bearer token), as acknowledging an incident is; the access middleware enforces it.
"""

from __future__ import annotations

import asyncio
import logging
from dataclasses import asdict
from datetime import UTC, datetime
from functools import lru_cache
from typing import Literal

from faust.web import Request, Response, View
from pydantic import BaseModel, ConfigDict, Field

from detectors.sentiment.config import load_sentiment_config, sentiment_paths
from detectors.sentiment.label_queue import (
    AlreadyLabelled,
    QueueError,
    QueueSettings,
    label_from_queue,
    offered_today,
    queue,
)
from monitor.settings import get_settings
from monitor.shell import resources
from monitor.shell.access import Access, page
from monitor.shell.playbook_views import _body, _who, error_response
from streams.cleaning import BadJson

log = logging.getLogger(__name__)
# Labelling is a responder's right, as acknowledging an incident is.
LABEL_NEEDS = "acknowledge"
MAX_LIMIT = 200


class QueueQuery(BaseModel):
    """How many mentions to list (the day's cap may leave fewer)."""

    model_config = ConfigDict(extra="ignore")

    limit: int = Field(default=20, ge=1, le=MAX_LIMIT, description="mentions to list at most")


class LabelBody(BaseModel):
    """What the mention really is."""

    label: Literal["negative", "neutral", "positive"]


@lru_cache(maxsize=1)
def queue_settings() -> QueueSettings:
    """``queue:`` of config/sentiment.yaml, read once."""
    return load_sentiment_config(sentiment_paths(get_settings().config_dir)[0]).queue


@page("/api/sentiment/queue", Access.RESPONDER)
class SentimentQueue(View):
    """The mentions most worth labelling now, within today's cap: open incidents' driving
    mentions first, then the least sure; those offered in Slack and unanswered on top."""

    query_models = {"GET": QueueQuery}

    async def get(self, request: Request) -> Response:
        _, denied = _who(request, LABEL_NEEDS)
        if denied:
            return denied
        raw = request.query.get("limit", "20")
        if not (raw.isascii() and raw.isdigit()) or not 1 <= int(raw) <= MAX_LIMIT:
            return error_response(f"limit must be a whole number from 1 to {MAX_LIMIT}", 400)
        engine, config, now = resources.engine(), queue_settings(), datetime.now(UTC)
        items = await asyncio.to_thread(queue, engine, settings=config, now=now, limit=int(raw))
        used = await asyncio.to_thread(offered_today, engine, now=now)
        return self.json(
            {
                "items": [asdict(item) for item in items],
                "daily_cap": config.daily_cap,
                "offered_today": used,
            }
        )


@page("/api/sentiment/queue/{mention_id}", Access.RESPONDER)
class SentimentLabel(View):
    """Label one mention (a staff correction every worker learns); the first label wins (409
    after that)."""

    body_models = {"POST": LabelBody}

    async def post(self, request: Request, mention_id: str) -> Response:
        actor, denied = _who(request, LABEL_NEEDS)
        if denied:
            return denied
        try:
            body = await _body(request)
        except BadJson as exc:
            return error_response(f"body is not valid JSON: {exc}", 400)
        label = body.get("label")
        if not isinstance(label, str):
            return error_response('send {"label": "negative", "neutral" or "positive"}', 400)
        try:
            answer = await asyncio.to_thread(
                label_from_queue,
                resources.engine(),
                mention_id=mention_id,
                label=label,
                who=f"web:{actor}",
                surface="api",
                now=datetime.now(UTC),
            )
        except AlreadyLabelled as exc:
            return error_response(str(exc), 409)
        except QueueError as exc:
            return error_response(str(exc), 400)
        if answer.slack_ref:
            show_label_in_slack(answer.slack_ref)
        return self.json(
            {
                "mention_id": answer.mention_id,
                "label": answer.label,
                "labelled_by": answer.by,
                "correction_id": answer.correction_id,
                "scored": answer.previous_label,
            }
        )


_background: set[asyncio.Task[None]] = set()


def show_label_in_slack(slack_ref: str) -> None:
    """The mention was posted to Slack: its message shows the label, after the answer."""
    settings = get_settings()
    token = settings.slack_bot_token
    if token is None:
        return

    async def refresh() -> None:
        from monitor.incidents.slack_labels import refresh_message

        problem = await refresh_message(
            resources.engine(),
            slack_ref=slack_ref,
            token=token,
            base_url=settings.slack_base_url,
        )
        if problem:
            log.warning("labelling message %s not updated: %s", slack_ref, problem)

    task = asyncio.create_task(refresh())
    _background.add(task)
    task.add_done_callback(_background.discard)
