"""Signing in and out: GET/POST /login, POST /logout, and GET /api/session (who am I)."""

from __future__ import annotations

import asyncio
import logging
from datetime import UTC, datetime
from typing import cast

from aiohttp import web
from faust.web import Request, Response, View

from monitor.accounts.sessions import (
    SESSION_LIFETIME,
    claim_attempt,
    end_session,
    start_session,
    succeeded,
)
from monitor.accounts.users import authenticate
from monitor.shell import resources
from monitor.shell.access import Access, page
from monitor.shell.auth.guard import SESSION_COOKIE, uses_https
from monitor.shell.auth.identity import csrf_token, principal
from monitor.shell.ui import page_html

log = logging.getLogger(__name__)
HOME = "/incidents"


def safe_next(target: str) -> str:
    """Where to go after signing in: a path on this site only (no //host or /\\host)."""
    if not target.startswith("/") or target.startswith(("//", "/\\")) or len(target) > 2000:
        return HOME
    if any(ord(c) < 32 for c in target):
        return HOME
    return target


def client_address(request: Request) -> str:
    """The peer's address. X-Forwarded-For is not trusted: anyone could send it to escape
    the per-client limit (behind a proxy, every client counts as the proxy)."""
    return str(cast(web.Request, request).remote or "unknown")[:64]


@page("/login", Access.PUBLIC)
class Login(View):
    """The sign-in form (GET) and signing in (POST name, password, next)."""

    async def get(self, request: Request) -> Response:
        target = safe_next(request.query.get("next", HOME))
        if principal(request) is not None:
            raise web.HTTPSeeOther(target)
        return page_html(self, request, "login.html", next=target, name="", message="")

    async def post(self, request: Request) -> Response:
        form = await request.post()
        name = str(form.get("name", "")).strip()[:64]
        password = str(form.get("password", ""))
        target = safe_next(str(form.get("next", HOME)))
        client, engine, now = client_address(request), resources.engine(), datetime.now(UTC)
        wait, attempt = await asyncio.to_thread(
            claim_attempt, engine, account=name, client=client, now=now
        )
        if wait is not None:
            response = page_html(
                self, request, "login.html", status=429, next=target, name=name,
                message=f"Too many failed sign-ins: try again in {wait // 60 + 1} minutes.",
            )  # fmt: skip
            response.headers["Retry-After"] = str(wait)
            return response
        user = await asyncio.to_thread(authenticate, engine, name, password)
        if user is None or user.id is None:
            # Not the name typed: people type their password there by mistake.
            log.info("failed sign-in from %s", client)
            return page_html(
                # 200: the form again with the reason (a 4xx page is a console error in
                # browsers, and 401 would need a WWW-Authenticate scheme a form has not)
                self, request, "login.html", status=200, next=target, name=name,
                message="Wrong user name or password.",
            )  # fmt: skip
        await asyncio.to_thread(succeeded, engine, account=name, attempt_id=attempt)
        session_id, _ = await asyncio.to_thread(start_session, engine, user_id=user.id, now=now)
        log.info("%s signed in from %s", user.name, client)
        answer = web.HTTPSeeOther(target)
        answer.set_cookie(
            SESSION_COOKIE,
            session_id,
            max_age=int(SESSION_LIFETIME.total_seconds()),
            path="/",
            httponly=True,
            samesite="Lax",
            secure=uses_https(),
        )
        raise answer


@page("/", Access.PUBLIC)
class Home(View):
    """The web app's address: to the incidents (through the sign-in page when need be)."""

    async def get(self, request: Request) -> Response:
        raise web.HTTPSeeOther(HOME)


@page("/logout", Access.VIEWER)
class Logout(View):
    """Sign out (POST with the CSRF token): the session ends on the server too."""

    async def post(self, request: Request) -> Response:
        session_id = request.cookies.get(SESSION_COOKIE, "")
        if session_id:
            await asyncio.to_thread(end_session, resources.engine(), session_id)
        answer = web.HTTPSeeOther("/login")
        answer.del_cookie(SESSION_COOKIE, path="/")
        raise answer


@page("/api/session", Access.VIEWER)
class SessionInfo(View):
    """Who is calling: name, role, kind (user or token) and the session's CSRF token."""

    async def get(self, request: Request) -> Response:
        who = principal(request)
        assert who is not None  # the middleware let only a signed-in caller through
        return self.json(
            {
                "name": who.name,
                "role": who.role,
                "kind": who.kind,
                "csrf_token": csrf_token(request),
            }
        )
