"""Receivers that speak the real protocols: aiosmtpd for SMTP, aiohttp for SMS and webhooks.

Like real idempotent APIs, the SMS and webhook receivers keep one message per idempotency key
and count every request, so a test can tell "the channel saw the key twice" from "two messages".
"""

from __future__ import annotations

import asyncio
import base64
import email
import email.policy
import hashlib
import hmac
import json
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from email.message import EmailMessage
from typing import Any

from aiohttp import web
from aiosmtpd.controller import Controller

from monitor.broker import free_loopback_port


@dataclass
class SmtpInbox:
    port: int
    messages: list[EmailMessage] = field(default_factory=list)
    refuse: set[str] = field(default_factory=set)  # recipients answered 550, as for no mailbox

    async def handle_RCPT(
        self, server: Any, session: Any, envelope: Any, address: str, options: Any
    ) -> str:
        if address in self.refuse:
            return f"550 5.1.1 <{address}>: recipient address rejected: no such user"
        envelope.rcpt_tos.append(address)
        return "250 OK"

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:
        parsed = email.message_from_bytes(envelope.content, policy=email.policy.default)
        assert isinstance(parsed, EmailMessage)
        self.messages.append(parsed)
        return "250 OK"

    def to(self, address: str) -> list[EmailMessage]:
        return [m for m in self.messages if m["To"] == address]


@contextmanager
def smtp_server() -> Iterator[SmtpInbox]:
    inbox = SmtpInbox(port=free_loopback_port())
    controller = Controller(inbox, hostname="127.0.0.1", port=inbox.port)
    controller.start()
    try:
        yield inbox
    finally:
        controller.stop()


@dataclass
class HttpReceiver:
    """Records requests; keeps the first message per Idempotency-Key."""

    url: str
    requests: list[dict[str, Any]] = field(default_factory=list)
    messages: dict[str, dict[str, Any]] = field(default_factory=dict)
    # While set for a key, the first request with that key is held open (to kill the sender).
    hold_key_prefix: str | None = None
    held: threading.Event = field(default_factory=threading.Event)
    release: threading.Event = field(default_factory=threading.Event)

    def keys_seen(self) -> list[str]:
        return [str(r["key"]) for r in self.requests]


class _Server:
    def __init__(self, handler: Any, port: int, path: str) -> None:
        self.loop = asyncio.new_event_loop()
        self.port = port
        self.ready = threading.Event()
        self.handler = handler
        self.path = path
        self.runner: web.AppRunner | None = None
        self.thread = threading.Thread(target=self._run, daemon=True)

    def _run(self) -> None:
        self.loop.run_until_complete(self._start())
        self.loop.run_forever()

    async def _start(self) -> None:
        app = web.Application()
        app.router.add_post(self.path, self.handler)
        self.runner = web.AppRunner(app)
        await self.runner.setup()
        await web.TCPSite(self.runner, "127.0.0.1", self.port).start()
        self.ready.set()

    def __enter__(self) -> _Server:
        self.thread.start()
        assert self.ready.wait(10)
        return self

    def __exit__(self, *exc: object) -> None:
        assert self.runner is not None
        asyncio.run_coroutine_threadsafe(self.runner.cleanup(), self.loop).result(10)
        self.loop.call_soon_threadsafe(self.loop.stop)
        self.thread.join(10)


async def _maybe_hold(receiver: HttpReceiver, key: str) -> None:
    if receiver.hold_key_prefix and key.startswith(receiver.hold_key_prefix):
        receiver.hold_key_prefix = None
        receiver.held.set()
        await asyncio.to_thread(receiver.release.wait, 60)


@contextmanager
def sms_server(*, sid: str, token: str) -> Iterator[HttpReceiver]:
    port = free_loopback_port()
    receiver = HttpReceiver(url=f"http://127.0.0.1:{port}")
    expected = "Basic " + base64.b64encode(f"{sid}:{token}".encode()).decode()

    async def messages(request: web.Request) -> web.Response:
        if request.headers.get("Authorization") != expected:
            return web.json_response({"code": 20003, "message": "Authenticate"}, status=401)
        form = dict(await request.post())
        key = request.headers.get("Idempotency-Key", "")
        receiver.requests.append({"key": key, **form})
        await _maybe_hold(receiver, key)
        receiver.messages.setdefault(key, {"key": key, **form})
        digest = hashlib.sha256(key.encode()).hexdigest()[:32]
        return web.json_response({"sid": f"SM{digest}", "status": "queued"}, status=201)

    with _Server(messages, port, f"/2010-04-01/Accounts/{sid}/Messages.json"):
        yield receiver


@contextmanager
def webhook_server(*, secret: str) -> Iterator[HttpReceiver]:
    port = free_loopback_port()
    receiver = HttpReceiver(url=f"http://127.0.0.1:{port}/hook")

    async def hook(request: web.Request) -> web.Response:
        body = await request.read()
        timestamp = request.headers.get("X-Crisismon-Timestamp", "")
        mac = hmac.new(secret.encode(), timestamp.encode() + b"." + body, hashlib.sha256)
        if not hmac.compare_digest(
            request.headers.get("X-Crisismon-Signature", ""), "sha256=" + mac.hexdigest()
        ):
            return web.json_response({"error": "bad signature"}, status=401)
        key = request.headers.get("Idempotency-Key", "")
        payload = json.loads(body)
        receiver.requests.append({"key": key, **payload})
        await _maybe_hold(receiver, key)
        receiver.messages.setdefault(key, {"key": key, **payload})
        return web.json_response({"ok": True})

    with _Server(hook, port, "/hook"):
        yield receiver


@contextmanager
def slack_views_server() -> Iterator[HttpReceiver]:
    """Slack's ``views.open`` as a local server; records the views the real client sent."""
    port = free_loopback_port()
    receiver = HttpReceiver(url=f"http://127.0.0.1:{port}/api/")

    async def views_open(request: web.Request) -> web.Response:
        if request.headers.get("Authorization") != "Bearer xoxb-test-token":
            return web.json_response({"ok": False, "error": "invalid_auth"})
        if request.content_type == "application/json":
            body = await request.json()
        else:
            body = dict(await request.post())
        view = body.get("view")
        body["view"] = json.loads(view) if isinstance(view, str) else view
        receiver.requests.append({"key": body.get("trigger_id"), **body})
        return web.json_response({"ok": True, "view": {"id": "V1"}})

    with _Server(views_open, port, "/api/views.open"):
        yield receiver
