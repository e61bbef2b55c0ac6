"""The message that asks people to approve a draft: plain text, and Block Kit with buttons."""

from __future__ import annotations

from typing import Any

from monitor.incidents.alerts import AlertMessage
from playbooks.models import Draft

APPROVE = "crisismon_approve"
REJECT = "crisismon_reject"
EDIT = "crisismon_edit"


def draft_message(draft: Draft) -> AlertMessage:
    """Approve with the buttons (Slack) or ``POST /api/drafts/ID/approve`` (web API)."""
    title = (
        f"Draft #{draft.id} for incident #{draft.incident_id}: {draft.playbook} / {draft.step_id}"
        f" · {draft.segment} · {draft.locale} · {draft.channel} · "
        f"{draft.recipient_count} recipient(s)"
    )
    text = (
        f"{title}\n{draft.preview}\n"
        f'Approve: POST /api/drafts/{draft.id}/approve {{"content_hash": "{draft.content_hash}"}}'
    )
    value = f"{draft.id}:{draft.content_hash}"
    blocks: list[dict[str, Any]] = [
        {"type": "section", "text": {"type": "mrkdwn", "text": f"*{title}*"}},
        {"type": "section", "text": {"type": "plain_text", "text": draft.preview[:2900]}},
        {
            "type": "actions",
            "block_id": f"draft-{draft.id}",
            "elements": [
                {
                    "type": "button",
                    "action_id": APPROVE,
                    "style": "primary",
                    "text": {"type": "plain_text", "text": "Approve"},
                    "value": value,
                },
                {
                    "type": "button",
                    "action_id": EDIT,
                    "text": {"type": "plain_text", "text": "Edit"},
                    "value": value,
                },
                {
                    "type": "button",
                    "action_id": REJECT,
                    "style": "danger",
                    "text": {"type": "plain_text", "text": "Reject"},
                    "value": value,
                },
            ],
        },
    ]
    return AlertMessage(text=text, blocks=blocks, slack_text=title)
