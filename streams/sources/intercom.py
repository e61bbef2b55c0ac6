"""Intercom conversation webhooks, signed the Intercom way.

Intercom signs each notification with ``X-Hub-Signature: sha1=<hex>``, the HMAC-SHA1 of the raw
body keyed by the app's *client secret* (Developer Hub → your app → Basic information).

Only the customer's voice becomes a mention: a new conversation (``conversation.user.created``)
is one mention, each customer reply (``conversation.user.replied``) another. Admin replies,
notes and Intercom's ``ping`` test are answered 200 and ignored.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from streams.sources import BadSignature, Ignored, InvalidPayload, RateLimit, RawMention
from streams.sources.fields import first, require_object, subject_and_body, text_id, vendor_time
from streams.sources.signing import header, hmac_hex, load_json, same

SIGNATURE = "X-Hub-Signature"
CUSTOMER_TOPICS = ("conversation.user.created", "conversation.user.replied")


@dataclass(frozen=True, slots=True)
class IntercomSource:
    name: str
    secret: bytes
    kind: str = "intercom"
    needs_pseudonym_key: bool = True
    max_body_bytes: int = 512 * 1024
    rate_limit: RateLimit = field(default_factory=RateLimit)

    def verify(self, headers: Mapping[str, str], body: bytes, *, now: datetime) -> None:
        given = header(headers, SIGNATURE)
        if not given:
            raise BadSignature(f"missing {SIGNATURE} header")
        if not same("sha1=" + hmac_hex(self.secret, body, "sha1"), given):
            raise BadSignature(f"{SIGNATURE} does not match the body")

    def parse(self, body: bytes, *, received: datetime) -> list[RawMention]:
        event = require_object(load_json(body), "an Intercom notification")
        topic = event.get("topic")
        if not isinstance(topic, str):
            raise InvalidPayload("missing topic: not an Intercom notification")
        if topic not in CUSTOMER_TOPICS:
            raise Ignored(f"topic {topic!r} carries no customer message")
        data = require_object(event.get("data"), "data")
        item = require_object(data.get("item"), "data.item")
        conversation_id = text_id(item.get("id"))
        if conversation_id is None:
            raise InvalidPayload("data.item.id (the conversation id) is missing")
        user = item.get("user") if isinstance(item.get("user"), Mapping) else {}
        assert isinstance(user, Mapping)
        common: RawMention = {
            "source": self.name,
            "author": text_id(first(user, "id", "email")),
            "customer_id": text_id(first(user, "user_id")),
            "tags": _tag_names(item.get("tags")),
            "url": _conversation_url(item),
        }
        priority = item.get("priority")
        if isinstance(priority, str):
            common["priority"] = priority
        if topic == "conversation.user.created":
            message = require_object(item.get("conversation_message"), "conversation_message")
            mention = {
                **common,
                "external_id": conversation_id,
                "text": subject_and_body(message.get("subject"), message.get("body")),
                "event_time": vendor_time(item.get("created_at"), received=received).isoformat(),
            }
            return [_clean(mention)]
        return [
            _clean({**common, **reply}) for reply in _user_parts(item, conversation_id, received)
        ]


def _user_parts(
    item: Mapping[str, Any], conversation_id: str, received: datetime
) -> list[RawMention]:
    parts_list = item.get("conversation_parts")
    parts = parts_list.get("conversation_parts") if isinstance(parts_list, Mapping) else None
    if not isinstance(parts, list):
        raise InvalidPayload("conversation_parts.conversation_parts must be a list")
    replies = []
    for part in parts:
        if not isinstance(part, Mapping):
            raise InvalidPayload("each conversation part must be an object")
        author = part.get("author")
        if not isinstance(author, Mapping) or author.get("type") not in ("user", "lead", "contact"):
            continue
        part_id = text_id(part.get("id"))
        body = part.get("body")
        if part_id is None or not isinstance(body, str) or not body.strip():
            continue
        replies.append(
            {
                "external_id": f"{conversation_id}:{part_id}",
                "text": body,
                "event_time": vendor_time(part.get("created_at"), received=received).isoformat(),
            }
        )
    if not replies:
        raise Ignored("no customer-written part in this reply")
    return replies


def _tag_names(tags: Any) -> list[str] | None:
    items = tags.get("tags") if isinstance(tags, Mapping) else None
    if not isinstance(items, list):
        return None
    names = [t.get("name") for t in items if isinstance(t, Mapping)]
    return [n for n in names if isinstance(n, str)] or None


def _conversation_url(item: Mapping[str, Any]) -> str | None:
    links = item.get("links")
    url = links.get("conversation_web") if isinstance(links, Mapping) else None
    return url if isinstance(url, str) else None


def _clean(mention: RawMention) -> RawMention:
    return {k: v for k, v in mention.items() if v is not None}
