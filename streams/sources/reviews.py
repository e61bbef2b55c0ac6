"""Reviews: a generic review webhook. The star rating is kept and counts in the ``reviews`` series.

A review needs ``id``, ``text`` (or ``title``/``body``) and ``rating``. A rating on another
scale gives its ``max_rating`` and is mapped onto 1–5 stars.

>>> from datetime import UTC, datetime
>>> one_review({"id": "r1", "text": "Crashes", "rating": 2, "max_rating": 10},
...            datetime(2026, 1, 5, tzinfo=UTC), source="reviews")["rating"]
1.4444444444444444
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime
from functools import partial
from typing import Any

from streams.sources import InvalidPayload, RateLimit, RawMention
from streams.sources.fields import first, string, subject_and_body, text_id, vendor_time
from streams.sources.generic import parse_items
from streams.sources.signing import verify_crisismon_signature


def to_stars(rating: Any, max_rating: Any = 5) -> float:
    """A rating on 1..max_rating mapped linearly onto 1..5 stars."""
    if isinstance(rating, bool) or not isinstance(rating, int | float):
        raise InvalidPayload("rating must be a number")
    if isinstance(max_rating, bool) or not isinstance(max_rating, int | float) or max_rating <= 1:
        raise InvalidPayload("max_rating must be a number greater than 1")
    if not 1 <= rating <= max_rating:
        raise InvalidPayload(f"rating {rating!r} is outside 1 to {max_rating!r}")
    return 1 + (float(rating) - 1) * 4 / (float(max_rating) - 1)


def one_review(item: Mapping[str, Any], received: datetime, *, source: str) -> RawMention:
    review_id = text_id(first(item, "id", "review_id", "external_id"))
    if review_id is None:
        raise InvalidPayload("missing id (the review's own id, a string or integer)")
    if item.get("rating") is None:
        raise InvalidPayload("missing rating")
    mention: RawMention = {
        "source": source,
        "external_id": review_id,
        "text": subject_and_body(item.get("title"), first(item, "text", "body")),
        "rating": to_stars(item["rating"], item.get("max_rating", 5)),
        "event_time": vendor_time(
            first(item, "created_at", "event_time", "date"), received=received
        ).isoformat(),
        "author": text_id(first(item, "author", "author_id", "reviewer")),
        "customer_id": text_id(item.get("customer_id")),
        "product": string(first(item, "product", "app"), "product"),
        "url": string(item.get("url"), "url"),
        "lang": string(item.get("lang"), "lang"),
        "tags": item.get("tags"),
    }
    return {k: v for k, v in mention.items() if v is not None}


@dataclass(frozen=True, slots=True)
class ReviewWebhookSource:
    name: str
    secret: bytes
    kind: str = "reviews"
    needs_pseudonym_key: bool = True
    max_body_bytes: int = 1024 * 1024
    rate_limit: RateLimit = field(default_factory=RateLimit)

    def verify(self, headers: Any, body: bytes, *, now: datetime) -> None:
        verify_crisismon_signature(self.secret, headers, body)

    def parse(self, body: bytes, *, received: datetime) -> list[RawMention]:
        return parse_items(body, received=received, one=partial(one_review, source=self.name))
