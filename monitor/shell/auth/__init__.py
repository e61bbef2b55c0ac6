"""Accounts on every route: the access middleware, sign-in, sessions, CSRF and the admin screen.

Views ask ``principal(request)`` who is calling (a Principal with ``name``, ``role`` and
``kind`` "user" or "token", or None on a public route); templates get ``user`` and
``csrf_token``. Importing this package installs the middleware (before the server starts) and
registers /login, /logout and /admin.
"""

from __future__ import annotations

from typing import cast

from monitor.accounts import Principal
from monitor.shell.auth.identity import csrf_token, principal, template_names
from monitor.shell.ui import CONTEXT_PROVIDERS

__all__ = ["Principal", "csrf_token", "principal"]

if template_names not in CONTEXT_PROVIDERS:
    CONTEXT_PROVIDERS.append(template_names)


def _install() -> None:
    """Put the access middleware and the security headers on the web server (before it starts:
    aiohttp freezes both lists then)."""
    from faust.web.drivers.aiohttp import Web

    from monitor.app import app
    from monitor.shell.auth.guard import add_security_headers, guard

    web_app = cast(Web, app.web).web_app  # the aiohttp driver, the only one Faust has
    if guard not in web_app.middlewares:
        web_app.middlewares.append(guard)
        web_app.on_response_prepare.append(add_security_headers)


_install()
from monitor.shell.auth import account as _account  # noqa: E402,F401  - /account
from monitor.shell.auth import views as _views  # noqa: E402,F401  - /login, /logout, /api/session
