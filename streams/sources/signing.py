"""Request authentication helpers shared by webhook sources. Comparisons are constant-time.

>>> sig = hmac_b64(b"secret", b"2026-01-05T10:00:00Z" + b"{}")
>>> len(sig), sig == hmac_b64(b"secret", b"2026-01-05T10:00:00Z{}")
(44, True)
"""

from __future__ import annotations

import base64
import hmac
from collections.abc import Mapping
from datetime import UTC, datetime
from typing import Any

from streams.cleaning import BadJson, parse_json
from streams.sources import BadSignature, InvalidPayload


def hmac_b64(secret: bytes, message: bytes, digest: str = "sha256") -> str:
    return base64.b64encode(hmac.new(secret, message, digest).digest()).decode()


def hmac_hex(secret: bytes, message: bytes, digest: str = "sha256") -> str:
    return hmac.new(secret, message, digest).hexdigest()


def same(expected: str, given: str | None) -> bool:
    """Constant-time comparison of a header with the expected value. A header that is not
    UTF-8 reaches us with surrogate escapes: "replace" makes it bytes that cannot match (the
    expected value is ASCII), rather than an encoding error.

    >>> same("sha256=ab", " sha256=ab "), same("sha256=ab", "sha256=" + chr(0xDCFF))
    (True, False)
    """
    if given is None:
        return False
    return hmac.compare_digest(expected.encode(), given.strip().encode("utf-8", "replace"))


def header(headers: Mapping[str, str], name: str) -> str | None:
    """A header by case-insensitive name (aiohttp's headers are, a plain dict is not)."""
    wanted = name.lower()
    for key, value in headers.items():
        if key.lower() == wanted:
            return value
    return None


def check_fresh(stamp: datetime, *, now: datetime, tolerance_seconds: float) -> None:
    """Refuse a signed timestamp too far from now: a captured request cannot be replayed later."""
    if abs((now - stamp).total_seconds()) > tolerance_seconds:
        raise BadSignature(
            f"signature timestamp {stamp.isoformat()} is more than {tolerance_seconds:.0f}s "
            "from now (replayed request, or a clock that is off)"
        )


def parse_timestamp(value: str) -> datetime:
    """ISO 8601 (Zendesk) or Unix seconds, as an aware UTC datetime."""
    text = value.strip()
    try:
        if text.isascii() and text.isdigit():
            return datetime.fromtimestamp(int(text), tz=UTC)
        parsed = datetime.fromisoformat(text.replace("Z", "+00:00"))
        return parsed.replace(tzinfo=UTC) if parsed.tzinfo is None else parsed.astimezone(UTC)
    except (ValueError, OverflowError, OSError) as exc:  # 5,000 digits, year 9999 minus 1 h…
        raise BadSignature(f"unreadable signature timestamp {text[:40]!r}") from exc


def load_json(body: bytes) -> Any:
    """The JSON body, or `InvalidPayload` with the reason."""
    try:
        return parse_json(body)
    except BadJson as exc:
        raise InvalidPayload(f"body is not valid JSON: {exc}") from exc


def basic_auth_password(value: str | None) -> str | None:
    """The password of an ``Authorization: Basic …`` header, or None."""
    if not value or not value.lower().startswith("basic "):
        return None
    try:
        decoded = base64.b64decode(value[6:].strip(), validate=True).decode()
    except (ValueError, UnicodeDecodeError):
        return None
    return decoded.partition(":")[2]


def sha256_signature(secret: bytes, body: bytes) -> str:
    """Our own scheme for generic webhooks: ``X-Crisismon-Signature: sha256=<hex>``."""
    return "sha256=" + hmac_hex(secret, body, "sha256")


def verify_crisismon_signature(secret: bytes, headers: Mapping[str, str], body: bytes) -> None:
    given = header(headers, "X-Crisismon-Signature")
    if given is None:
        raise BadSignature("missing X-Crisismon-Signature header")
    if not same(sha256_signature(secret, body), given):
        raise BadSignature("X-Crisismon-Signature does not match the body")
