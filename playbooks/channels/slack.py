"""Customer messages in Slack (a Slack Connect channel shared with the customer).

Through the one Slack adapter (monitor.slack_api). Slack has no idempotency header, so the key
travels as message metadata (``crisismon_message``), where a reader of the channel, or the
fake Slack in the tests, can see that two posts are one message.
"""

from __future__ import annotations

from pydantic import SecretStr

from monitor.slack_api import PERMANENT_ERRORS, SlackApi, SlackFailure
from playbooks.channels import ChannelError, OutgoingMessage

METADATA_EVENT = "crisismon_message"


class SlackChannel:
    name = "slack"

    def __init__(self, *, token: SecretStr, base_url: str | None = None) -> None:
        self._api = SlackApi(token, base_url)

    async def send(self, message: OutgoingMessage) -> str:
        """Post the text to the customer's channel; the reference is the message ``ts``."""
        try:
            response = await self._api.call(
                "chat_postMessage",
                channel=message.to,
                text=message.text,
                unfurl_links=False,
                metadata={
                    "event_type": METADATA_EVENT,
                    "event_payload": {"idempotency_key": message.idempotency_key},
                },
            )
        except SlackFailure as exc:
            if not exc.refused:
                raise ChannelError(f"Slack unreachable: {exc.error}") from exc
            raise ChannelError(
                f"Slack refused the message: {exc.error}", permanent=exc.error in PERMANENT_ERRORS
            ) from exc
        return f"slack:{response.get('channel', message.to)}:{response.get('ts', '')}"

    async def close(self) -> None:
        await self._api.close()
