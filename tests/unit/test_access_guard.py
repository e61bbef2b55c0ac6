"""The access middleware when the database cannot be reached: public routes (health checks,
webhooks) still answer, routes that need a role answer 503 instead of a 500."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from aiohttp import web
from aiohttp.test_utils import TestClient, TestServer

from monitor.settings import get_settings
from monitor.shell import resources
from monitor.shell.access import Access, declare
from monitor.shell.auth.guard import add_security_headers, guard


@pytest.fixture
def unreachable_database(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    """Settings pointing at a PostgreSQL port where nothing listens (port 1)."""
    monkeypatch.setenv("CRISISMON_DATABASE_URL", "postgresql://postgres@127.0.0.1:1/none")
    monkeypatch.setenv("CRISISMON_PSEUDONYM_KEY", "k" * 32)
    get_settings.cache_clear()
    resources.engine.cache_clear()
    yield
    get_settings.cache_clear()
    resources.engine.cache_clear()


async def _client() -> TestClient:
    async def ok(request: web.Request) -> web.Response:
        return web.json_response({"ok": True})

    app = web.Application(middlewares=[guard])
    app.on_response_prepare.append(add_security_headers)
    app.router.add_get("/outage-test/public", ok)
    app.router.add_get("/api/outage-test/viewer", ok)
    declare("/outage-test/public", Access.PUBLIC)
    declare("/api/outage-test/viewer", Access.VIEWER)
    client = TestClient(TestServer(app))
    await client.start_server()
    return client


async def test_a_database_outage_is_a_503_for_roles_and_nothing_for_public_routes(
    unreachable_database,
):
    client = await _client()
    try:
        cookie = {"Cookie": "crisismon_session=some-session-id"}
        bearer = {"Authorization": "Bearer cm_not-in-the-environment"}
        for headers in (cookie, bearer):
            public = await client.get("/outage-test/public", headers=headers)
            assert public.status == 200 and public.headers["X-Frame-Options"] == "DENY"
            refused = await client.get("/api/outage-test/viewer", headers=headers)
            assert refused.status == 503 and refused.headers["Retry-After"] == "5"
            assert "database is unavailable" in (await refused.json())["error"]
        assert (await client.get("/api/outage-test/viewer")).status == 401  # no DB needed
    finally:
        await client.close()
