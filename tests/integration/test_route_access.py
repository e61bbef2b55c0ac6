"""Every registered route answers only whom its declared rule allows.

One real worker (SQLite, Tansu): every route and method of the app's router is called
unauthenticated, and with a session and an API token of each role. A route without a rule fails
the test; so does a 2xx where the rule forbids the caller. The same worker also shows the
security headers, the session cookie's flags, CSRF refusals and the sign-in rate limit.
"""

from __future__ import annotations

import json
import re
import sqlite3
import urllib.error
import urllib.parse
import urllib.request
from pathlib import Path

from monitor.shell.access import OPEN, ROLES, access_for, role_allows
from monitor.shell.worker import register_everything
from tests.conftest import service_env, unique_namespace
from tests.integration.web_login import PASSWORD, add_token, add_user, login

BOOTSTRAP = "bootstrap-token-0123456789abcdef"
SAFE = {"GET", "HEAD"}


class _NoRedirect(urllib.request.HTTPRedirectHandler):
    def redirect_request(self, *args, **kwargs):  # type: ignore[no-untyped-def]
        return None


_opener = urllib.request.build_opener(_NoRedirect)


def call(
    method: str,
    url: str,
    headers: dict[str, str] | None = None,
    body: bytes | None = None,
    *,
    read: bool = False,
) -> tuple[int, dict[str, str], bytes]:
    """Status, headers and body; a 2xx body only when asked (``read``), so an event stream
    does not hold the walk."""
    data = body if body is not None else (b"" if method not in SAFE else None)
    request = urllib.request.Request(url, data=data, headers=headers or {}, method=method)
    try:
        with _opener.open(request, timeout=20) as response:
            return response.status, dict(response.headers), response.read() if read else b""
    except urllib.error.HTTPError as exc:
        return exc.code, dict(exc.headers), exc.read()


def registered_routes() -> list[tuple[str, str]]:
    register_everything()
    from monitor.app import app

    found = {
        (route.resource.canonical, route.method)
        for route in app.web.web_app.router.routes()
        if route.resource is not None and route.method != "OPTIONS"
    }
    return sorted(found)


def concrete(path: str) -> str:
    """A URL path for a route pattern: parameters become 1 (static files: a real one)."""
    if path == "/static":
        return "/static/app.css"
    return re.sub(r"\{[^}]+\}", "1", path)


