"""Feedback from the Slack alert: "Confirmed" and "False alarm" buttons, and what a click means.

A click is recorded exactly as ``crisismon feedback INCIDENT VERDICT`` records it
(`detectors.feedback.record_feedback`); "missed" has no button, since a missed crisis has no
alert to click on. After a click the alert shows who gave which feedback.

>>> [e["action_id"] for e in feedback_blocks(7)[0]["elements"]]
['incident_feedback:confirmed', 'incident_feedback:false-alarm']
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from monitor.storage.models import DetectorFeedback

ACTION_PREFIX = "incident_feedback"
BUTTONS_BLOCK = "incident_feedback"
GIVEN_BLOCK = "incident_feedback_given"
SLACK_ACTOR = "slack:"
# verdict: (label, Slack button style)
BUTTONS = {"confirmed": ("Confirmed", "primary"), "false-alarm": ("False alarm", "danger")}


def feedback_blocks(incident_id: int) -> list[dict[str, Any]]:
    """One actions block with the two feedback buttons; the value is the incident id."""
    return [
        {
            "type": "actions",
            "block_id": BUTTONS_BLOCK,
            "elements": [
                {
                    "type": "button",
                    "action_id": f"{ACTION_PREFIX}:{verdict}",
                    "text": {"type": "plain_text", "text": label},
                    "style": style,
                    "value": str(incident_id),
                }
                for verdict, (label, style) in BUTTONS.items()
            ],
        }
    ]


@dataclass(frozen=True, slots=True)
class FeedbackClick:
    """One click on a feedback button, and where the alert it belongs to is."""

    incident_id: int
    verdict: str
    user_id: str
    channel: str
    message_ts: str
    message: dict[str, Any]  # the alert as Slack holds it: its text and blocks

    @property
    def given_by(self) -> str:
        return SLACK_ACTOR + self.user_id


def parse_feedback_click(payload: dict[str, Any]) -> FeedbackClick | None:
    """The feedback click in a block_actions payload, or None when it holds none.

    >>> click = parse_feedback_click({"type": "block_actions", "user": {"id": "U1"},
    ...     "container": {"channel_id": "C1", "message_ts": "1.2"},
    ...     "actions": [{"action_id": "incident_feedback:false-alarm", "value": "42"}]})
    >>> click.incident_id, click.verdict, click.given_by, click.channel
    (42, 'false-alarm', 'slack:U1', 'C1')
    """
    if payload.get("type") != "block_actions":
        return None
    container = payload.get("container") or {}
    channel = container.get("channel_id") or (payload.get("channel") or {}).get("id") or ""
    message = payload.get("message") or {}
    ts = container.get("message_ts") or message.get("ts") or ""
    for action in payload.get("actions") or []:
        prefix, _, verdict = str(action.get("action_id", "")).partition(":")
        value = str(action.get("value", ""))
        if prefix != ACTION_PREFIX or verdict not in BUTTONS or not value.isdigit():
            continue
        return FeedbackClick(
            incident_id=int(value),
            verdict=verdict,
            user_id=str((payload.get("user") or {}).get("id", "")),
            channel=str(channel),
            message_ts=str(ts),
            message=message if isinstance(message, dict) else {},
        )
    return None


def _who(given_by: str) -> str:
    """A Slack user as a mention Slack renders with their name; others as written."""
    if given_by.startswith(SLACK_ACTOR):
        return f"<@{given_by.removeprefix(SLACK_ACTOR)}>"
    from monitor.incidents.alerts import slack_escape  # alerts imports this module

    return slack_escape(given_by)


def given_line(feedback: list[DetectorFeedback]) -> str:
    """Every verdict given so far, oldest first, as one mrkdwn line.

    >>> from datetime import datetime, UTC
    >>> at = datetime(2026, 1, 5, 10, 2, tzinfo=UTC)
    >>> given_line([DetectorFeedback(incident_id=1, verdict="false-alarm", given_by="slack:U1",
    ...             created_at=at)])
    'Feedback: *false alarm* by <@U1> at 10:02 UTC'
    """
    parts = [
        f"*{row.verdict.replace('-', ' ')}* by {_who(row.given_by)} at {row.created_at:%H:%M} UTC"
        for row in feedback
    ]
    return "Feedback: " + "; ".join(parts)


def with_feedback_shown(
    blocks: list[dict[str, Any]], feedback: list[DetectorFeedback]
) -> list[dict[str, Any]]:
    """The alert's blocks with the feedback line placed under the buttons (replacing an older
    one); other blocks, such as other buttons and their state, stay as they are."""
    kept = [b for b in blocks if b.get("block_id") != GIVEN_BLOCK]
    line = {
        "type": "context",
        "block_id": GIVEN_BLOCK,
        "elements": [{"type": "mrkdwn", "text": given_line(feedback)}],
    }
    at = next((i + 1 for i, b in enumerate(kept) if b.get("block_id") == BUTTONS_BLOCK), len(kept))
    return [*kept[:at], line, *kept[at:]]
