"""Where customer messages go: one `Channel` port, one adapter module per vendor.

Each adapter module alone imports its vendor library. When a vendor is not configured, its
channel name is served by the console adapter, which prints instead of sending.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Protocol

from monitor.settings import Settings


class ChannelError(RuntimeError):
    """Delivery failed; ``permanent`` means retrying cannot help (bad address, refused)."""

    def __init__(self, message: str, *, permanent: bool = False) -> None:
        super().__init__(message)
        self.permanent = permanent


@dataclass(frozen=True)
class OutgoingMessage:
    """One rendered message to one address. The key is the same on every retry."""

    idempotency_key: str
    to: str
    subject: str
    text: str
    html: str
    unsubscribe_url: str
    # Only status page updates carry these: the incident and its status (investigating, …).
    incident_id: int = 0
    status: str = ""
    # When the update is dated: None is the moment it is posted; a replayed incident's
    # updates carry event time (playbooks.event_time.status_time).
    posted_at: datetime | None = None


class Channel(Protocol):
    """Delivers one message and returns the vendor's reference for it."""

    name: str

    async def send(self, message: OutgoingMessage) -> str: ...

    async def close(self) -> None: ...


def build_channels(settings: Settings) -> dict[str, Channel]:
    """email, sms, webhook, slack and console: the configured vendor, or the console.

    The status page channel needs the database;
    ``monitor.shell.playbook_resources.channels`` adds it.
    """
    from playbooks.channels.console import ConsoleChannel

    channels: dict[str, Channel] = {name: ConsoleChannel(name) for name in CHANNEL_NAMES}
    if settings.smtp_host:
        from playbooks.channels.smtp import SmtpChannel

        channels["email"] = SmtpChannel(
            host=settings.smtp_host,
            port=settings.smtp_port,
            sender=settings.smtp_from,
            username=settings.smtp_username,
            password=settings.smtp_password,
            starttls=settings.smtp_starttls,
        )
    if settings.sms_base_url and settings.sms_account_sid and settings.sms_auth_token:
        from playbooks.channels.sms import TwilioSmsChannel

        channels["sms"] = TwilioSmsChannel(
            base_url=settings.sms_base_url,
            account_sid=settings.sms_account_sid,
            auth_token=settings.sms_auth_token,
            sender=settings.sms_from,
        )
    if settings.slack_bot_token is not None:
        from playbooks.channels.slack import SlackChannel

        channels["slack"] = SlackChannel(
            token=settings.slack_bot_token, base_url=settings.slack_base_url
        )
    if settings.webhook_secret:
        from playbooks.channels.webhook import WebhookChannel

        channels["webhook"] = WebhookChannel(secret=settings.webhook_secret)
    # The status page's email subscribers: the same email adapter, a consent of their own.
    channels["status_email"] = channels["email"]
    return channels


CHANNEL_NAMES = ("email", "sms", "webhook", "slack", "console")
