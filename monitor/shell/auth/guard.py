"""The access middleware: every request is checked against its route's declared rule.

It runs before any view. It finds the route's rule (``monitor/shell/access.py``), works out who
is calling (an API token in ``Authorization: Bearer``, or the session cookie), refuses what the
rule does not allow (401, a redirect to /login, or 403), checks the CSRF token of state-changing
requests made with a session, and adds the security headers to every answer.
"""

from __future__ import annotations

import asyncio
import secrets
from collections.abc import Awaitable, Callable
from datetime import UTC, datetime
from typing import cast
from urllib.parse import quote, urlsplit

from aiohttp import web
from faust.web import Request
from sqlalchemy.exc import DBAPIError

from monitor.accounts import Principal
from monitor.accounts.sessions import session_user
from monitor.accounts.tokens import find_token
from monitor.settings import API_ROLES, get_settings
from monitor.shell import resources
from monitor.shell.access import OPEN, Access, access_for, role_allows
from monitor.shell.auth.identity import CSRF_KEY, PRINCIPAL_KEY
from monitor.shell.ui import render
from monitor.storage.outage import is_outage
from streams.cleaning import same_secret

SESSION_COOKIE = "crisismon_session"
LOGIN_PATH = "/login"
CSRF_HEADER = "X-CSRF-Token"
CSRF_FIELD = "csrf_token"
SAFE_METHODS = frozenset({"GET", "HEAD", "OPTIONS"})
# The pages use only our own scripts and styles (no inline code), so the policy can be strict.
CONTENT_SECURITY_POLICY = (
    "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; "
    "frame-ancestors 'none'; form-action 'self'; base-uri 'none'"
)
HSTS = "max-age=31536000; includeSubDomains"

Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]


def uses_https() -> bool:
    """Whether people reach us over TLS (CRISISMON_PUBLIC_URL starts with https://): then
    cookies are Secure and HSTS is sent."""
    return (get_settings().public_url or "").lower().startswith("https://")


def security_headers(response: web.StreamResponse) -> None:
    headers = response.headers
    headers.setdefault("Content-Security-Policy", CONTENT_SECURITY_POLICY)
    headers.setdefault("X-Content-Type-Options", "nosniff")
    headers.setdefault("Referrer-Policy", "same-origin")
    headers.setdefault("X-Frame-Options", "DENY")
    if uses_https():
        headers.setdefault("Strict-Transport-Security", HSTS)


async def add_security_headers(request: web.Request, response: web.StreamResponse) -> None:
    """aiohttp's on_response_prepare: every answer, errors and event streams included."""
    security_headers(response)


@web.middleware
async def guard(request: web.Request, handler: Handler) -> web.StreamResponse:
    route = request.match_info.route
    resource = route.resource
    if resource is None:  # no such path (404) or method (405): aiohttp answers
        return await handler(request)
    path, method = resource.canonical, request.method.upper()
    needs = access_for(path, method)
    if needs is None and method == "HEAD" and access_for(path, "GET") is None:
        return _refuse(request, f"{method} is not allowed on {path}", 405)
    if needs is None:
        return _refuse(request, "route declares no access rule", 403)
    if method not in SAFE_METHODS and path == LOGIN_PATH and not same_origin(request):
        return _refuse(request, "sign-in from another site refused", 403)  # login CSRF
    try:
        who, csrf, bad_token = await _caller(request)
    except DBAPIError as exc:
        if not is_outage(exc):
            raise
        if needs not in OPEN:  # cannot tell who calls: refuse, but say it is passing
            return _unavailable()
        who, csrf, bad_token = None, "", False  # health checks and webhooks go on
    if who is not None:
        request[PRINCIPAL_KEY] = who
    if csrf:
        request[CSRF_KEY] = csrf
    if needs in OPEN:
        return await handler(request)
    if who is None:
        if bad_token or _is_api(path) or method not in SAFE_METHODS:
            reason = "the API token is not valid" if bad_token else "sign in or send a token"
            return _unauthenticated(reason)
        target = request.path_qs
        raise web.HTTPSeeOther(f"/login?next={quote(target, safe='')}")
    if not role_allows(who.role, needs):
        return _refuse(request, f"role {who.role} may not {method} {path} (needs {needs})", 403)
    if who.kind == "user" and method not in SAFE_METHODS and not await _csrf_ok(request, csrf):
        return _refuse(request, "missing or wrong CSRF token (reload the page)", 403)
    if who.kind == "user" and method not in SAFE_METHODS and not same_origin(request):
        return _refuse(request, "a change sent from another site is refused", 403)
    return await handler(request)


