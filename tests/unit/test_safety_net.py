"""The web server's last safety net: a parsing error a view missed is a 400, anything else a 500."""

from __future__ import annotations

from aiohttp import web
from aiohttp.test_utils import TestClient, TestServer

from monitor.safety_net import input_errors_are_400


async def _client(error: BaseException) -> TestClient:
    async def view(request: web.Request) -> web.Response:
        raise error

    app = web.Application(middlewares=[input_errors_are_400])
    app.router.add_post("/x", view)
    client = TestClient(TestServer(app))
    await client.start_server()
    return client


async def test_a_parsing_error_a_view_missed_is_a_400_with_a_json_reason(caplog):
    client = await _client(RecursionError("maximum recursion depth exceeded"))
    try:
        response = await client.post("/x", data=b"[[[")
        assert response.status == 400
        assert await response.json() == {
            "error": "the request could not be processed: RecursionError"
        }
    finally:
        await client.close()
    assert "should have refused this input" in caplog.text  # logged as a bug to fix


async def test_an_error_that_is_not_the_inputs_fault_stays_a_500():
    client = await _client(RuntimeError("database is gone"))
    try:
        assert (await client.post("/x")).status == 500
    finally:
        await client.close()


async def test_http_errors_raised_on_purpose_pass_through():
    client = await _client(web.HTTPRequestEntityTooLarge(max_size=1, actual_size=2))
    try:
        assert (await client.post("/x")).status == 413
    finally:
        await client.close()
