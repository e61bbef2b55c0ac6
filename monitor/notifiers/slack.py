"""Slack alerts, through the one Slack adapter (monitor.slack_api)."""

from __future__ import annotations

import asyncio
from typing import Any

from pydantic import SecretStr

from monitor.incidents.alerts import AlertMessage
from monitor.notifiers import NotifierError
from monitor.slack_api import TRANSIENT_ERRORS, SlackApi, SlackFailure, call_once

_ATTEMPTS = 3


class SlackNotifier:
    name = "slack"

    def __init__(self, *, token: SecretStr, channel: str, base_url: str | None = None) -> None:
        self.channel = channel
        self._api = SlackApi(token, base_url)

    async def post_alert(self, alert: AlertMessage) -> str:
        """Post with Block Kit blocks; retry transient failures, fail loudly on API errors."""
        last_error = ""
        for attempt in range(_ATTEMPTS):
            try:
                response = await self._api.call(
                    "chat_postMessage",
                    channel=self.channel,
                    text=alert.slack_text or alert.text,
                    blocks=alert.blocks,
                )
                return str(response.get("ts") or "")
            except SlackFailure as exc:
                if exc.refused and exc.error not in TRANSIENT_ERRORS:
                    raise NotifierError(f"Slack refused the alert: {exc.error}") from exc
                last_error = exc.error
                if exc.retry_after is not None:
                    await asyncio.sleep(min(exc.retry_after, 30))
                else:
                    await asyncio.sleep(0.5 * 2**attempt)
        raise NotifierError(
            f"Slack unreachable after {_ATTEMPTS} attempts: {last_error}", transient=True
        )

    async def close(self) -> None:
        await self._api.close()


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
    return await call_once(
        token, "chat_update", base_url=base_url, channel=channel, ts=ts, text=text, blocks=blocks
    )
