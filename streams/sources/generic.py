"""What the generic webhooks (reviews, social) share: our own signature and batch bodies.

Their senders are your own scripts or a no-code tool, so the scheme is ours:
``X-Crisismon-Signature: sha256=<hex HMAC-SHA256 of the raw body, keyed by the secret>``.
The body is one JSON object or an array of up to `MAX_ITEMS`. An item's ``attributes`` object
(``{"region": "eu"}``) is kept with its mention.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from datetime import datetime
from typing import Any

from streams.sources import InvalidPayload, RawMention
from streams.sources.fields import require_object
from streams.sources.signing import load_json

MAX_ITEMS = 1000


def parse_items(
    body: bytes, *, received: datetime, one: Callable[[Mapping[str, Any], datetime], RawMention]
) -> list[RawMention]:
    data = load_json(body)
    items = data if isinstance(data, list) else [data]
    if not items:
        raise InvalidPayload("empty array: send at least one item")
    if len(items) > MAX_ITEMS:
        raise InvalidPayload(f"at most {MAX_ITEMS} items per request")
    mentions = []
    for index, item in enumerate(items):
        try:
            item = require_object(item, "each item")
            mention = one(item, received)
            if item.get("attributes") is not None:
                mention["attributes"] = item["attributes"]  # parse_mention checks it
            mentions.append(mention)
        except InvalidPayload as exc:
            raise InvalidPayload(f"item {index}: {exc}") if len(items) > 1 else exc from exc
    return mentions
