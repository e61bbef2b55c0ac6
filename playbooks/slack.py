"""Slack interactivity: verify the request signature, read a block_actions payload.

The only playbooks module that imports slack_sdk.
"""

from __future__ import annotations

import json
import time
from dataclasses import dataclass
from urllib.parse import parse_qs

from slack_sdk.signature import Clock, SignatureVerifier

from playbooks.announce import APPROVE, REJECT


class _FixedClock(Clock):
    def __init__(self, now: float) -> None:
        self._now = now

    def now(self) -> float:
        return self._now


def signature_valid(
    *, secret: str, body: bytes, timestamp: str, signature: str, now: float | None = None
) -> bool:
    """Slack's v0 HMAC-SHA256 signature, and a timestamp within 5 minutes of ``now``."""
    verifier = SignatureVerifier(secret, clock=_FixedClock(time.time() if now is None else now))
    return verifier.is_valid(body=body, timestamp=timestamp, signature=signature)


@dataclass(frozen=True)
class DraftAction:
    decision: str  # "approve" or "reject"
    draft_id: int
    content_hash: str
    user_id: str
    user_name: str


def parse_action(body: bytes) -> DraftAction | None:
    """The draft decision in a block_actions payload, or None for anything else."""
    form = parse_qs(body.decode("utf-8", errors="replace"))
    try:
        payload = json.loads(form["payload"][0])
    except (KeyError, IndexError, json.JSONDecodeError):
        return None
    if not isinstance(payload, dict) or payload.get("type") != "block_actions":
        return None
    user = payload.get("user") or {}
    for action in payload.get("actions") or []:
        action_id = action.get("action_id")
        if action_id not in (APPROVE, REJECT):
            continue
        draft, _, digest = str(action.get("value", "")).partition(":")
        if not draft.isdigit():
            return None
        return DraftAction(
            decision="approve" if action_id == APPROVE else "reject",
            draft_id=int(draft),
            content_hash=digest,
            user_id=str(user.get("id", "")),
            user_name=str(user.get("username") or user.get("name") or ""),
        )
    return None
