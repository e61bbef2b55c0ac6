"""Who may call each route: every route declares its access where it is registered.

Register a view with ``@page(path, Access.VIEWER)`` (or a mapping per HTTP method, such as
``{"GET": Access.VIEWER, "POST": Access.RESPONDER}``) instead of ``app.page``. The access
middleware (``monitor/shell/auth/``) looks the rule up for every request, so a route that
declares nothing is refused, and ``tests/integration/test_route_access.py`` walks every
registered route, unauthenticated and with each role.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from enum import StrEnum

from faust.web import View

from monitor.app import app


class Access(StrEnum):
    """Who may call a route. The four roles are ordered: each may do what the ones before may."""

    PUBLIC = "public"  # anyone: health checks, the public status page and feed, login, assets
    SIGNED = "signed"  # anyone, but the view checks a signature itself (webhooks, Slack, links)
    VIEWER = "viewer"
    RESPONDER = "responder"  # acknowledge, resolve, feedback, label
    APPROVER = "approver"  # drafts and messages to customers
    ADMIN = "admin"  # users, tokens, sources, customers' data


ROLES: tuple[Access, ...] = (Access.VIEWER, Access.RESPONDER, Access.APPROVER, Access.ADMIN)
OPEN: frozenset[Access] = frozenset({Access.PUBLIC, Access.SIGNED})

# path pattern as registered (aiohttp's canonical form) -> HTTP method -> access
ROUTE_ACCESS: dict[str, dict[str, Access]] = {}


def role_allows(role: str, needs: Access) -> bool:
    """Whether a user or token with ``role`` may call a route that needs ``needs``."""
    if needs in OPEN:
        return True
    if role not in ROLES:
        return False
    return ROLES.index(Access(role)) >= ROLES.index(needs)


def access_for(path: str, method: str) -> Access | None:
    """The declared access of one route and method; None when the route declared nothing."""
    return ROUTE_ACCESS.get(path, {}).get(method.upper())


def page(path: str, access: Access | Mapping[str, Access]) -> Callable[[type[View]], type[View]]:
    """``app.page(path)`` that also records who may call each of the view's methods.

    With a mapping, a method the view implements but the mapping leaves out is refused
    (it has no rule), so adding a ``post`` to a read-only view cannot open it by accident.
    """

    def register(view: type[View]) -> type[View]:
        rules = ROUTE_ACCESS.setdefault(path, {})
        for name in _methods(view):
            if isinstance(access, Access):
                rules[name] = access
            elif name in access:
                rules[name] = access[name]
            elif name == "HEAD" and "GET" in access:
                rules[name] = access["GET"]
        registered: type[View] = app.page(path)(view)
        return registered

    return register


_VERBS = ("get", "post", "put", "patch", "delete")


def _methods(view: type[View]) -> list[str]:
    """The HTTP methods the view implements (HEAD with GET), as Faust's router will add them."""
    names = [verb.upper() for verb in _VERBS if getattr(view, verb) is not getattr(View, verb)]
    return [*names, "HEAD"] if "GET" in names else names


def declare(path: str, access: Access, methods: tuple[str, ...] = ("GET", "HEAD")) -> None:
    """Record the access of a route registered outside ``page`` (static assets)."""
    rules = ROUTE_ACCESS.setdefault(path, {})
    for method in methods:
        rules[method] = access
