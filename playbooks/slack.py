"""Slack interactivity: verify the request signature, read a block_actions payload.

Slack itself is reached through the one adapter, monitor.slack_api.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any
from urllib.parse import parse_qs

from pydantic import SecretStr

from monitor.incidents.acknowledge import ACK_ACTION
from monitor.slack_api import call_once
from playbooks.announce import APPROVE, EDIT, REJECT
from playbooks.models import Draft


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
        payload = json.loads(form["payload"][0])
    except (KeyError, IndexError, json.JSONDecodeError):
        return None
    return payload if isinstance(payload, dict) else None


def payload_of(body: bytes) -> dict[str, Any] | None:
    """The JSON payload of an interaction request (form field ``payload``), or None."""
    return _payload(body)


def parse_action(body: bytes) -> DraftAction | None:
    """The draft decision in a block_actions payload, or None for anything else."""
    payload = _payload(body)
    if payload is None or payload.get("type") != "block_actions":
        return None
    user = payload.get("user") or {}
    for action in payload.get("actions") or []:
        action_id = action.get("action_id")
        if action_id not in (APPROVE, REJECT, EDIT):
            continue
        draft, _, digest = str(action.get("value", "")).partition(":")
        if not draft.isdigit():
            return None
        return DraftAction(
            decision={APPROVE: "approve", REJECT: "reject", EDIT: "edit"}[action_id],
            draft_id=int(draft),
            content_hash=digest,
            user_id=str(user.get("id", "")),
            user_name=str(user.get("username") or user.get("name") or ""),
            trigger_id=str(payload.get("trigger_id", "")),
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
    user = payload.get("user") or {}
    for action in payload.get("actions") or []:
        if not str(action.get("action_id", "")).startswith(ACK_ACTION):
            continue
        value = str(action.get("value", ""))
        if not value.isdigit():
            return None
        return AckAction(
            incident_id=int(value),
            user_id=str(user.get("id", "")),
            user_name=str(user.get("username") or user.get("name") or ""),
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
    view = payload.get("view") or {}
    if view.get("callback_id") != MODAL or not str(view.get("private_metadata", "")).isdigit():
        return None
    state = (view.get("state") or {}).get("values") or {}
    values = {
        name: str(state[name][name].get("value") or "")
        for name in _FIELDS
        if name in state and name in state[name]
    }
    user = payload.get("user") or {}
    return EditSubmission(int(view["private_metadata"]), str(user.get("id", "")), values)


async def open_modal(
    *, token: SecretStr, trigger_id: str, view: dict[str, Any], base_url: str | None = None
) -> str | None:
    """Open the modal (``views.open``); the reason it failed, or None."""
    return await call_once(token, "views_open", base_url=base_url, trigger_id=trigger_id, view=view)
