"""App Store and Google Play review exports, read into review mentions for `crisismon replay`.

Two JSON shapes, as the stores' APIs return them (one response, or an array of pages):

- **App Store Connect** (``GET /v1/apps/{id}/customerReviews``): ``{"data": [{"type":
  "customerReviews", "id": …, "attributes": {"rating", "title", "body", "reviewerNickname",
  "createdDate", "territory"}}]}``.
- **Google Play Developer API** (``reviews.list``): ``{"reviews": [{"reviewId", "authorName",
  "comments": [{"userComment": {"text", "starRating", "reviewerLanguage", "lastModified":
  {"seconds", "nanos"}, "appVersionName"}}, {"developerComment": …}]}]}``. The developer's reply
  is not the customer's voice and is left out.

An entry that cannot be read becomes `Unusable`, which replay sends to the dead letters.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterator, Mapping
from pathlib import Path
from typing import Any

from streams.replay import ReplayError, Unusable
from streams.sources import InvalidPayload, RawMention
from streams.sources.fields import subject_and_body, text_id

STORES = ("appstore", "googleplay")


class StoreFileError(ReplayError):
    """The file is not an export of the store asked for; one readable line."""


def _pages(path: Path, key: str) -> list[Mapping[str, Any]]:
    if not path.is_file():
        raise StoreFileError(f"{path}: no such file")
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except (UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise StoreFileError(f"{path}: not valid JSON: {exc}") from exc
    pages = data if isinstance(data, list) else [data]
    if not pages or not all(isinstance(p, Mapping) and isinstance(p.get(key), list) for p in pages):
        raise StoreFileError(f"{path}: expected an object (or array of pages) with a {key!r} list")
    return pages


def app_store_review(entry: Any, *, source: str, product: str | None) -> RawMention:
    if not isinstance(entry, Mapping) or entry.get("type") != "customerReviews":
        raise InvalidPayload("not a customerReviews resource")
    attributes = entry.get("attributes")
    if not isinstance(attributes, Mapping):
        raise InvalidPayload("customerReviews without attributes")
    review_id = text_id(entry.get("id"))
    if review_id is None:
        raise InvalidPayload("customerReviews without id")
    if attributes.get("rating") is None:
        raise InvalidPayload(f"review {review_id} has no rating")
    mention: RawMention = {
        "source": source,
        "external_id": review_id,
        "text": subject_and_body(attributes.get("title"), attributes.get("body")),
        "rating": attributes.get("rating"),
        "event_time": attributes.get("createdDate"),
        "author": text_id(attributes.get("reviewerNickname")),
        "product": product,
        "tags": [f"territory-{attributes['territory']}".lower()]
        if isinstance(attributes.get("territory"), str)
        else None,
    }
    return {k: v for k, v in mention.items() if v is not None}


def google_play_review(entry: Any, *, source: str, product: str | None) -> RawMention:
    if not isinstance(entry, Mapping):
        raise InvalidPayload("a review must be an object")
    review_id = text_id(entry.get("reviewId"))
    if review_id is None:
        raise InvalidPayload("review without reviewId")
    comments = entry.get("comments")
    user = next(
        (
            c["userComment"]
            for c in comments
            if isinstance(c, Mapping) and isinstance(c.get("userComment"), Mapping)
        )
        if isinstance(comments, list)
        else iter(()),
        None,
    )
    if user is None:
        raise InvalidPayload(f"review {review_id} has no userComment")
    if user.get("starRating") is None:
        raise InvalidPayload(f"review {review_id} has no starRating")
    modified = user.get("lastModified")
    seconds = modified.get("seconds") if isinstance(modified, Mapping) else None
    mention: RawMention = {
        "source": source,
        "external_id": review_id,
        "text": user.get("text"),
        "rating": user.get("starRating"),
        "event_time": int(seconds)
        if isinstance(seconds, str | int) and str(seconds).isdigit()
        else None,
        "author": text_id(entry.get("authorName")),
        "lang": user.get("reviewerLanguage"),
        "product": product,
        "tags": [f"version-{user['appVersionName']}".lower()]
        if isinstance(user.get("appVersionName"), str)
        else None,
    }
    if mention["event_time"] is None:
        raise InvalidPayload(f"review {review_id} has no lastModified.seconds")
    return {k: v for k, v in mention.items() if v is not None}


def store_reader(
    store: str, *, source: str, product: str | None = None
) -> Callable[[Path], Iterator[tuple[int, Any]]]:
    """A replay reader: (entry number, mention dict or the reason it is unusable)."""
    if store not in STORES:
        raise StoreFileError(f"unknown store {store!r}; use one of {', '.join(STORES)}")
    key, one = (
        ("data", app_store_review) if store == "appstore" else ("reviews", google_play_review)
    )

    def read(path: Path) -> Iterator[tuple[int, Any]]:
        number = 0
        for page in _pages(path, key):
            for entry in page[key]:
                number += 1
                try:
                    yield number, one(entry, source=source, product=product)
                except InvalidPayload as exc:
                    yield number, Unusable(f"{store} entry {number}: {exc}", entry)

    return read
