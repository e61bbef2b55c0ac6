"""GET /api/openapi.json's document: every registered /api/ route is in it, it is valid
OpenAPI 3.1, and what a view declares (access, docstring, body and query models) shows."""

from __future__ import annotations

from typing import Literal

from aiohttp import web
from faust.web import Request, Response, View
from openapi_spec_validator import validate
from pydantic import BaseModel, Field

from monitor.shell.access import ROUTE_ACCESS, Access
from monitor.shell.openapi import build_document
from monitor.shell.worker import register_everything


def test_every_registered_api_route_is_documented_and_the_document_is_valid():
    register_everything()
    from monitor.app import app

    router = app.web.web_app.router
    document = build_document(router, app.web.views)
    validate(document)  # raises on anything that is not valid OpenAPI 3.1

    registered = {
        (route.resource.canonical, route.method.lower())
        for route in router.routes()
        if route.resource is not None
        and route.resource.canonical.startswith("/api/")
        and route.method not in ("HEAD", "OPTIONS")
    }
    documented = {(path, method) for path, item in document["paths"].items() for method in item}
    assert registered, "the worker registers /api/ routes"
    assert documented == registered
    assert not any(not path.startswith("/api/") for path in document["paths"])

    itself = document["paths"]["/api/openapi.json"]["get"]
    assert itself["summary"].startswith("The OpenAPI 3.1 document")
    assert itself["security"] == [{"bearerToken": []}, {"sessionCookie": []}]
    assert "viewer or above" in itself["description"]
    ids = [op["operationId"] for item in document["paths"].values() for op in item.values()]
    assert len(ids) == len(set(ids))
    # Every operation says what it does (its view's docstring) and who may call it.
    for path, item in document["paths"].items():
        for method, operation in item.items():
            assert operation["summary"] != f"{method.upper()} {path}", f"{path}: no docstring"
            assert operation["x-crisismon-access"] != "undeclared", f"{path}: no access rule"


class Acknowledgement(BaseModel):
    note: str = Field(max_length=200, description="why")
    kind: Literal["confirm", "false_alarm"]


class Listing(BaseModel):
    limit: int = Field(20, ge=1, le=100, description="at most this many")
    series: str | None = None


class IncidentsSample(View):
    """List incidents.

    Open ones first."""

    query_models = {"GET": Listing}
    body_models = {"POST": Acknowledgement}

    async def get(self, request: Request) -> Response:
        return self.json({})

    async def post(self, request: Request, incident_id: str) -> Response:
        """Record feedback on one incident."""
        return self.json({})


def test_declared_models_access_and_docstrings_become_the_operation():
    register_everything()
    from monitor.app import app

    path = "/api/sample-incidents/{incident_id}"
    view = IncidentsSample(app, app.web)

    async def handler(request: web.Request) -> web.Response:
        return web.json_response({})

    router = web.Application().router
    router.add_route("GET", path, handler)
    router.add_route("POST", path, handler)
    router.add_route("GET", "/status", handler)  # not under /api/: left out
    ROUTE_ACCESS[path] = {"GET": Access.PUBLIC, "POST": Access.RESPONDER}
    try:
        document = build_document(router, {path: view})
    finally:
        del ROUTE_ACCESS[path]
    validate(document)
    assert list(document["paths"]) == [path]
    get, post = document["paths"][path]["get"], document["paths"][path]["post"]

    assert (get["summary"], post["summary"]) == (
        "List incidents.",
        "Record feedback on one incident.",
    )
    assert get["security"] == [] and "401" not in get["responses"]
    assert post["security"] and {"400", "401", "403", "404"} <= set(post["responses"])
    assert "responder or above (responder, approver, admin)" in post["description"]

    query = {p["name"]: p for p in get["parameters"] if p["in"] == "query"}
    assert query["limit"]["schema"]["maximum"] == 100 and not query["limit"]["required"]
    assert query["limit"]["description"] == "at most this many"
    assert [p["name"] for p in get["parameters"] if p["in"] == "path"] == ["incident_id"]
    body = post["requestBody"]["content"]["application/json"]["schema"]
    assert body == {"$ref": "#/components/schemas/Acknowledgement"}
    model = document["components"]["schemas"]["Acknowledgement"]
    assert model["required"] == ["note", "kind"]
    assert model["properties"]["kind"]["enum"] == ["confirm", "false_alarm"]
    error = post["responses"]["404"]["content"]["application/json"]["schema"]
    assert document["components"]["schemas"]["Error"]["required"] == ["error"]
    assert error == {"$ref": "#/components/schemas/Error"}
