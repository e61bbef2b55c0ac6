"""How each vendor signs a webhook request, written from the vendors' docs, independently of
the code under test (which must agree with these, not with itself)."""

from __future__ import annotations

import base64
import hashlib
import hmac
from datetime import UTC, datetime
from pathlib import Path

DATA = Path(__file__).resolve().parent / "data"


def fixture(vendor: str, name: str) -> bytes:
    return (DATA / "webhooks" / vendor / f"{name}.json").read_bytes()


def zendesk_headers(secret: str, body: bytes, when: datetime | None = None) -> dict[str, str]:
    """Zendesk: base64(HMAC-SHA256(secret, timestamp + body)), ISO 8601 timestamp header."""
    stamp = (when or datetime.now(UTC)).strftime("%Y-%m-%dT%H:%M:%SZ")
    digest = hmac.new(secret.encode(), stamp.encode() + body, hashlib.sha256).digest()
    return {
        "X-Zendesk-Webhook-Signature": base64.b64encode(digest).decode(),
        "X-Zendesk-Webhook-Signature-Timestamp": stamp,
        "Content-Type": "application/json",
    }


def intercom_headers(secret: str, body: bytes) -> dict[str, str]:
    """Intercom: X-Hub-Signature: sha1=hex(HMAC-SHA1(client secret, body))."""
    digest = hmac.new(secret.encode(), body, hashlib.sha1).hexdigest()
    return {"X-Hub-Signature": f"sha1={digest}", "Content-Type": "application/json"}


def freshdesk_headers(secret: str) -> dict[str, str]:
    """Freshdesk does not sign; its webhook action sends the custom header we ask for."""
    return {"X-Crisismon-Secret": secret, "Content-Type": "application/json"}


def freshdesk_basic_auth(secret: str) -> dict[str, str]:
    token = base64.b64encode(f"freshdesk:{secret}".encode()).decode()
    return {"Authorization": f"Basic {token}", "Content-Type": "application/json"}


def crisismon_headers(secret: str, body: bytes) -> dict[str, str]:
    """Our generic webhooks: X-Crisismon-Signature: sha256=hex(HMAC-SHA256(secret, body))."""
    digest = hmac.new(secret.encode(), body, hashlib.sha256).hexdigest()
    return {"X-Crisismon-Signature": f"sha256={digest}", "Content-Type": "application/json"}
