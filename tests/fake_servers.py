"""Local HTTP servers that speak real protocols (feeds, Mastodon's API), run in a thread so
that both in-process tests and worker subprocesses can reach them. Tests assert on what they
received."""

from __future__ import annotations

import asyncio
import hashlib
import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from aiohttp import web

from monitor.broker import free_loopback_port

FEEDS = Path(__file__).resolve().parent / "data" / "feeds"
LAST_MODIFIED = "Mon, 05 Jan 2026 10:00:00 GMT"


@dataclass
class Recorded:
    """Every request the server received: path, query and headers."""

    requests: list[dict[str, Any]] = field(default_factory=list)

    def to(self, path: str) -> list[dict[str, Any]]:
        return [r for r in self.requests if r["path"] == path]


@contextmanager
def serve(
    routes: Callable[[web.Application, Recorded], None],
) -> Iterator[tuple[str, Recorded]]:
    """Run an aiohttp app on a free loopback port in a thread; yields (base URL, recorded)."""
    port = free_loopback_port()
    recorded = Recorded()
    loop = asyncio.new_event_loop()
    ready = threading.Event()
    box: dict[str, web.AppRunner] = {}

    @web.middleware
    async def record(request: web.Request, handler: Any) -> web.StreamResponse:
        recorded.requests.append(
            {"path": request.path, "query": dict(request.query), "headers": dict(request.headers)}
        )
        return await handler(request)

    async def start() -> None:
        app = web.Application(middlewares=[record])
        routes(app, recorded)
        runner = web.AppRunner(app, shutdown_timeout=1.0)
        await runner.setup()
        await web.TCPSite(runner, "127.0.0.1", port).start()
        box["runner"] = runner
        ready.set()

    thread = threading.Thread(
        target=lambda: (loop.run_until_complete(start()), loop.run_forever()), daemon=True
    )
    thread.start()
    assert ready.wait(10), "local server did not start"
    try:
        yield f"http://127.0.0.1:{port}", recorded
    finally:
        asyncio.run_coroutine_threadsafe(box["runner"].cleanup(), loop).result(30)
        loop.call_soon_threadsafe(loop.stop)
        thread.join(10)


def feed_routes(app: web.Application, recorded: Recorded) -> None:
    """``/feeds/<file>`` with ETag and Last-Modified (answering 304 to a matching conditional
    GET), plus ``/slow`` (answers after 4 s), ``/huge`` (5 MB) and ``/broken`` (HTTP 500)."""

    async def feed(request: web.Request) -> web.StreamResponse:
        path = FEEDS / request.match_info["name"]
        if not path.is_file():
            raise web.HTTPNotFound()
        body = path.read_bytes()
        etag = '"' + hashlib.sha256(body).hexdigest()[:16] + '"'
        if (
            request.headers.get("If-None-Match") == etag
            or request.headers.get("If-Modified-Since") == LAST_MODIFIED
        ):
            return web.Response(status=304, headers={"ETag": etag})
        return web.Response(
            body=body,
            content_type="application/xml",
            headers={"ETag": etag, "Last-Modified": LAST_MODIFIED},
        )

    async def slow(request: web.Request) -> web.StreamResponse:
        await asyncio.sleep(4)
        return web.Response(text="too late")

    async def huge(request: web.Request) -> web.StreamResponse:
        response = web.StreamResponse(headers={"Content-Type": "application/xml"})
        await response.prepare(request)
        for _ in range(80):
            await response.write(b"<!-- " + b"x" * 65536 + b" -->")
        await response.write_eof()
        return response

    async def broken(request: web.Request) -> web.StreamResponse:
        return web.Response(status=500, text="internal error")

    app.router.add_get("/feeds/{name}", feed)
    app.router.add_get("/slow", slow)
    app.router.add_get("/huge", huge)
    app.router.add_get("/broken", broken)
