"""The one module that imports slack_sdk: a small Web API client and request signatures.

Alerts (monitor.incidents.notifiers.slack), customer messages (playbooks.channels.slack) and
interactivity (playbooks.slack) all talk to Slack through this, so a slack-sdk upgrade or a
change of how failures are read happens in one place.
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from typing import Any

from pydantic import SecretStr
from slack_sdk.errors import SlackApiError, SlackClientError
from slack_sdk.signature import Clock, SignatureVerifier
from slack_sdk.web.async_client import AsyncWebClient

# API errors that say "not now" rather than "no": Slack's own trouble. (Rate limits are not
# refusals at all: `SlackFailure.retry_after` is set instead.)
TRANSIENT_ERRORS = frozenset(
    {"internal_error", "fatal_error", "service_unavailable", "request_timeout"}
)
# Errors that a retry cannot fix: the channel is wrong, or the bot may not post there. Customer
# messages retry anything else; alerts give up on anything not transient (a person is waiting).
PERMANENT_ERRORS = frozenset(
    {
        "channel_not_found",
        "not_in_channel",
        "is_archived",
        "invalid_auth",
        "not_authed",
        "account_inactive",
        "restricted_action",
        "msg_too_long",
    }
)


class SlackFailure(Exception):
    """Slack refused a call (``refused``: an API error such as ``channel_not_found``) or could
    not be reached. ``retry_after`` is set when Slack asked us to slow down."""

    def __init__(self, error: str, *, refused: bool, retry_after: float | None = None) -> None:
        super().__init__(error)
        self.error = error
        self.refused = refused
        self.retry_after = retry_after


@dataclass
class SlackApi:
    token: SecretStr
    base_url: str | None = None
    timeout: int = 10

    def __post_init__(self) -> None:
        self._client = AsyncWebClient(
            token=self.token.get_secret_value(),
            timeout=self.timeout,
            base_url=self.base_url or AsyncWebClient.BASE_URL,
        )

    async def call(self, method: str, **arguments: Any) -> dict[str, Any]:
        """One Web API method (``chat_postMessage``, ``chat_update``, ``views_open``…)."""
        try:
            response = await getattr(self._client, method)(**arguments)
        except SlackApiError as exc:
            error = str(exc.response.get("error", "unknown_error"))
            limited = exc.response.status_code == 429 or error == "ratelimited"
            retry_after = float(exc.response.headers.get("Retry-After", 1)) if limited else None
            raise SlackFailure(error, refused=not limited, retry_after=retry_after) from exc
        except (SlackClientError, OSError, TimeoutError) as exc:
            raise SlackFailure(str(exc) or type(exc).__name__, refused=False) from exc
        return dict(response.data) if isinstance(response.data, dict) else {}

    async def close(self) -> None:
        session = getattr(self._client, "session", None)
        if session is not None and not session.closed:
            await session.close()


async def call_once(
    token: SecretStr, method: str, *, base_url: str | None = None, **arguments: Any
) -> str | None:
    """One call on a short-lived client; the reason it failed, or None."""
    api = SlackApi(token, base_url, timeout=5)
    try:
        await api.call(method, **arguments)
    except SlackFailure as exc:
        return exc.error
    finally:
        await api.close()
    return None


class _FixedClock(Clock):
    def __init__(self, now: float) -> None:
        self._now = now

    def now(self) -> float:
        return self._now


def signature_valid(
    *, secret: str, body: bytes, timestamp: str, signature: str, now: float | None = None
) -> bool:
    """Slack's v0 HMAC-SHA256 signature, and a timestamp within 5 minutes of ``now``.

    A timestamp that is not a plain number, or a signature that is not ASCII, is simply not
    valid (the SDK would raise on them: int() of "abc", compare_digest of non-ASCII text).

    >>> signature_valid(secret="s", body=b"", timestamp="\u00b2", signature="v0=\u00e9")
    False
    """
    if not (timestamp.isascii() and timestamp.isdigit() and len(timestamp) <= 12):
        return False
    if not signature.isascii():
        return False
    verifier = SignatureVerifier(secret, clock=_FixedClock(time.time() if now is None else now))
    return verifier.is_valid(body=body, timestamp=timestamp, signature=signature)
