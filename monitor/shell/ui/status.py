"""The public status page: /status (HTML, no JavaScript), its Atom feed, and email
subscription with double opt-in (/status/subscribe, then the emailed /status/confirm link).

The logic is in ``playbooks.status_page``, ``playbooks.status_feed`` and
``playbooks.status_subscribers``; this module only wires it to the web server.
"""

from __future__ import annotations

import asyncio
import time
from collections import deque
from typing import Any

from faust.web import Request, Response, View
from pydantic import BaseModel, Field

from monitor.settings import get_settings
from monitor.shell import resources
from monitor.shell.access import Access, page
from monitor.shell.auth.views import client_address
from monitor.shell.playbook_resources import playbook_setup
from monitor.shell.ui import page_html
from playbooks.service import utcnow
from playbooks.status_feed import atom_feed
from playbooks.status_page import LABEL, read_page
from playbooks.status_subscribers import BadAddress, BadToken, confirm, normal_address, subscribe
from streams.cleaning import BadJson, parse_json

# Whatever the address, the form answers this, so it tells nobody who is subscribed.
SUBSCRIBE_ANSWER = (
    "Thank you. If this address can receive email, a confirmation link is on its way: "
    "updates start once you open it (within 48 hours)."
)


class SubscribeBody(BaseModel):
    email: str = Field(max_length=1000, description="the address to send status updates to")


class ConfirmQuery(BaseModel):
    token: str = Field(max_length=200, description="the signed token from the emailed link")


class RateLimit:
    """At most ``limit`` calls per key within ``seconds`` (in this process).

    >>> limit = RateLimit(limit=2, seconds=60)
    >>> [limit.allow("a", now=t) for t in (0, 1, 2)], limit.allow("b", now=2)
    ([True, True, False], True)
    >>> limit.allow("a", now=61)  # the first call has left the window
    True
    """

    def __init__(self, limit: int, seconds: float, max_keys: int = 10_000) -> None:
        self._limit, self._seconds, self._max_keys = limit, seconds, max_keys
        self._calls: dict[str, deque[float]] = {}

    def allow(self, key: str, now: float | None = None) -> bool:
        now = time.monotonic() if now is None else now
        if len(self._calls) >= self._max_keys:  # forget idle keys rather than grow forever
            self._calls = {
                k: v for k, v in self._calls.items() if v and v[-1] > now - self._seconds
            }
        calls = self._calls.setdefault(key, deque())
        while calls and calls[0] <= now - self._seconds:
            calls.popleft()
        if len(calls) >= self._limit:
            return False
        calls.append(now)
        return True


# Generous: behind a reverse proxy every visitor counts as the proxy, and people subscribe
# in numbers during an outage; an address gets one confirmation an hour whatever this says.
subscribe_limit = RateLimit(limit=20, seconds=600)


def _title() -> str:
    return get_settings().status_page_title


@page("/status", Access.PUBLIC)
class StatusPage(View):
    """The public status page: overall state, components, 90 days of incidents."""

    async def get(self, request: Request) -> Response:
        status = await asyncio.to_thread(read_page, resources.engine(), now=utcnow())
        return page_html(
            self, request, "status.html", title=_title(), page=status, labels=LABEL, notice=""
        )


@page("/status/feed.atom", Access.PUBLIC)
class StatusFeed(View):
    """The status page's updates as an Atom feed, newest first."""

    async def get(self, request: Request) -> Response:
        status = await asyncio.to_thread(read_page, resources.engine(), now=utcnow())
        body = atom_feed(status, public_url=playbook_setup().public_url, title=_title())
        # No "; charset=" here: aiohttp refuses one in content_type (ValueError, every request
        # answered 400); the XML declaration says utf-8.
        return self.bytes(body, content_type="application/atom+xml")


@page("/status/subscribe", Access.PUBLIC)
class StatusSubscribe(View):
    """Ask for status updates by email: a confirmation link is emailed (double opt-in)."""

    body_models = {"POST": SubscribeBody}

    async def post(self, request: Request) -> Response:
        wants_json = request.headers.get("Content-Type", "").startswith("application/json")
        try:
            raw = await _address(request, wants_json)
        except BadJson as exc:
            return self._answer(request, wants_json, f"body is not valid JSON: {exc}", 400)
        if not subscribe_limit.allow(client_address(request)):
            return self._answer(request, wants_json, "too many requests: try again later", 429)
        try:
            address = normal_address(raw)
        except BadAddress as exc:
            return self._answer(request, wants_json, str(exc), 400)
        await asyncio.to_thread(subscribe, resources.engine(), address=address, now=utcnow())
        return self._answer(request, wants_json, SUBSCRIBE_ANSWER, 202)

    def _answer(self, request: Request, wants_json: bool, message: str, status: int) -> Response:
        if wants_json:
            key = "message" if status < 400 else "error"
            return self.json({key: message}, status=status)
        kind = "error" if status >= 400 else ""
        return page_html(
            self,
            request,
            "status_message.html",
            status=status,
            title=_title(),
            message=message,
            kind=kind,
        )


async def _address(request: Request, wants_json: bool) -> str:
    if wants_json:
        body: Any = parse_json(await request.read())
        value = body.get("email") if isinstance(body, dict) else None
    else:
        value = (await request.post()).get("email")
    return value if isinstance(value, str) else ""


@page("/status/confirm", Access.SIGNED)
class StatusConfirm(View):
    """The emailed confirmation link: its signature and age are checked, then consent recorded."""

    query_models = {"GET": ConfirmQuery}

    async def get(self, request: Request) -> Response:
        token = request.query.get("token", "")[:200]
        try:
            await asyncio.to_thread(
                confirm,
                resources.engine(),
                token=token,
                secret=playbook_setup().unsubscribe_secret,
                now=utcnow(),
            )
        except BadToken as exc:
            return page_html(
                self,
                request,
                "status_message.html",
                status=400,
                title=_title(),
                message=str(exc),
                kind="error",
            )
        message = "You are subscribed: status updates will come by email."
        return page_html(
            self, request, "status_message.html", title=_title(), message=message, kind=""
        )
