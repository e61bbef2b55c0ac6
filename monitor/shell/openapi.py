"""GET /api/openapi.json: an OpenAPI 3.1 document generated from the routes as registered.

Nothing here is written per route. Each ``/api/`` route of the aiohttp router becomes an
operation: path parameters from its pattern, summary and description from the view's
docstring, security from the ``Access`` it declared with ``page`` (``monitor/shell/access.py``),
a JSON request body from ``body_models = {"POST": Model}`` and query parameters from
``query_models = {"GET": Model}`` when the view declares them (pydantic's JSON schema), and
the error answers every view gives (``{"error": "..."}``). A route added tomorrow is in the
document without anyone touching this file; tests/unit/test_openapi.py checks that every
registered ``/api/`` route is there and that the document is valid OpenAPI 3.1, and
tests/integration/test_openapi_fuzz.py lets schemathesis call each operation on a real worker.

The document itself needs a viewer: it is an ``/api/`` route like the others (the issue's
exceptions are the public status page, health checks and signed callbacks), and it tells who
may call what, which a reader with an account needs and a stranger does not.
"""

from __future__ import annotations

import inspect
import re
from collections.abc import Iterable, Mapping
from importlib.metadata import PackageNotFoundError, version
from typing import Any

from aiohttp import web
from faust.web import Request, Response, View
from pydantic import BaseModel

from monitor.shell.access import OPEN, ROLES, Access, access_for, page

OPENAPI_VERSION = "3.1.0"
API_PREFIX = "/api/"
# The session cookie the web app's login sets; the API accepts it as well as a bearer token.
SESSION_COOKIE = "crisismon_session"
_PATH_PARAMETER = re.compile(r"\{([^}:]+)(?::[^}]*)?\}")
_DOCUMENTED_METHODS = ("GET", "POST", "PUT", "PATCH", "DELETE")
_REF_TEMPLATE = "#/components/schemas/{model}"

ERROR_SCHEMA: dict[str, Any] = {
    "type": "object",
    "required": ["error"],
    "properties": {"error": {"type": "string", "description": "what was wrong, in one line"}},
}
_ERROR_ANSWERS = {
    "400": "The input is not valid: the body is not JSON, or a field is missing or wrong",
    "401": "No credential, or one that is not known: send a bearer token or sign in",
    "403": "The credential's role may not do this",
    "404": "Nothing has this id, or the path is not one of the route's forms",
}


def build_document(router: web.UrlDispatcher, views: Mapping[str, View]) -> dict[str, Any]:
    """The OpenAPI 3.1 document of every ``/api/`` route in ``router``.

    ``views`` maps each path pattern to its Faust view (``app.web.views``), which carries the
    docstrings and the ``body_models`` / ``query_models`` declarations.
    """
    schemas: dict[str, Any] = {"Error": ERROR_SCHEMA}
    paths: dict[str, dict[str, Any]] = {}
    for pattern, method, handler in _api_routes(router):
        view = views.get(pattern)
        operation = _operation(pattern, method, view, handler, schemas)
        paths.setdefault(pattern, {})[method.lower()] = operation
    return {
        "openapi": OPENAPI_VERSION,
        "info": {
            "title": "crisismon API",
            "version": _crisismon_version(),
            "description": (
                'Every action of the web app, as JSON. Errors answer {"error": "..."}. '
                "Generated from the registered routes (monitor/shell/openapi.py)."
            ),
        },
        "servers": [{"url": "/"}],
        "paths": dict(sorted(paths.items())),
        "components": {
            "schemas": schemas,
            "securitySchemes": {
                "bearerToken": {
                    "type": "http",
                    "scheme": "bearer",
                    "description": "An API token (crisismon tokens add, or the admin screen)",
                },
                "sessionCookie": {
                    "type": "apiKey",
                    "in": "cookie",
                    "name": SESSION_COOKIE,
                    "description": (
                        "The web app's session after signing in at /login; a request that "
                        "changes something also needs the X-CSRF-Token header"
                    ),
                },
            },
        },
    }


def _api_routes(router: web.UrlDispatcher) -> Iterable[tuple[str, str, Any]]:
    """(path pattern, method, handler) of each ``/api/`` route, HEAD and OPTIONS left out."""
    seen: set[tuple[str, str]] = set()
    for route in router.routes():
        resource = route.resource
        if resource is None or route.method not in _DOCUMENTED_METHODS:
            continue
        pattern = resource.canonical
        if not pattern.startswith(API_PREFIX) or (pattern, route.method) in seen:
            continue
        seen.add((pattern, route.method))
        yield pattern, route.method, route.handler


