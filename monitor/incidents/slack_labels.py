"""The labelling queue in Slack: a short message with Negative / Neutral / Positive buttons.

The leader posts a few mentions from the queue (`detectors.sentiment.label_queue`) at a time,
within the day's cap. A click arrives signed at /slack/interactions; only the Slack users in
CRISISMON_SLACK_RESPONDERS or CRISISMON_SLACK_APPROVERS may label. A label is recorded as a
staff correction (every worker learns it), and the message then shows who labelled the
mention what in place of its buttons. The first click wins: a later one, or one from someone
who may not label, is told so in a message only they see (``chat.postEphemeral``).

>>> blocks = label_blocks([QueueItem("ab12", "least sure", "still waiting", "neutral", 0.41,
...     "en")])
>>> [e["action_id"] for e in blocks[-1]["elements"]]
['sentiment_label:negative', 'sentiment_label:neutral', 'sentiment_label:positive']
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Collection
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from pydantic import SecretStr
from sqlalchemy import Engine, delete

from detectors.sentiment.label_queue import (
    AlreadyLabelled,
    Offered,
    QueueError,
    QueueItem,
    QueueSettings,
    candidates,
    label_from_queue,
    offer,
    offered_in,
    remaining_today,
    set_slack_ref,
)
from monitor.incidents.alerts import slack_escape
from monitor.slack_api import SlackApi, SlackFailure, call_once
from monitor.storage.models import SentimentLabelRequest

log = logging.getLogger(__name__)

ACTION_PREFIX = "sentiment_label"
BUTTONS = {
    "negative": ("Negative", "danger"),
    "neutral": ("Neutral", None),
    "positive": ("Positive", "primary"),
}
MAX_TEXT = 600


def label_blocks(items: list[QueueItem]) -> list[dict[str, Any]]:
    """A heading, then per mention its text and the three buttons (value: the mention id)."""
    blocks: list[dict[str, Any]] = [
        {
            "type": "context",
            "elements": [
                {"type": "mrkdwn", "text": "*How do these read?* Your label teaches the scorer."}
            ],
        }
    ]
    for item in items:
        text = " ".join(item.text.split())
        if len(text) > MAX_TEXT:
            text = text[: MAX_TEXT - 1] + "…"
        blocks.append(
            {
                "type": "section",
                "text": {
                    "type": "mrkdwn",
                    "text": f">{slack_escape(text)}\n_{slack_escape(item.reason)}; scored "
                    f"{item.label} ({item.confidence:.2f})_",
                },
            }
        )
        buttons = []
        for label, (title, style) in BUTTONS.items():
            button: dict[str, Any] = {
                "type": "button",
                "action_id": f"{ACTION_PREFIX}:{label}",
                "text": {"type": "plain_text", "text": title},
                "value": item.mention_id,
            }
            if style:
                button["style"] = style
            buttons.append(button)
        blocks.append(
            {"type": "actions", "block_id": _block_id(item.mention_id), "elements": buttons}
        )
    return blocks


def _block_id(mention_id: str) -> str:
    return f"{ACTION_PREFIX}:{mention_id}"


def plain_text(items: list[QueueItem]) -> str:
    """The notification text (and what clients without blocks show)."""
    return f"{len(items)} mention(s) to label: how do they read?"


@dataclass(frozen=True, slots=True)
class LabelClick:
    mention_id: str
    label: str
    user_id: str
    channel: str
    message_ts: str
    message: dict[str, Any]

    @property
    def who(self) -> str:
        return f"slack:{self.user_id}"


def parse_label_click(payload: dict[str, Any]) -> LabelClick | None:
    """The label click in a block_actions payload, or None when it holds none.

    >>> parse_label_click({"type": "block_actions", "user": {"id": "U1"},
    ...     "container": {"channel_id": "C1", "message_ts": "1.2"},
    ...     "actions": [{"action_id": "sentiment_label:negative", "value": "ab12"}]}).label
    'negative'
    """
    if payload.get("type") != "block_actions":
        return None
    container = payload.get("container") or {}
    channel = container.get("channel_id") or (payload.get("channel") or {}).get("id") or ""
    message = payload.get("message") or {}
    ts = container.get("message_ts") or message.get("ts") or ""
    for action in payload.get("actions") or []:
        prefix, _, label = str(action.get("action_id", "")).partition(":")
        value = str(action.get("value", "")).strip()
        if prefix != ACTION_PREFIX or label not in BUTTONS or not value or len(value) > 32:
            continue
        return LabelClick(
            mention_id=value,
            label=label,
            user_id=str((payload.get("user") or {}).get("id", "")),
            channel=str(channel),
            message_ts=str(ts),
            message=message if isinstance(message, dict) else {},
        )
    return None


def with_label_shown(
    blocks: list[dict[str, Any]], *, mention_id: str, label: str, by: str, at: datetime
) -> list[dict[str, Any]]:
    """The message's blocks with that mention's buttons replaced by who labelled it what."""
    who = _name(by)
    line = {
        "type": "context",
        "block_id": _block_id(mention_id),
        "elements": [{"type": "mrkdwn", "text": f"Labelled *{label}* by {who} at {at:%H:%M} UTC"}],
    }
    return [line if b.get("block_id") == _block_id(mention_id) else b for b in blocks]


def message_blocks(offered: list[Offered]) -> list[dict[str, Any]]:
    """A posted message as it should look now: buttons, or who labelled each mention what."""
    blocks = label_blocks([o.item for o in offered])
    for o in offered:
        if o.label and o.answered_by and o.answered_at:
            blocks = with_label_shown(
                blocks,
                mention_id=o.item.mention_id,
                label=o.label,
                by=o.answered_by,
                at=o.answered_at,
            )
    return blocks


async def refresh_message(
    engine: Engine, *, slack_ref: str, token: SecretStr, base_url: str | None = None
) -> str | None:
    """Show in a posted message the labels given elsewhere (the CLI, the web API); the
    reason it failed, or None."""
    offered = await asyncio.to_thread(offered_in, engine, slack_ref=slack_ref)
    channel, _, ts = slack_ref.rpartition("/")
    if not offered or not channel or not ts:
        return None
    return await call_once(
        token,
        "chat_update",
        base_url=base_url,
        channel=channel,
        ts=ts,
        text=plain_text([o.item for o in offered]),
        blocks=message_blocks(offered),
    )


async def post_from_queue(
    engine: Engine,
    *,
    token: SecretStr,
    channel: str,
    settings: QueueSettings,
    now: datetime,
    base_url: str | None = None,
) -> int:
    """Post the next few mentions of the queue, within today's cap; how many were posted.

    They are recorded as offered first (so a second leader cannot post them too) and
    withdrawn again when Slack does not take the message.
    """
    room = await asyncio.to_thread(remaining_today, engine, settings=settings, now=now)
    limit = min(room, settings.slack_batch)
    if limit <= 0:
        return 0
    found = await asyncio.to_thread(candidates, engine, limit=limit, settings=settings, now=now)
    items = await asyncio.to_thread(offer, engine, found, surface="slack", now=now)
    if not items:
        return 0
    api = SlackApi(token, base_url)
    try:
        response = await api.call(
            "chat_postMessage", channel=channel, text=plain_text(items), blocks=label_blocks(items)
        )
    except SlackFailure as exc:
        await asyncio.to_thread(_withdraw, engine, [i.mention_id for i in items])
        log.warning("labelling queue not posted to Slack: %s", exc.error)
        return 0
    finally:
        await api.close()
    ref = f"{response.get('channel') or channel}/{response.get('ts') or ''}"
    await asyncio.to_thread(
        set_slack_ref, engine, mention_ids=[i.mention_id for i in items], ref=ref
    )
    return len(items)


def _withdraw(engine: Engine, mention_ids: list[str]) -> None:
    from monitor.storage.db import session_scope

    table = SentimentLabelRequest.__table__  # type: ignore[attr-defined]
    with session_scope(engine) as session:
        session.execute(
            delete(table).where(table.c.mention_id.in_(mention_ids), table.c.answered_at.is_(None))
        )


async def answer_label_click(
    engine: Engine,
    click: LabelClick,
    *,
    token: SecretStr | None,
    allowed: Collection[str],
    now: datetime,
    base_url: str | None = None,
) -> None:
    """The background half of a click: check who, record the label, update the message."""
    if click.user_id not in allowed:
        log.warning(
            "sentiment label from Slack user %s refused: not a responder or approver", click.user_id
        )
        await _tell(
            token,
            click,
            "You may not label mentions: ask to be added to CRISISMON_SLACK_RESPONDERS.",
            base_url,
        )
        return
    try:
        answer = await asyncio.to_thread(
            label_from_queue,
            engine,
            mention_id=click.mention_id,
            label=click.label,
            who=click.who,
            surface="slack",
            now=now,
        )
    except AlreadyLabelled as exc:
        await _tell(
            token,
            click,
            f"Not recorded: already labelled *{exc.label}* by {_name(exc.by)}.",
            base_url,
        )
        # The first label's own time: "labelled by Ana at 11:00", not the late click's.
        at = exc.at or now
        await _show(token, click, label=exc.label, by=exc.by, at=at, base_url=base_url)
        return
    except QueueError as exc:
        log.warning("sentiment label from Slack not recorded: %s", exc)
        await _tell(token, click, f"Not recorded: {exc}", base_url)
        return
    log.info(
        "mention %s labelled %s in Slack by %s (correction #%d)",
        answer.mention_id,
        answer.label,
        answer.by,
        answer.correction_id,
    )
    await _show(token, click, label=answer.label, by=answer.by, at=now, base_url=base_url)


def _name(by: str) -> str:
    """A Slack user as a mention Slack renders with their name; others as written."""
    return f"<@{by.removeprefix('slack:')}>" if by.startswith("slack:") else slack_escape(by)


async def _show(
    token: SecretStr | None,
    click: LabelClick,
    *,
    label: str,
    by: str,
    at: datetime,
    base_url: str | None,
) -> None:
    blocks = click.message.get("blocks")
    if token is None or not click.channel or not click.message_ts or not isinstance(blocks, list):
        return
    shown = with_label_shown(blocks, mention_id=click.mention_id, label=label, by=by, at=at)
    problem = await call_once(
        token,
        "chat_update",
        base_url=base_url,
        channel=click.channel,
        ts=click.message_ts,
        text=str(click.message.get("text") or ""),
        blocks=shown,
    )
    if problem:
        log.warning("labelling message for mention %s not updated: %s", click.mention_id, problem)


async def _tell(
    token: SecretStr | None, click: LabelClick, text: str, base_url: str | None
) -> None:
    """A message only the clicker sees, in the channel of the click."""
    if token is None or not click.channel or not click.user_id:
        return
    problem = await call_once(
        token,
        "chat_postEphemeral",
        base_url=base_url,
        channel=click.channel,
        user=click.user_id,
        text=text,
    )
    if problem:
        log.warning("could not tell Slack user %s: %s", click.user_id, problem)
