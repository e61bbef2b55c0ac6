"""Slack interactivity: verify the request signature, read a block_actions payload.

Slack itself is reached through the one adapter, monitor.slack_api.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any
from urllib.parse import parse_qs

from pydantic import SecretStr

from monitor.incidents.acknowledge import ACK_ACTION
from monitor.slack_api import call_once
from playbooks.announce import APPROVE, EDIT, REJECT
from playbooks.models import Draft
from streams.cleaning import BadJson, parse_id, parse_json


@dataclass(frozen=True)
class DraftAction:
    decision: str  # "approve", "reject" or "edit"
    draft_id: int
    content_hash: str
    user_id: str
    user_name: str
    trigger_id: str = ""


def _payload(body: bytes) -> dict[str, Any] | None:
    form = parse_qs(body.decode("utf-8", errors="replace"))
    try:
        payload = parse_json(form["payload"][0])
    except (KeyError, IndexError, BadJson):
        return None
    return payload if isinstance(payload, dict) else None


# A signed payload is still only as well-typed as Slack (or whoever holds the signing secret)
# made it: every field is read through these, so a list where an object belongs is "absent".
def obj(value: Any) -> dict[str, Any]:
    """``value`` if it is a JSON object, else {}."""
    return value if isinstance(value, dict) else {}


def objects(value: Any) -> list[dict[str, Any]]:
    """The JSON objects in ``value`` if it is an array, else []."""
    return [item for item in value if isinstance(item, dict)] if isinstance(value, list) else []


def text(value: Any) -> str:
    """``value`` if it is a string, else "" (never the repr of a list or a number)."""
    return value if isinstance(value, str) else ""


def payload_of(body: bytes) -> dict[str, Any] | None:
    """The JSON payload of an interaction request (form field ``payload``), or None."""
    return _payload(body)


def parse_action(body: bytes) -> DraftAction | None:
    """The draft decision in a block_actions payload, or None for anything else."""
    payload = _payload(body)
    if payload is None or payload.get("type") != "block_actions":
        return None
    user = obj(payload.get("user"))
    for action in objects(payload.get("actions")):
        action_id = text(action.get("action_id"))
        if action_id not in (APPROVE, REJECT, EDIT):
            continue
        draft, _, digest = text(action.get("value")).partition(":")
        draft_id = parse_id(draft)
        if draft_id is None:
            return None
        return DraftAction(
            decision={APPROVE: "approve", REJECT: "reject", EDIT: "edit"}[action_id],
            draft_id=draft_id,
            content_hash=digest,
            user_id=text(user.get("id")),
            user_name=text(user.get("username")) or text(user.get("name")),
            trigger_id=text(payload.get("trigger_id")),
        )
    return None


@dataclass(frozen=True)
class AckAction:
    """The Acknowledge button of an incident alert was pressed."""

    incident_id: int
    user_id: str
    user_name: str


def parse_ack(body: bytes) -> AckAction | None:
    """The acknowledgement in a block_actions payload, or None for anything else."""
    payload = _payload(body)
    if payload is None or payload.get("type") != "block_actions":
        return None
    user = obj(payload.get("user"))
    for action in objects(payload.get("actions")):
        if not text(action.get("action_id")).startswith(ACK_ACTION):
            continue
        incident_id = parse_id(text(action.get("value")))
        if incident_id is None:
            return None
        return AckAction(
            incident_id=incident_id,
            user_id=text(user.get("id")),
            user_name=text(user.get("username")) or text(user.get("name")),
        )
    return None


MODAL = "crisismon_edit_modal"
_FIELDS = ("subject", "text", "html")


def edit_modal(draft: Draft) -> dict[str, Any]:
    """A modal with the draft's three templates; submitting it edits the draft."""
    current = {"subject": draft.subject, "text": draft.body_text, "html": draft.body_html}
    blocks = []
    for name in _FIELDS:
        if name != "text" and not current[name] and draft.channel != "email":
            continue
        blocks.append(
            {
                "type": "input",
                "block_id": name,
                "label": {"type": "plain_text", "text": name.capitalize()},
                "element": {
                    "type": "plain_text_input",
                    "action_id": name,
                    "multiline": name != "subject",
                    "initial_value": current[name][:3000],
                },
            }
        )
    return {
        "type": "modal",
        "callback_id": MODAL,
        "private_metadata": str(draft.id),
        "title": {"type": "plain_text", "text": f"Edit draft #{draft.id}"[:24]},
        "submit": {"type": "plain_text", "text": "Save"},
        "close": {"type": "plain_text", "text": "Cancel"},
        "blocks": blocks,
    }


@dataclass(frozen=True)
class EditSubmission:
    draft_id: int
    user_id: str
    values: dict[str, str]  # subject, text, html: only those in the modal


def parse_submission(body: bytes) -> EditSubmission | None:
    """The edit in a view_submission of our modal, or None for anything else."""
    payload = _payload(body)
    if payload is None or payload.get("type") != "view_submission":
        return None
    view = obj(payload.get("view"))
    draft_id = parse_id(view.get("private_metadata"))
    if view.get("callback_id") != MODAL or draft_id is None:
        return None
    state = obj(obj(view.get("state")).get("values"))
    values = {
        name: text(obj(obj(state.get(name)).get(name)).get("value"))
        for name in _FIELDS
        if name in obj(state.get(name))
    }
    user = obj(payload.get("user"))
    return EditSubmission(draft_id, text(user.get("id")), values)


async def open_modal(
    *, token: SecretStr, trigger_id: str, view: dict[str, Any], base_url: str | None = None
) -> str | None:
    """Open the modal (``views.open``); the reason it failed, or None."""
    return await call_once(token, "views_open", base_url=base_url, trigger_id=trigger_id, view=view)
