"""Where alerts go: one `Notifier` port, one adapter module per vendor."""

from __future__ import annotations

from typing import Protocol

from monitor.incidents.alerts import AlertMessage
from monitor.settings import Settings


class NotifierError(RuntimeError):
    """The alert could not be delivered; the message says why in one line. ``transient`` means
    trying again later may work (Slack unreachable or asking us to slow down), as opposed to a
    refusal such as an unknown channel or a revoked token."""

    def __init__(self, message: str, *, transient: bool = False) -> None:
        super().__init__(message)
        self.transient = transient


class Notifier(Protocol):
    """Delivers one alert and returns a reference to it (a Slack channel and ts, a count…).

    An alert that the incident outgrew is edited in place with ``update_alert`` and gets a
    short ``reply`` under it: one alert per incident, never a second one.
    """

    name: str

    async def post_alert(self, alert: AlertMessage) -> str: ...

    async def update_alert(self, ref: str, alert: AlertMessage) -> None: ...

    async def reply(self, ref: str, text: str) -> None: ...

    async def close(self) -> None: ...


def build_notifier(settings: Settings) -> Notifier:
    """Slack when a bot token and channel are set, otherwise the console."""
    if settings.slack_configured:
        from monitor.incidents.notifiers.slack import SlackNotifier

        assert settings.slack_bot_token is not None and settings.slack_channel is not None
        return SlackNotifier(
            token=settings.slack_bot_token,
            channel=settings.slack_channel,
            base_url=settings.slack_base_url,
        )
    from monitor.incidents.notifiers.console import ConsoleNotifier

    return ConsoleNotifier()
