"""Slack alerts through slack-sdk's AsyncWebClient. The only module that imports slack_sdk."""

from __future__ import annotations

import asyncio
from typing import Any

from pydantic import SecretStr
from slack_sdk.errors import SlackApiError, SlackClientError
from slack_sdk.web.async_client import AsyncWebClient

from monitor.incidents.alerts import AlertMessage
from monitor.notifiers import NotifierError

_ATTEMPTS = 3


class SlackNotifier:
    name = "slack"

    def __init__(self, *, token: SecretStr, channel: str, base_url: str | None = None) -> None:
        self.channel = channel
        self._client = AsyncWebClient(
            token=token.get_secret_value(),
            timeout=10,
            base_url=base_url or AsyncWebClient.BASE_URL,
        )

    async def post_alert(self, alert: AlertMessage) -> str:
        """Post with Block Kit blocks; retry transient failures, fail loudly on API errors."""
        last_error = ""
        for attempt in range(_ATTEMPTS):
            try:
                response = await self._client.chat_postMessage(
                    channel=self.channel, text=alert.slack_text or alert.text, blocks=alert.blocks
                )
                return str(response.get("ts") or "")
            except SlackApiError as exc:
                error = exc.response.get("error", "unknown_error")
                if exc.response.status_code != 429 and error != "ratelimited":
                    raise NotifierError(f"Slack refused the alert: {error}") from exc
                last_error = error
                retry_after = float(exc.response.headers.get("Retry-After", 1))
                await asyncio.sleep(min(retry_after, 30))
            except (SlackClientError, OSError, TimeoutError) as exc:
                last_error = str(exc) or type(exc).__name__
                await asyncio.sleep(0.5 * 2**attempt)
        raise NotifierError(f"Slack unreachable after {_ATTEMPTS} attempts: {last_error}")

    async def close(self) -> None:
        session = getattr(self._client, "session", None)
        if session is not None and not session.closed:
            await session.close()


async def update_message(
    *,
    token: SecretStr,
    channel: str,
    ts: str,
    text: str,
    blocks: list[dict[str, Any]],
    base_url: str | None = None,
) -> str | None:
    """Replace a posted message (``chat.update``); the reason it failed, or None."""
    client = AsyncWebClient(
        token=token.get_secret_value(), timeout=5, base_url=base_url or AsyncWebClient.BASE_URL
    )
    try:
        await client.chat_update(channel=channel, ts=ts, text=text, blocks=blocks)
    except SlackApiError as exc:
        return str(exc.response.get("error", "unknown_error"))
    except (SlackClientError, OSError, TimeoutError) as exc:
        return str(exc) or type(exc).__name__
    finally:
        session = getattr(client, "session", None)
        if session is not None and not session.closed:
            await session.close()
    return None