async def still_allowed(request: web.Request, needs: Access) -> bool:
    """Whether the request's credential still holds a role that ``needs`` allows.

    The middleware judges a request once, when it arrives; a live stream lasts for hours, so
    it asks again: a sign-out, a removed user, a lowered role or a revoked token ends it. While
    the database cannot be read, the stream keeps its answer from the last check.
    """
    try:
        who, _, _ = await _caller(request)
    except DBAPIError as exc:
        if not is_outage(exc):
            raise
        return True
    return who is not None and role_allows(who.role, needs)


async def _caller(request: web.Request) -> tuple[Principal | None, str, bool]:
    """Who calls, the session's CSRF token ('' for a token), and whether a bearer token was
    sent that is not valid. A request with an Authorization header is judged by it alone."""
    header = request.headers.get("Authorization", "").strip()
    if header:
        scheme, _, given = header.partition(" ")
        given = given.strip() if scheme.lower() == "bearer" else ""
        who = await _token_owner(given) if given else None
        return who, "", who is None
    session_id = request.cookies.get(SESSION_COOKIE, "")
    if not session_id:
        return None, "", False
    now = datetime.now(UTC)
    signed_in = await asyncio.to_thread(session_user, resources.engine(), session_id, now=now)
    if signed_in is None:
        return None, "", False
    return Principal(signed_in.name, signed_in.role, "user"), signed_in.csrf_token, False


async def _token_owner(given: str) -> Principal | None:
    """The owner of a bearer token: one in CRISISMON_API_TOKENS (the bootstrap path, old role
    names mapped to the four roles), else one made with `crisismon tokens create`."""
    for token, (name, role) in get_settings().api_token_roles.items():
        if same_secret(given, token):
            return Principal(name, API_ROLES[role], "token")
    stored = await asyncio.to_thread(find_token, resources.engine(), given)
    return Principal(stored.name, stored.role, "token") if stored else None


async def _csrf_ok(request: web.Request, expected: str) -> bool:
    given = request.headers.get(CSRF_HEADER, "")
    if not given and request.content_type == "application/x-www-form-urlencoded":
        form = await request.post()  # aiohttp keeps the body: the view can read it again
        field = form.get(CSRF_FIELD, "")
        given = field if isinstance(field, str) else ""
    return bool(expected) and secrets.compare_digest(given.encode(), expected.encode())


def same_origin(request: web.Request) -> bool:
    """False when the browser says the request comes from another site (its Origin names
    another host than the one it asked, or than CRISISMON_PUBLIC_URL's); True without Origin."""
    origin = request.headers.get("Origin", "")
    if not origin:
        return True
    if origin == "null":  # sandboxed frames and some redirects: never our own pages
        return False
    allowed = {request.host.lower()}
    public = get_settings().public_url
    if public:
        allowed.add(urlsplit(public).netloc.lower())
    return urlsplit(origin).netloc.lower() in allowed


def _is_api(path: str) -> bool:
    return path == "/api" or path.startswith("/api/")


def _unauthenticated(reason: str) -> web.Response:
    return web.json_response(
        {"error": f"{reason}: send Authorization: Bearer TOKEN (see `crisismon tokens create`)"},
        status=401,
        headers={"WWW-Authenticate": 'Bearer realm="crisismon"'},
    )


def _unavailable() -> web.Response:
    return web.json_response(
        {"error": "cannot check credentials: the database is unavailable; retry shortly"},
        status=503,
        headers={"Retry-After": "5"},
    )


def _refuse(request: web.Request, message: str, status: int) -> web.Response:
    if _is_api(request.path):
        return web.json_response({"error": message}, status=status)
    return web.Response(
        text=render("error.html", cast(Request, request), status=status, message=message),
        status=status,
        content_type="text/html",
    )
