"""Sources and health: each source's last success and error, the inbox backlog, consumer lag,
and the dead letters, of which an admin can replay a repaired one.

Pages: GET /sources (viewer), GET /sources/dead-letters/{id} (viewer) and POST to it (admin:
replay). JSON twins: GET /api/sources, GET /api/dead-letters, POST
/api/dead-letters/{id}/replay. The logic is in ``streams.sources.health`` and
``streams.dead_letter_replay``; the figures are the cluster metrics' SQL
(``monitor.shell.cluster_metrics``); consumer lag is only what this process knows.
"""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime
from typing import Any

from faust.web import Request, Response, View
from pydantic import BaseModel, Field

from monitor.app import app
from monitor.settings import get_settings
from monitor.shell import resources
from monitor.shell.access import Access, page
from monitor.shell.auth import principal
from monitor.shell.cluster_metrics import ClusterSnapshot, read_snapshot
from monitor.shell.metrics_view import consumer_lag
from monitor.shell.ui import page_html
from monitor.shell.web import publish_acknowledged
from streams.cleaning import BadJson, parse_id, parse_json
from streams.dead_letter_replay import (
    PAGE,
    Letter,
    ReplayError,
    get_letter,
    list_letters,
    mark_replayed,
    validate_replay,
)
from streams.sources.health import SourceRow, source_report


class LettersQuery(BaseModel):
    before: int | None = Field(default=None, description="list dead letters older than this id")
    limit: int = Field(default=PAGE, ge=1, le=200)
    source: str | None = Field(default=None, max_length=100)


class ReplayBody(BaseModel):
    payload: str = Field(description="the repaired payload, validated like new input")


def _when(moment: datetime | None) -> str | None:
    return moment.isoformat() if moment else None


def _source_json(row: SourceRow) -> dict[str, Any]:
    return {
        "name": row.name,
        "kind": row.kind,
        "status": row.status,
        "failing": row.failing,
        "detail": row.detail,
        "last_success_at": _when(row.last_success_at),
        "last_error_at": _when(row.last_error_at),
        "last_error": row.last_error,
        "mentions": row.mentions,
        "last_mention_at": _when(row.last_mention_at),
        "next_attempt_at": _when(row.next_attempt_at),
    }


async def _health() -> dict[str, Any]:
    """Sources, inbox backlog, dead letters by kind, and what this process knows of lag."""
    engine = resources.engine()
    rows = await asyncio.to_thread(source_report, engine, resources.sources_config())
    snapshot: ClusterSnapshot = await asyncio.to_thread(read_snapshot, engine)
    await consumer_lag.refresh()
    lag = [
        {"topic": topic, "partition": partition, "lag": value}
        for (topic, partition), value in sorted(consumer_lag.lag.items())
    ]
    return {
        "sources": [_source_json(row) for row in rows],
        "inbox_backlog": snapshot.inbox_backlog,
        "dead_letters_by_reason": [
            {"topic": topic, "reason": kind, "count": count}
            for (topic, kind), count in sorted(snapshot.dead_letters.items())
        ],
        "consumer_lag": lag,
        "consumer_lag_scope": (
            "this process consumes nothing (crisismon web): ask each worker's /metrics"
            if app.producer_only
            else "the partitions assigned to this process only; other workers report theirs"
        ),
    }


def _letters_query(request: Request) -> tuple[int | None, int, str | None]:
    before = parse_id(request.query.get("before", ""))
    limit = parse_id(request.query.get("limit", "")) or PAGE
    source = request.query.get("source", "")[:100]
    printable = source if all(ord(c) >= 32 for c in source) else ""  # PostgreSQL refuses NUL
    return before, min(max(limit, 1), 200), printable or None


def _who(request: Request) -> str:
    caller = principal(request)
    return f"web:{caller.name}" if caller else "web:unknown"


async def replay(request: Request, letter_id: int, payload: str) -> tuple[Letter, int]:
    """Validate, publish and mark one replay; `ReplayError` for anything that stops it."""
    engine = resources.engine()
    letter = await asyncio.to_thread(get_letter, engine, letter_id)
    if letter is None:
        raise ReplayError(f"no dead letter {letter_id}", 404)
    now = datetime.now(UTC)
    mentions = validate_replay(
        letter,
        payload,
        webhook_sources=resources.webhook_sources(),
        privacy=resources.privacy(),
        now=now,
        not_after=get_settings().latest_event_time(now),
    )
    failure = await publish_acknowledged(mentions, now)
    if failure is not None:
        raise ReplayError(failure, 503)
    ids = [m.mention_id for m in mentions]
    marked = await asyncio.to_thread(
        mark_replayed, engine, letter_id=letter_id, who=_who(request), now=now, mention_ids=ids
    )
    if not marked:
        raise ReplayError(f"dead letter {letter_id} was replayed meanwhile by someone else", 409)
    return letter, len(mentions)


