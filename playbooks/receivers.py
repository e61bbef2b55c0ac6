"""Local stand-ins for the customers' side, for `crisismon demo --full`: an SMTP server
(aiosmtpd), a Twilio-compatible SMS API and a webhook endpoint, all on loopback ports.

They record what arrives (one message per idempotency key, as an idempotent API would).
"""

from __future__ import annotations

import asyncio
import email
import email.policy
import threading
from dataclasses import dataclass, field
from typing import Any

from aiohttp import web
from aiosmtpd.controller import Controller

from monitor.broker import free_loopback_port

SMS_SID = "ACdemo"
SMS_TOKEN = "demo-token"  # a local fake's password, not a secret
WEBHOOK_SECRET = "demo-webhook-secret"


@dataclass
class Received:
    channel: str
    to: str
    subject: str
    text: str
    key: str


@dataclass
class Receivers:
    smtp_port: int = field(default_factory=free_loopback_port)
    http_port: int = field(default_factory=free_loopback_port)
    received: dict[str, Received] = field(default_factory=dict)
    _lock: threading.Lock = field(default_factory=threading.Lock)
    _loop: asyncio.AbstractEventLoop | None = None
    _thread: threading.Thread | None = None
    _smtp: Controller | None = None
    _runner: web.AppRunner | None = None

    @property
    def sms_url(self) -> str:
        return f"http://127.0.0.1:{self.http_port}"

    @property
    def webhook_url(self) -> str:
        return f"http://127.0.0.1:{self.http_port}/hook"

    def _keep(self, item: Received) -> None:
        with self._lock:
            self.received.setdefault(item.key, item)

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:
        message = email.message_from_bytes(envelope.content, policy=email.policy.default)
        body = message.get_body(("plain",))
        text = body.get_content() if body is not None else ""
        key = str(message.get("X-Idempotency-Key") or message.get("Message-ID"))
        self._keep(Received("email", str(message["To"]), str(message["Subject"]), text, key))
        return "250 OK"

    async def _sms(self, request: web.Request) -> web.Response:
        form = await request.post()
        key = request.headers.get("Idempotency-Key", "")
        self._keep(Received("sms", str(form.get("To")), "", str(form.get("Body")), key))
        return web.json_response({"sid": f"SM{len(self.received)}", "status": "queued"}, status=201)

    async def _hook(self, request: web.Request) -> web.Response:
        payload = await request.json()
        key = request.headers.get("Idempotency-Key", "")
        self._keep(Received("webhook", str(request.url), "", str(payload.get("text")), key))
        return web.json_response({"ok": True})

    def start(self) -> None:
        self._smtp = Controller(self, hostname="127.0.0.1", port=self.smtp_port)
        self._smtp.start()
        ready = threading.Event()
        loop = asyncio.new_event_loop()
        self._loop = loop

        async def serve() -> None:
            app = web.Application()
            app.router.add_post(f"/2010-04-01/Accounts/{SMS_SID}/Messages.json", self._sms)
            app.router.add_post("/hook", self._hook)
            self._runner = web.AppRunner(app)
            await self._runner.setup()
            await web.TCPSite(self._runner, "127.0.0.1", self.http_port).start()
            ready.set()

        def run() -> None:
            loop.run_until_complete(serve())
            loop.run_forever()

        self._thread = threading.Thread(target=run, daemon=True)
        self._thread.start()
        if not ready.wait(10):
            raise RuntimeError("the local SMS and webhook receivers did not start")

    def stop(self) -> None:
        if self._smtp is not None:
            self._smtp.stop()
        if self._loop is not None and self._runner is not None:
            asyncio.run_coroutine_threadsafe(self._runner.cleanup(), self._loop).result(10)
            self._loop.call_soon_threadsafe(self._loop.stop)
        if self._thread is not None:
            self._thread.join(10)

    def env(self) -> dict[str, str]:
        """The CRISISMON_* settings that point a worker at these receivers."""
        return {
            "CRISISMON_SMTP_HOST": "127.0.0.1",
            "CRISISMON_SMTP_PORT": str(self.smtp_port),
            "CRISISMON_SMTP_FROM": "crisis@acme.example",
            "CRISISMON_SMS_BASE_URL": self.sms_url,
            "CRISISMON_SMS_ACCOUNT_SID": SMS_SID,
            "CRISISMON_SMS_AUTH_TOKEN": SMS_TOKEN,
            "CRISISMON_SMS_FROM": "+15550100",
            "CRISISMON_WEBHOOK_SECRET": WEBHOOK_SECRET,
        }


def demo_customers(webhook_url: str) -> list[dict[str, Any]]:
    """Seven customers that show every path: segments, locales, opt-out, no consent."""
    consent = {"email_consent_at": "2024-01-01", "email_consent_method": "signup form"}
    return [
        {
            "external_id": "vip-en",
            "locale": "en",
            "timezone": "Europe/London",
            "plan": "enterprise",
            "lifetime_value": 12000,
            "signup_date": "2020-03-01",
            "email": "vip@example.com",
            "phone": "+447700900001",
            "sms_consent_at": "2020-03-01",
            **consent,
        },
        {
            "external_id": "vip-fr",
            "locale": "fr-FR",
            "timezone": "Europe/Paris",
            "lifetime_value": 8000,
            "signup_date": "2021-05-01",
            "email": "vip.fr@example.com",
            **consent,
        },
        {
            "external_id": "new-en",
            "locale": "en",
            "signup_date": _days_ago(5),
            "email": "new@example.com",
            **consent,
        },
        {
            "external_id": "new-fr",
            "locale": "fr",
            "signup_date": _days_ago(3),
            "email": "nouveau@example.com",
            **consent,
        },
        {
            "external_id": "partner",
            "locale": "en",
            "signup_date": "2023-02-01",
            "email": "ops@partner.example",
            "webhook_url": webhook_url,
            "webhook_consent_at": "2023-02-01",
            "webhook_consent_method": "contract",
            **consent,
        },
        {
            "external_id": "opted-out",
            "signup_date": "2023-02-01",
            "email": "gone@example.com",
            "email_revoked_at": "2025-01-01",
            **consent,
        },
        {"external_id": "no-consent", "signup_date": "2023-02-01", "email": "never@example.com"},
    ]


def _days_ago(days: int) -> str:
    from datetime import UTC, datetime, timedelta

    return (datetime.now(UTC) - timedelta(days=days)).date().isoformat()
