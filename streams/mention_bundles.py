"""Mentions on ``mentions.raw``: bundled several to a record, and decoded back, one by one."""

from __future__ import annotations

import json
from collections.abc import Sequence
from datetime import datetime
from typing import Any

from monitor.privacy import NO_KEY, Privacy
from streams.cleaning import BadJson, parse_json
from streams.mentions import InvalidMention, MentionIn, parse_mention

# Mentions per broker record when a producer has several at once (a replay, a feed poll, a
# batched webhook): Faust's cost is per record, so a bundle of them pays it once.
BUNDLE_SIZE = 20


def bundles(mentions: Sequence[MentionIn], size: int = BUNDLE_SIZE) -> list[tuple[bytes, bytes]]:
    """(key, value) records for ``mentions``: a JSON array of up to ``size`` mentions each,
    keyed by its first mention's id. A single mention stays a plain object.
    """
    records = []
    for offset in range(0, len(mentions), size):
        part = mentions[offset : offset + size]
        if len(part) == 1:
            value = part[0].to_bytes()
        else:
            payload = [m.to_payload() for m in part]
            value = json.dumps(payload, ensure_ascii=False).encode("utf-8")
        records.append((part[0].mention_id.encode(), value))
    return records


def decode_record(
    raw: bytes | str | None, privacy: Privacy = NO_KEY, *, not_after: datetime | None = None
) -> list[tuple[str | None, MentionIn | InvalidMention]]:
    """One ``mentions.raw`` record as its mentions: a JSON object is one, an array a bundle.

    Each element is a mention or the reason it is not one, with the element's own JSON for the
    dead letter when it came from a bundle (None: the record itself is the payload), so one bad
    element never costs its neighbours.
    """
    if raw is None:
        return [(None, InvalidMention("empty message"))]
    try:
        data = parse_json(raw)
    except BadJson as exc:
        return [(None, InvalidMention(f"not valid UTF-8 JSON: {exc}"))]
    if not isinstance(data, list):
        return [(None, _parsed(data, privacy, not_after))]
    if not data:
        return [(None, InvalidMention("an empty bundle of mentions"))]
    return [
        (json.dumps(item, ensure_ascii=False), _parsed(item, privacy, not_after)) for item in data
    ]


def _parsed(data: Any, privacy: Privacy, not_after: datetime | None) -> MentionIn | InvalidMention:
    try:
        return parse_mention(data, privacy=privacy, not_after=not_after)
    except InvalidMention as exc:
        return exc


def decode_mention(raw: bytes | str | None, privacy: Privacy = NO_KEY) -> MentionIn:
    """Bytes from ``mentions.raw`` to a mention. Raises `InvalidMention` with the reason."""
    if raw is None:
        raise InvalidMention("empty message")
    try:
        data = parse_json(raw)
    except BadJson as exc:
        raise InvalidMention(f"not valid UTF-8 JSON: {exc}") from exc
    return parse_mention(data, privacy=privacy)
