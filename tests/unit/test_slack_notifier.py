"""The Slack adapter, through the real AsyncWebClient against a local Slack stand-in."""

from __future__ import annotations

import pytest
from pydantic import SecretStr

from monitor.incidents.alerts import AlertMessage
from monitor.incidents.notifiers import NotifierError, build_notifier
from monitor.incidents.notifiers.console import ConsoleNotifier
from monitor.incidents.notifiers.slack import SlackNotifier
from monitor.settings import Settings

ALERT = AlertMessage(
    text="Spike on global\n> “refund me & <now>”",
    blocks=[{"type": "header", "text": {"type": "plain_text", "text": "Spike on global"}}],
    slack_text="Spike on global\n> “refund me &amp; &lt;now&gt;”",
)


def notifier(fake_slack, token: str = "xoxb-test-token") -> SlackNotifier:
    return SlackNotifier(token=SecretStr(token), channel="#crisis", base_url=fake_slack.url)


async def test_posts_blocks_and_the_escaped_text_to_the_channel(fake_slack):
    slack = notifier(fake_slack)
    ref = await slack.post_alert(ALERT)
    await slack.close()
    assert ref
    [post] = fake_slack.posts
    assert post["channel"] == "#crisis"
    assert post["text"] == ALERT.slack_text
    assert post["blocks"] == ALERT.blocks


async def test_a_rate_limited_post_is_retried_and_delivered_once(fake_slack):
    fake_slack.fail_next.extend([429])
    slack = notifier(fake_slack)
    await slack.post_alert(ALERT)
    await slack.close()
    assert len(fake_slack.posts) == 1


async def test_a_refused_post_is_one_readable_error(fake_slack):
    slack = notifier(fake_slack, token="xoxb-wrong")
    with pytest.raises(NotifierError, match=r"^Slack refused the alert: invalid_auth$"):
        await slack.post_alert(ALERT)
    await slack.close()
    assert fake_slack.posts == []


def test_slack_is_used_only_when_token_and_channel_are_both_set():
    assert isinstance(build_notifier(Settings()), ConsoleNotifier)
    assert isinstance(build_notifier(Settings(slack_channel="#x")), ConsoleNotifier)
    chosen = build_notifier(Settings(slack_bot_token=SecretStr("xoxb-1"), slack_channel="#x"))
    assert isinstance(chosen, SlackNotifier)