def test_every_route_answers_only_whom_its_rule_allows(tansu, start_worker, tmp_path: Path):
    routes = registered_routes()
    undeclared = [
        (method, path)
        for path, method in routes
        if access_for(path, method) is None
        and not (method == "HEAD" and access_for(path, "GET") is None)  # refused with 405
    ]
    assert not undeclared, f"routes without an access rule: {undeclared}"

    database_url = f"sqlite:///{tmp_path / 'walk.db'}"
    env = service_env(
        broker_url=tansu,
        database_url=database_url,
        data_dir=tmp_path / "data",
        namespace=unique_namespace(),
        slack=None,
    )
    env["CRISISMON_API_TOKENS"] = f"{BOOTSTRAP}=ops:importer"
    env["CRISISMON_PUBLIC_URL"] = "https://status.example.com"
    worker = start_worker(env)
    web = worker.web_url

    callers: dict[str, tuple[str, dict[str, str]]] = {"nobody": ("", {})}
    tokens: dict[str, str] = {}
    for role in ROLES:
        add_user(database_url, f"{role}-user", str(role))
        session = login(web, f"{role}-user")
        assert session.role == role
        callers[f"{role} session"] = (str(role), session.headers())
        tokens[str(role)] = add_token(database_url, f"{role}-token", str(role))
        callers[f"{role} token"] = (str(role), {"Authorization": f"Bearer {tokens[role]}"})
    callers["bootstrap token (importer: responder)"] = (
        "responder",
        {"Authorization": f"Bearer {BOOTSTRAP}"},
    )

    wrong: list[str] = []
    for path, method in routes:
        needs = access_for(path, method)
        url = web + concrete(path)
        if needs is None:  # HEAD on a route without GET
            assert call(method, url)[0] == 405, f"{method} {path}"
            continue
        if needs in OPEN:
            continue  # anyone: the view decides (signatures, forms)
        for caller, (role, headers) in callers.items():
            if path == "/logout" and "session" in caller:
                continue  # would end the session the rest of the walk uses; checked below
            status, _, _ = call(method, url, headers)
            allowed = bool(role) and role_allows(role, needs)
            if not allowed and 200 <= status < 300:
                wrong.append(f"{method} {path} answered {status} to {caller} (needs {needs})")
            if not allowed:
                expected = {403} if role else ({401} if _api_or_unsafe(path, method) else {303})
                if status not in expected:
                    wrong.append(f"{method} {path} answered {status} to {caller}, not {expected}")
            elif status in (401, 403) or status >= 500:
                wrong.append(f"{method} {path} answered {status} to allowed {caller}")
    assert not wrong, "\n".join(wrong)

    # Unknown paths stay 404, with the security headers.
    status, headers, _ = call("GET", f"{web}/no/such/page")
    assert status == 404 and headers["X-Frame-Options"] == "DENY"

    # The address crisismon run prints leads to the incidents.
    status, headers, _ = call("GET", f"{web}/")
    assert status == 303 and headers["Location"] == "/incidents"

    # An HTML page unauthenticated: to the sign-in page, back after it.
    status, headers, _ = call("GET", f"{web}/admin?tab=tokens")
    target = urllib.parse.urlsplit(headers["Location"])
    assert status == 303 and target.path == "/login"
    assert urllib.parse.parse_qs(target.query) == {"next": ["/admin?tab=tokens"]}

    # Security headers on a page and on an API answer; HSTS as the public URL is https.
    for url in (f"{web}/login", f"{web}/api/drafts"):
        _, headers, _ = call("GET", url)
        assert headers["Content-Security-Policy"].startswith("default-src 'self'; script-src")
        assert "frame-ancestors 'none'" in headers["Content-Security-Policy"]
        assert headers["X-Content-Type-Options"] == "nosniff"
        assert headers["Referrer-Policy"] == "same-origin"
        assert headers["X-Frame-Options"] == "DENY"
        assert headers["Strict-Transport-Security"].startswith("max-age=")
    _, _, page = call("GET", f"{web}/login", read=True)
    assert b"<script>" not in page and b"style=" not in page
    assert not re.search(rb"\son[a-z]+=", page)  # no inline event handlers
    assert b'name="htmx-config"' in page and b"/static/app.js" in page

    # The session cookie: HttpOnly, SameSite=Lax, Secure behind https.
    form = urllib.parse.urlencode({"name": "viewer-user", "password": PASSWORD}).encode()
    form_type = {"Content-Type": "application/x-www-form-urlencoded"}
    status, headers, _ = call("POST", f"{web}/login", form_type, form)
    cookie = headers["Set-Cookie"].lower()
    assert status == 303 and "httponly" in cookie and "samesite=lax" in cookie
    assert "secure" in cookie and "max-age=43200" in cookie

    # CSRF: a session's state change without the token, or with another's, is refused.
    approver = login(web, "approver-user")
    without = approver.headers(csrf=False)
    status, _, body = call("POST", f"{web}/api/drafts/1/approve", without, b"{}")
    assert status == 403 and b"CSRF" in body
    foreign = {**without, "X-CSRF-Token": login(web, "viewer-user").csrf_token}
    assert call("POST", f"{web}/api/drafts/1/approve", foreign, b"{}")[0] == 403
    assert call("POST", f"{web}/api/drafts/1/approve", approver.headers(), b"{}")[0] == 404
    # A form carries it as a field.
    admin = login(web, "admin-user")
    fields = {"action": "create_token", "name": "from-form", "role": "viewer"}
    form = urllib.parse.urlencode(fields).encode()
    status, _, _ = call("POST", f"{web}/admin", {**admin.headers(csrf=False), **form_type}, form)
    assert status == 403
    form = urllib.parse.urlencode({**fields, "csrf_token": admin.csrf_token}).encode()
    status, _, _ = call("POST", f"{web}/admin", {**admin.headers(csrf=False), **form_type}, form)
    assert status == 200
    # Another site's page posting with the browser's cookie, or signing the browser in.
    evil = {"Origin": "https://evil.example"}
    status, _, body = call("POST", f"{web}/api/drafts/1/approve", {**approver.headers(), **evil})
    assert status == 403 and b"another site" in body
    status, _, _ = call("POST", f"{web}/login", {**form_type, **evil}, form)
    assert status == 403
    own = {"Origin": "https://status.example.com"}  # CRISISMON_PUBLIC_URL's
    assert call("POST", f"{web}/api/drafts/1/approve", {**approver.headers(), **own})[0] == 404
    # A bearer token needs no CSRF token.
    approve = {"Authorization": f"Bearer {tokens['approver']}"}
    assert call("POST", f"{web}/api/drafts/1/approve", approve, b"{}")[0] == 404

    # Users change their own password (the current one first); their sessions end.
    viewer = login(web, "viewer-user")
    change = f"{web}/api/session/password"
    wrong = json.dumps({"current": "not it at all", "new": "a brand new phrase"}).encode()
    status, _, body = call("POST", change, viewer.headers(), wrong)
    assert status == 400 and b"current password is wrong" in body
    right = json.dumps({"current": PASSWORD, "new": "a brand new phrase"}).encode()
    assert call("POST", change, viewer.headers(), right)[0] == 200
    assert call("GET", f"{web}/api/session", viewer.headers())[0] == 401
    assert login(web, "viewer-user", "a brand new phrase").role == "viewer"

    # Tokens are stored hashed: the database never holds one in clear.
    with sqlite3.connect(tmp_path / "walk.db") as db:
        dump = "\n".join(db.iterdump())
    assert all(token not in dump for token in tokens.values())
    assert PASSWORD not in dump and approver.cookies["crisismon_session"] not in dump

    # Revoked: the token stops working at once; signed out: the session too.
    admin_token = {"Authorization": f"Bearer {tokens['admin']}"}
    assert call("POST", f"{web}/api/tokens/approver-token/revoke", admin_token)[0] == 200
    assert call("GET", f"{web}/api/drafts", approve)[0] == 401
    assert call("POST", f"{web}/logout", approver.headers())[0] == 303
    assert call("GET", f"{web}/api/drafts", approver.headers())[0] == 401

    # Failed sign-ins: five, then 429 with Retry-After, even with the right password.
    bad = urllib.parse.urlencode({"name": "responder-user", "password": "wrong" * 3}).encode()
    for _ in range(5):
        status, headers, body = call("POST", f"{web}/login", form_type, bad, read=True)
        assert status == 200 and b"Wrong user name or password" in body
        assert "Set-Cookie" not in headers
    good = urllib.parse.urlencode({"name": "responder-user", "password": PASSWORD}).encode()
    status, headers, body = call("POST", f"{web}/login", form_type, good)
    assert status == 429 and int(headers["Retry-After"]) > 60
    assert b"Too many failed sign-ins" in body


def _api_or_unsafe(path: str, method: str) -> bool:
    return path.startswith("/api/") or method not in SAFE
