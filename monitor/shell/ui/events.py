"""GET /events: Server-Sent Events for the pages. ``incident`` when an incident is new or
changed (id, status, severity, title…), ``tick`` when a newer window has closed.

One reader per process (`LiveHub`) looks at the database every POLL_SECONDS, as the web server
may run apart from the workers (`crisismon web`), and hands what changed to every open stream.
Streams send a heartbeat comment when idle, end when the client leaves or the server stops, and
are capped per process.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import time
from typing import Any

from aiohttp import web
from faust.web import Request, Response, View
from sqlalchemy.exc import SQLAlchemyError

from monitor.app import app
from monitor.incidents.live import LiveState, changed_incidents, read_state, ticked
from monitor.shell import resources
from monitor.shell.access import Access, page
from monitor.shell.auth.guard import still_allowed

log = logging.getLogger(__name__)

POLL_SECONDS = 1.5
HEARTBEAT_SECONDS = 10.0
MAX_STREAMS = 100
QUEUE_SIZE = 100
RETRY_MS = 3000
_CLOSE = ("", "")  # put on a queue: the stream ends


class LiveHub:
    """Reads the database while anyone listens; each listener gets a queue of events."""

    def __init__(self) -> None:
        self._queues: set[asyncio.Queue[tuple[str, str]]] = set()
        self._task: asyncio.Task[None] | None = None
        self._ready = asyncio.Event()

    @property
    def listeners(self) -> int:
        return len(self._queues)

    async def subscribe(self) -> asyncio.Queue[tuple[str, str]] | None:
        """A queue for one stream, once the reader knows the current state (so whatever changes
        after this returns is sent); None when MAX_STREAMS are open already."""
        if len(self._queues) >= MAX_STREAMS:
            return None
        queue: asyncio.Queue[tuple[str, str]] = asyncio.Queue(QUEUE_SIZE)
        self._queues.add(queue)
        if self._task is None or self._task.done():
            self._ready = asyncio.Event()
            self._task = asyncio.create_task(self._read())
        await self._ready.wait()
        return queue

    def unsubscribe(self, queue: asyncio.Queue[tuple[str, str]]) -> None:
        self._queues.discard(queue)
        if not self._queues and self._task is not None:
            self._task.cancel()
            self._task = None

    async def close(self, *_: Any) -> None:
        """End every stream (the server is stopping)."""
        for queue in list(self._queues):
            with contextlib.suppress(asyncio.QueueFull):
                queue.put_nowait(_CLOSE)

    async def _read(self) -> None:
        state = await self._state(None)
        self._ready.set()
        while True:
            await asyncio.sleep(POLL_SECONDS)
            now = await self._state(state)
            for mark in changed_incidents(state, now):
                self._send("incident", mark.as_json())
            if ticked(state, now) and now.closed_through is not None:
                self._send("tick", {"closed_through": now.closed_through.isoformat()})
            state = now

    async def _state(self, before: LiveState | None) -> LiveState:
        """The database's state; the previous one (or an empty one) while it cannot be read."""
        try:
            return await asyncio.to_thread(read_state, resources.engine())
        except SQLAlchemyError as exc:
            log.warning("live updates: database not readable, trying again: %s", exc)
            return before or LiveState({}, None)

    def _send(self, event: str, data: dict[str, Any]) -> None:
        text = json.dumps(data, separators=(",", ":"))
        for queue in self._queues:
            # A client that stopped reading misses events; its page reloads what it shows on the
            # next one, so nothing is lost for good.
            with contextlib.suppress(asyncio.QueueFull):
                queue.put_nowait((event, text))


hub = LiveHub()
# Before the server waits for open requests to finish: streams end instead of holding it up.
app.web.web_app.on_shutdown.append(hub.close)  # type: ignore[attr-defined]


def frame(event: str, data: str) -> bytes:
    """One SSE message.

    >>> frame("tick", '{"a":1}')
    b'event: tick\\ndata: {"a":1}\\n\\n'
    """
    return f"event: {event}\ndata: {data}\n\n".encode()


@page("/events", Access.VIEWER)
class Events(View):
    """Live updates as Server-Sent Events: `incident` (new or changed) and `tick` (a newer
    window closed); a comment line every 10 s keeps proxies from closing the stream."""

    async def head(self, request: Request) -> Response:
        """The headers alone: a HEAD request must not hold a stream open."""
        return self.text("", content_type="text/event-stream")

    async def get(self, request: Request) -> Response:
        queue = await hub.subscribe()
        if queue is None:
            return self.json(
                {"error": f"too many live streams open ({MAX_STREAMS}); try again later"},
                status=503,
            )
        stream = web.StreamResponse(
            headers={
                "Content-Type": "text/event-stream",
                "Cache-Control": "no-cache",
                "X-Accel-Buffering": "no",  # nginx: pass each event on at once
            }
        )
        try:
            await stream.prepare(request)  # type: ignore[arg-type]
            count = f"{hub.listeners} of {MAX_STREAMS} streams"
            await stream.write(f"retry: {RETRY_MS}\n: connected ({count})\n\n".encode())
            checked = time.monotonic()
            while True:
                try:
                    event, data = await asyncio.wait_for(queue.get(), HEARTBEAT_SECONDS)
                except TimeoutError:
                    event, data = "", ""
                if time.monotonic() - checked >= HEARTBEAT_SECONDS:
                    checked = time.monotonic()
                    if not await still_allowed(request, Access.VIEWER):  # type: ignore[arg-type]
                        break  # signed out, removed, demoted or revoked since the stream began
                if not event:
                    await stream.write(b": heartbeat\n\n")
                    continue
                if (event, data) == _CLOSE:
                    break
                await stream.write(frame(event, data))
        except (ConnectionError, RuntimeError):
            pass  # the client left: writing to its closed connection failed
        finally:
            hub.unsubscribe(queue)
        return stream  # type: ignore[return-value]
