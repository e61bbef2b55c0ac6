"""Who is calling, as the access middleware found out: kept on the request for views and
templates."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from faust.web import Request

from monitor.accounts import Principal

PRINCIPAL_KEY = "crisismon.principal"
CSRF_KEY = "crisismon.csrf"


def principal(request: Request) -> Principal | None:
    """The signed-in user or the API token of this request; None on a public route called by
    no one in particular."""
    found = _store(request).get(PRINCIPAL_KEY)
    return found if isinstance(found, Principal) else None


def csrf_token(request: Request) -> str:
    """The session's CSRF token for forms and htmx ('' without a session)."""
    found = _store(request).get(CSRF_KEY)
    return found if isinstance(found, str) else ""


def template_names(request: Request) -> Mapping[str, Any]:
    """What every template gets: ``user`` (a Principal or None) and ``csrf_token``."""
    return {"user": principal(request), "csrf_token": csrf_token(request)}


def _store(request: Request) -> Mapping[str, Any]:
    # Faust's aiohttp driver hands views aiohttp's request, a mapping for per-request values.
    return request if isinstance(request, Mapping) else {}
