"""Customer messages in Slack (a Slack Connect channel shared with the customer).

The only channel module that imports slack_sdk. Slack has no idempotency header, so the key
travels as message metadata (``crisismon_message``), where a reader of the channel, or the
fake Slack in the tests, can see that two posts are one message.
"""

from __future__ import annotations

from pydantic import SecretStr
from slack_sdk.errors import SlackApiError, SlackClientError
from slack_sdk.web.async_client import AsyncWebClient

from playbooks.channels import ChannelError, OutgoingMessage

# Errors that a retry cannot fix: the channel is wrong, or the bot may not post there.
_PERMANENT = {
    "channel_not_found",
    "not_in_channel",
    "is_archived",
    "invalid_auth",
    "not_authed",
    "account_inactive",
    "restricted_action",
    "msg_too_long",
}
METADATA_EVENT = "crisismon_message"


class SlackChannel:
    name = "slack"

    def __init__(self, *, token: SecretStr, base_url: str | None = None) -> None:
        self._client = AsyncWebClient(
            token=token.get_secret_value(),
            timeout=10,
            base_url=base_url or AsyncWebClient.BASE_URL,
        )

    async def send(self, message: OutgoingMessage) -> str:
        """Post the text to the customer's channel; the reference is the message ``ts``."""
        try:
            response = await self._client.chat_postMessage(
                channel=message.to,
                text=message.text,
                unfurl_links=False,
                metadata={
                    "event_type": METADATA_EVENT,
                    "event_payload": {"idempotency_key": message.idempotency_key},
                },
            )
        except SlackApiError as exc:
            error = str(exc.response.get("error", "unknown_error"))
            raise ChannelError(
                f"Slack refused the message: {error}", permanent=error in _PERMANENT
            ) from exc
        except (SlackClientError, OSError, TimeoutError) as exc:
            raise ChannelError(f"Slack unreachable: {exc or type(exc).__name__}") from exc
        return f"slack:{response.get('channel', message.to)}:{response.get('ts', '')}"

    async def close(self) -> None:
        session = getattr(self._client, "session", None)
        if session is not None and not session.closed:
            await session.close()
