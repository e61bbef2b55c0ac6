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


@dataclass
class FakeMastodon:
    """Statuses an instance holds, newest last; the routes answer as Mastodon's API does."""

    statuses: list[dict[str, Any]] = field(default_factory=list)
    next_id: int = 110_000_000_000_000_000

    def post(
        self, text: str, *, tags: tuple[str, ...] = (), acct: str = "ana@example.social"
    ) -> dict[str, Any]:
        self.next_id += 1
        status = {
            "id": str(self.next_id),
            "uri": f"https://example.social/users/x/statuses/{self.next_id}",
            "url": f"https://example.social/@x/{self.next_id}",
            "created_at": "2026-01-05T10:00:00.000Z",
            "content": f"<p>{text}</p>",
            "spoiler_text": "",
            "language": "en",
            "reblog": None,
            "account": {"id": "1", "acct": acct, "username": acct.split("@")[0]},
            "tags": [{"name": t, "url": f"https://example.social/tags/{t}"} for t in tags],
        }
        self.statuses.append(status)
        return status

    def boost(self, original: dict[str, Any]) -> None:
        self.next_id += 1
        self.statuses.append(
            {
                "id": str(self.next_id),
                "uri": f"https://example.social/users/y/statuses/{self.next_id}/activity",
                "content": "",
                "reblog": original,
                "account": {"id": "2", "acct": "booster"},
                "tags": [],
            }
        )

    def routes(self, app: web.Application, recorded: Recorded) -> None:
        def page(request: web.Request, statuses: list[dict[str, Any]]) -> web.Response:
            since = int(request.query.get("since_id", 0))
            before = int(request.query.get("max_id", 10**30))
            limit = min(int(request.query.get("limit", 20)), 40)
            chosen = [s for s in reversed(statuses) if since < int(s["id"]) < before][:limit]
            return web.json_response(chosen)

        async def tag(request: web.Request) -> web.Response:
            name = request.match_info["hashtag"].lower()
            return page(
                request,
                [s for s in self.statuses if name in {t["name"] for t in _tags_of(s)}],
            )

        async def public(request: web.Request) -> web.Response:
            return page(request, self.statuses)

        app.router.add_get("/api/v1/timelines/tag/{hashtag}", tag)
        app.router.add_get("/api/v1/timelines/public", public)


def _tags_of(status: dict[str, Any]) -> list[dict[str, Any]]:
    post = status["reblog"] or status
    return list(post.get("tags", []))
