"""Slack alerts, through the one Slack adapter (monitor.slack_api)."""

from __future__ import annotations

import asyncio
from typing import Any

from pydantic import SecretStr

from monitor.incidents.alerts import AlertMessage, slack_escape
from monitor.incidents.notifiers import NotifierError
from monitor.slack_api import TRANSIENT_ERRORS, SlackApi, SlackFailure, call_once

_ATTEMPTS = 3


class SlackNotifier:
    name = "slack"

    def __init__(self, *, token: SecretStr, channel: str, base_url: str | None = None) -> None:
        self.channel = channel
        self._api = SlackApi(token, base_url)

    async def post_alert(self, alert: AlertMessage) -> str:
        """Post with Block Kit blocks; retry transient failures, fail loudly on API errors.

        The reference is ``CHANNEL_ID/ts``: editing a message needs the channel's id, and the
        configured channel may be a name (``#crisis``).
        """
        response = await self._call(
            "chat_postMessage",
            "the alert",
            channel=self.channel,
            text=alert.slack_text or alert.text,
            blocks=alert.blocks,
        )
        return f"{response.get('channel') or self.channel}/{response.get('ts') or ''}"

    async def update_alert(self, ref: str, alert: AlertMessage) -> None:
        """Replace the posted alert (``chat.update``) with the incident as it is now."""
        channel, ts = self._where(ref)
        await self._call(
            "chat_update",
            "the alert update",
            channel=channel,
            ts=ts,
            text=alert.slack_text or alert.text,
            blocks=alert.blocks,
        )

    async def reply(self, ref: str, text: str) -> None:
        """A short message in the alert's thread."""
        channel, ts = self._where(ref)
        await self._call(
            "chat_postMessage", "the note", channel=channel, thread_ts=ts, text=slack_escape(text)
        )

    def _where(self, ref: str) -> tuple[str, str]:
        """(channel, ts) of a reference; a bare ts (stored before references named their
        channel) is in the configured channel."""
        channel, _, ts = ref.rpartition("/")
        return channel or self.channel, ts

    async def _call(self, method: str, what: str, **arguments: Any) -> dict[str, Any]:
        last_error = ""
        for attempt in range(_ATTEMPTS):
            try:
                return await self._api.call(method, **arguments)
            except SlackFailure as exc:
                if exc.refused and exc.error not in TRANSIENT_ERRORS:
                    raise NotifierError(f"Slack refused {what}: {exc.error}") from exc
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
