"""Accounts on every route: the access middleware, sign-in, sessions, CSRF and the admin screen.

Views ask ``principal(request)`` who is calling (a Principal with ``name``, ``role`` and
``kind`` "user" or "token", or None on a public route); templates get ``user`` and
``csrf_token``. Importing this package installs the middleware (before the server starts) and
registers /login, /logout and /admin.
"""

from __future__ import annotations

from monitor.accounts import Principal
from monitor.shell.auth.identity import csrf_token, principal, template_names
from monitor.shell.ui import CONTEXT_PROVIDERS

__all__ = ["Principal", "csrf_token", "principal"]

if template_names not in CONTEXT_PROVIDERS:
    CONTEXT_PROVIDERS.append(template_names)
