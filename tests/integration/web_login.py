"""Signing in to a running worker in tests: users and API tokens made directly in its
database, then a real sign-in through POST /login.

    token = add_token(database_url, "ci", "approver")       # Authorization: Bearer <token>
    add_user(database_url, "vera", "viewer")
    me = login(worker.web_url, "vera")                       # password: PASSWORD
    urlopen(Request(url, headers=me.headers()))              # Cookie + X-CSRF-Token
    me = login_as(worker.web_url, database_url, "responder") # both at once
"""

from __future__ import annotations

import json
import urllib.error
import urllib.parse
import urllib.request
from dataclasses import dataclass
from datetime import UTC, datetime
from http.cookies import SimpleCookie

from sqlalchemy import select

from monitor.accounts.tokens import create_token
from monitor.accounts.users import add_user as _add_user
from monitor.storage.accounts import WebUser
from monitor.storage.db import make_engine, session_scope
from monitor.storage.migrate import upgrade

PASSWORD = "correct horse battery staple"
SESSION_COOKIE = "crisismon_session"


def _engine(database_url: str):  # type: ignore[no-untyped-def]
    engine = make_engine(database_url)
    upgrade(engine)  # a no-op once the worker has migrated
    return engine


def add_user(database_url: str, name: str, role: str, password: str = PASSWORD) -> None:
    """A user with ``role`` (viewer, responder, approver, admin); nothing when it exists."""
    engine = _engine(database_url)
    try:
        with session_scope(engine) as session:
            if session.execute(select(WebUser).where(WebUser.name == name)).first():
                return
        _add_user(
            engine, name=name, role=role, password=password, actor="test", now=datetime.now(UTC)
        )
    finally:
        engine.dispose()


def add_token(database_url: str, name: str, role: str) -> str:
    """A new API token with ``role``; the token to send as ``Authorization: Bearer``."""
    engine = _engine(database_url)
    try:
        _, token = create_token(engine, name=name, role=role, actor="test", now=datetime.now(UTC))
    finally:
        engine.dispose()
    return token


@dataclass(frozen=True)
class LoggedIn:
    """A signed-in browser session: its cookies and the session's CSRF token."""

    name: str
    role: str
    cookies: dict[str, str]
    csrf_token: str

    @property
    def cookie_header(self) -> str:
        return "; ".join(f"{k}={v}" for k, v in self.cookies.items())

    def headers(self, *, csrf: bool = True) -> dict[str, str]:
        """Headers for a request in this session (X-CSRF-Token for state changes)."""
        found = {"Cookie": self.cookie_header}
        if csrf:
            found["X-CSRF-Token"] = self.csrf_token
        return found


class _NoRedirect(urllib.request.HTTPRedirectHandler):
    def redirect_request(self, *args, **kwargs):  # type: ignore[no-untyped-def]
        return None


def login(web_url: str, name: str, password: str = PASSWORD) -> LoggedIn:
    """Sign in through the login form; AssertionError when the server refuses."""
    body = urllib.parse.urlencode({"name": name, "password": password, "next": "/"}).encode()
    request = urllib.request.Request(
        f"{web_url}/login",
        data=body,
        headers={"Content-Type": "application/x-www-form-urlencoded"},
    )
    opener = urllib.request.build_opener(_NoRedirect)
    try:
        with opener.open(request, timeout=30) as response:
            status, headers = response.status, response.headers
    except urllib.error.HTTPError as exc:
        status, headers = exc.code, exc.headers
    assert status == 303, f"login as {name} answered {status}"
    jar: SimpleCookie = SimpleCookie()
    for value in headers.get_all("Set-Cookie") or []:
        jar.load(value)
    cookies = {key: morsel.value for key, morsel in jar.items()}
    assert SESSION_COOKIE in cookies, f"login as {name} set no session cookie"
    who = urllib.request.Request(
        f"{web_url}/api/session", headers={"Cookie": f"{SESSION_COOKIE}={cookies[SESSION_COOKIE]}"}
    )
    with urllib.request.urlopen(who, timeout=30) as response:
        me = json.loads(response.read())
    return LoggedIn(name, me["role"], cookies, me["csrf_token"])


def login_as(web_url: str, database_url: str, role: str) -> LoggedIn:
    """Sign in as a user with ``role`` (made if need be, named after the role)."""
    add_user(database_url, f"{role}-user", role)
    return login(web_url, f"{role}-user")