def _operation(
    pattern: str, method: str, view: View | None, handler: Any, schemas: dict[str, Any]
) -> dict[str, Any]:
    summary, description = _docstring(view, method, handler)
    access = access_for(pattern, method)
    operation: dict[str, Any] = {
        "operationId": f"{method.lower()}{_identifier(pattern)}",
        "summary": summary or f"{method} {pattern}",
        "tags": [pattern.removeprefix(API_PREFIX).split("/")[0]],
        "x-crisismon-access": str(access) if access else "undeclared",
    }
    access_note = _access_note(access)
    operation["description"] = "\n\n".join(part for part in (description, access_note) if part)
    parameters = [
        {"name": name, "in": "path", "required": True, "schema": {"type": "string"}}
        for name in _PATH_PARAMETER.findall(pattern)
    ]
    query_model = _declared(view, "query_models", method)
    if query_model is not None:
        parameters.extend(_query_parameters(query_model, schemas))
    if parameters:
        operation["parameters"] = parameters
    body_model = _declared(view, "body_models", method)
    if body_model is not None:
        operation["requestBody"] = {
            "required": True,
            "content": {"application/json": {"schema": _schema_ref(body_model, schemas)}},
        }
    operation["security"] = _security(access)
    operation["responses"] = _responses(access, has_parameters=bool(parameters))
    return operation


def _docstring(view: View | None, method: str, handler: Any) -> tuple[str, str]:
    """(first line, the rest) of the method's docstring, else the view's, else the handler's."""
    text = ""
    if view is not None:
        own = getattr(type(view), method.lower(), None)
        text = (inspect.getdoc(own) or "") if own is not None and own.__doc__ else ""
        text = text or inspect.getdoc(type(view)) or ""
    text = text or inspect.getdoc(handler) or ""
    first, _, rest = text.strip().partition("\n\n")
    return " ".join(first.split()), rest.strip()


def _access_note(access: Access | None) -> str:
    if access is None:
        return "This route declares no access rule, so the server refuses it."
    if access is Access.PUBLIC:
        return "Anyone may call this route."
    if access is Access.SIGNED:
        return "Anyone may call this route; the request must carry a valid signature."
    above = ROLES[ROLES.index(access) :]
    return f"Needs the role {access} or above ({', '.join(above)})."


def _security(access: Access | None) -> list[dict[str, list[str]]]:
    if access in OPEN:
        return []  # no credential needed
    return [{"bearerToken": []}, {"sessionCookie": []}]


def _responses(access: Access | None, *, has_parameters: bool) -> dict[str, Any]:
    answers: dict[str, Any] = {
        "2XX": {"description": "Done", "content": {"application/json": {"schema": {}}}}
    }
    codes = ["400"]
    if access not in OPEN:
        codes += ["401", "403"]
    if has_parameters:
        codes.append("404")
    for code in codes:
        answers[code] = {
            "description": _ERROR_ANSWERS[code],
            "content": {"application/json": {"schema": {"$ref": "#/components/schemas/Error"}}},
        }
    return answers


def _declared(view: View | None, attribute: str, method: str) -> type[BaseModel] | None:
    """The pydantic model a view declares for ``method`` in ``body_models``/``query_models``."""
    declared = getattr(view, attribute, None) or {}
    model = declared.get(method) or declared.get(method.lower())
    return model if isinstance(model, type) and issubclass(model, BaseModel) else None


def _schema_ref(model: type[BaseModel], schemas: dict[str, Any]) -> dict[str, str]:
    """Put the model (and the models it uses) in components; a reference to it."""
    schema = model.model_json_schema(ref_template=_REF_TEMPLATE)
    schemas.update(schema.pop("$defs", {}))
    schemas[model.__name__] = schema
    return {"$ref": _REF_TEMPLATE.format(model=model.__name__)}


def _query_parameters(model: type[BaseModel], schemas: dict[str, Any]) -> list[dict[str, Any]]:
    schema = model.model_json_schema(ref_template=_REF_TEMPLATE)
    schemas.update(schema.pop("$defs", {}))
    required = set(schema.get("required", ()))
    parameters = []
    for name, field in schema.get("properties", {}).items():
        parameter: dict[str, Any] = {
            "name": name,
            "in": "query",
            "required": name in required,
            "schema": {k: v for k, v in field.items() if k != "description"},
        }
        if field.get("description"):
            parameter["description"] = field["description"]
        parameters.append(parameter)
    return parameters


def _identifier(pattern: str) -> str:
    """'/api/drafts/{draft_id}/{action}' -> 'DraftsByDraftIdByAction' (unique per pattern)."""
    words: list[str] = []
    for part in pattern.removeprefix(API_PREFIX).split("/"):
        name = _PATH_PARAMETER.fullmatch(part)
        text = f"by_{name.group(1)}" if name else part
        words.extend(w.capitalize() for w in re.split(r"[^A-Za-z0-9]+", text) if w)
    return "".join(words)


def _crisismon_version() -> str:
    try:
        return version("crisismon")
    except PackageNotFoundError:  # a source tree that was never installed
        return "0+unknown"


@page("/api/openapi.json", Access.VIEWER)
class OpenApiDocument(View):
    """The OpenAPI 3.1 document of the JSON API, generated from the registered routes."""

    async def get(self, request: Request) -> Response:
        web_app = self.app.web.web_app  # type: ignore[attr-defined]
        return self.json(build_document(web_app.router, self.app.web.views))
