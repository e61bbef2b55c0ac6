"""Social: a generic social webhook (text, author, network, url), for posts you collect elsewhere.

>>> from datetime import UTC, datetime
>>> post = one_post({"id": 1, "text": "down?", "network": "Bluesky"},
...                 datetime(2026, 1, 5, tzinfo=UTC), source="social")
>>> post["external_id"], post["network"]
('bluesky:1', 'Bluesky')
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime
from functools import partial
from typing import Any

from streams.sources import InvalidPayload, RateLimit, RawMention
from streams.sources.fields import first, string, text_id, vendor_time
from streams.sources.generic import parse_items
from streams.sources.signing import verify_crisismon_signature


def one_post(item: Mapping[str, Any], received: datetime, *, source: str) -> RawMention:
    network = string(item.get("network"), "network")
    if not network or not network.strip():
        raise InvalidPayload("missing network (e.g. 'bluesky', 'reddit', 'x')")
    post_id = text_id(first(item, "id", "post_id", "external_id"))
    text = item.get("text")
    if not isinstance(text, str):
        raise InvalidPayload("missing text (a string)")
    mention: RawMention = {
        "source": source,
        "text": text,
        "network": network,
        "event_time": vendor_time(
            first(item, "created_at", "event_time"), received=received
        ).isoformat(),
        "author": text_id(first(item, "author", "author_id", "handle")),
        "url": string(item.get("url"), "url"),
        "lang": string(item.get("lang"), "lang"),
        "tags": item.get("tags"),
    }
    if post_id:
        # Post ids are unique per network, not across networks.
        mention["external_id"] = f"{network.strip().lower()}:{post_id}"
    return {k: v for k, v in mention.items() if v is not None}


@dataclass(frozen=True, slots=True)
class SocialWebhookSource:
    name: str
    secret: bytes
    kind: str = "social"
    needs_pseudonym_key: bool = True
    max_body_bytes: int = 1024 * 1024
    rate_limit: RateLimit = field(default_factory=RateLimit)

    def verify(self, headers: Any, body: bytes, *, now: datetime) -> None:
        verify_crisismon_signature(self.secret, headers, body)

    def parse(self, body: bytes, *, received: datetime) -> list[RawMention]:
        return parse_items(body, received=received, one=partial(one_post, source=self.name))
