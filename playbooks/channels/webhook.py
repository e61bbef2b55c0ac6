"""Signed webhooks: JSON POST with an HMAC-SHA256 signature header and the idempotency key.

The receiver recomputes ``HMAC-SHA256(secret, timestamp + "." + body)`` and compares it with
``X-Crisismon-Signature: sha256=<hex>``; ``Idempotency-Key`` lets it drop a resend.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import time

import aiohttp
from pydantic import SecretStr

from playbooks.channels import ChannelError, OutgoingMessage


def signature(secret: str, timestamp: str, body: bytes) -> str:
    mac = hmac.new(secret.encode(), timestamp.encode() + b"." + body, hashlib.sha256)
    return "sha256=" + mac.hexdigest()


class WebhookChannel:
    name = "webhook"

    def __init__(self, *, secret: SecretStr, timeout: float = 10.0) -> None:
        self._secret = secret
        self._timeout = aiohttp.ClientTimeout(total=timeout)
        self._session: aiohttp.ClientSession | None = None

    async def send(self, message: OutgoingMessage) -> str:
        body = json.dumps(
            {
                "idempotency_key": message.idempotency_key,
                "subject": message.subject,
                "text": message.text,
            },
            ensure_ascii=False,
        ).encode()
        timestamp = str(int(time.time()))
        headers = {
            "Content-Type": "application/json",
            "Idempotency-Key": message.idempotency_key,
            "X-Crisismon-Timestamp": timestamp,
            "X-Crisismon-Signature": signature(self._secret.get_secret_value(), timestamp, body),
        }
        if self._session is None:
            self._session = aiohttp.ClientSession(timeout=self._timeout)
        try:
            async with self._session.post(message.to, data=body, headers=headers) as response:
                if response.status >= 300:
                    permanent = 400 <= response.status < 500 and response.status != 429
                    raise ChannelError(f"webhook answered {response.status}", permanent=permanent)
                return f"webhook:{response.status}"
        except (aiohttp.ClientError, TimeoutError) as exc:
            raise ChannelError(f"webhook unreachable: {exc}") from exc

    async def close(self) -> None:
        if self._session is not None:
            await self._session.close()