@page("/sources", Access.VIEWER)
class SourcesPage(View):
    """Sources and health: last success and error, backlog, lag, dead letters."""

    async def get(self, request: Request) -> Response:
        before, limit, source = _letters_query(request)
        health = await _health()
        letters = await asyncio.to_thread(
            list_letters, resources.engine(), before=before, limit=limit, source=source
        )
        return page_html(
            self,
            request,
            "sources.html",
            active="sources",
            health=health,
            letters=letters,
            older=letters[-1].id if len(letters) == limit else None,
            source=source or "",
        )


@page("/sources/dead-letters/{letter_id}", {"GET": Access.VIEWER, "POST": Access.ADMIN})
class DeadLetterPage(View):
    """One dead letter; an admin edits its payload and replays it."""

    async def get(self, request: Request, letter_id: str) -> Response:
        return await self._show(request, letter_id, payload=None, error="", status=200)

    async def post(self, request: Request, letter_id: str) -> Response:
        number = parse_id(letter_id)
        form = await request.post()
        payload = form.get("payload")
        payload = payload if isinstance(payload, str) else ""
        if number is None:
            return await self._show(request, letter_id, payload, "no such dead letter", 404)
        try:
            letter, count = await replay(request, number, payload.replace("\r\n", "\n"))
        except ReplayError as exc:
            return await self._show(request, letter_id, payload, str(exc), exc.status)
        done = await asyncio.to_thread(get_letter, resources.engine(), letter.id)
        return page_html(
            self,
            request,
            "dead_letter.html",
            active="sources",
            letter=done,
            payload=payload,
            error="",
            notice=f"Replayed: {count} mention(s) published again.",
        )

    async def _show(
        self, request: Request, letter_id: str, payload: str | None, error: str, status: int
    ) -> Response:
        number = parse_id(letter_id)
        letter = None
        if number is not None:
            letter = await asyncio.to_thread(get_letter, resources.engine(), number)
        if letter is None:
            status, error = 404, f"no dead letter {letter_id}"
        return page_html(
            self,
            request,
            "dead_letter.html",
            status=status,
            active="sources",
            letter=letter,
            payload=letter.payload if payload is None and letter else (payload or ""),
            error=error,
            notice="",
        )


@page("/api/sources", Access.VIEWER)
class SourcesJson(View):
    """Each source's health, the inbox backlog, dead letters by reason and consumer lag."""

    async def get(self, request: Request) -> Response:
        return self.json(await _health())


@page("/api/dead-letters", Access.VIEWER)
class DeadLettersJson(View):
    """Dead letters, newest first; ?before=ID for the next page."""

    query_models = {"GET": LettersQuery}

    async def get(self, request: Request) -> Response:
        before, limit, source = _letters_query(request)
        letters = await asyncio.to_thread(
            list_letters, resources.engine(), before=before, limit=limit, source=source
        )
        older = letters[-1].id if len(letters) == limit else None
        return self.json({"dead_letters": [x.as_json() for x in letters], "next_before": older})


@page("/api/dead-letters/{letter_id}/replay", Access.ADMIN)
class DeadLetterReplayJson(View):
    """Replay a repaired dead letter: validated like new input, then published again."""

    body_models = {"POST": ReplayBody}

    async def post(self, request: Request, letter_id: str) -> Response:
        number = parse_id(letter_id)
        if number is None:
            message = "use /api/dead-letters/ID/replay with a numeric id"
            return self.json({"error": message}, status=404)
        try:
            body = parse_json(await request.read())
        except BadJson as exc:
            return self.json({"error": f"body is not valid JSON: {exc}"}, status=400)
        payload = body.get("payload") if isinstance(body, dict) else None
        if not isinstance(payload, str):
            return self.json({"error": 'send {"payload": "the repaired payload"}'}, status=400)
        try:
            letter, count = await replay(request, number, payload)
        except ReplayError as exc:
            return self.json({"error": str(exc)}, status=exc.status)
        return self.json({"replayed": letter.id, "mentions": count})
