"""``POST /webhooks/<name>``: one view for every configured webhook source.

The decisions are plain Python in `streams.sources.webhook`; this view only reads the body
within the source's limit, and publishes, waiting for the broker's acknowledgement before it
answers 2xx (or 400, once the dead letter is safe).
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import UTC, datetime
from typing import Any, cast

from aiohttp import web
from faust.web import Request, Response, View

from monitor.metrics import MENTIONS_RECEIVED
from monitor.settings import get_settings
from monitor.shell import resources
from monitor.shell.access import Access, page
from monitor.shell.web import dead_letter_acknowledged, publish_acknowledged
from streams.sources.webhook import TokenBucket, handle, too_large

_buckets: dict[str, TokenBucket] = {}


@page("/webhooks/{name}", Access.SIGNED)
class WebhookIntake(View):
    """Verify, parse and publish one webhook request from a configured source."""

    async def post(self, request: Request, name: str) -> Response:
        received = datetime.now(UTC)
        source = resources.webhook_sources().get(name)
        if source is None:
            return self._answer({"error": f"no webhook source named {name!r} is configured"}, 404)
        raw = cast(web.Request, request)  # Faust's aiohttp driver hands us aiohttp's request
        if raw.content_length is not None and raw.content_length > source.max_body_bytes:
            return self._answer(too_large(source).body, 413)
        body = await raw.content.read(source.max_body_bytes + 1)
        bucket = _buckets.setdefault(name, TokenBucket(source.rate_limit))
        decision = handle(
            source,
            bucket,
            headers=raw.headers,
            body=body,
            received=received,
            privacy=resources.privacy(),
            not_after=get_settings().latest_event_time(received),
        )
        if decision.dead_letter is not None:
            failure = await dead_letter_acknowledged(
                topic=f"webhooks/{name}",
                source=name,
                reason=decision.dead_letter,
                payload=body.decode("utf-8", "replace"),
                received=received,
            )
            if failure is not None:
                return self._answer({"error": failure}, 503)
        failure = await publish_acknowledged(decision.mentions, received)
        if failure is not None:
            return self._answer({"error": failure}, 503)
        if decision.mentions:
            MENTIONS_RECEIVED.labels("webhook", name).inc(len(decision.mentions))
        return self._answer(decision.body, decision.status, decision.headers)

    def _answer(
        self, body: dict[str, Any], status: int, headers: Mapping[str, str] | None = None
    ) -> Response:
        return self.json(body, status=status, headers=dict(headers or {}))
