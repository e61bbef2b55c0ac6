"""The mention payload every source produces, and the pure functions that validate it.

A mention travels on ``mentions.raw`` as UTF-8 JSON. Producers (the HTTP endpoint, replay)
fill in ``external_id`` and ``event_time`` before publishing, so that re-ingesting the same
record is a no-op: the mention id is derived from source + external id.

Every text is normalised and PII-redacted here, and every author or customer id is
pseudonymised here (`monitor.privacy`), so no producer can skip it and nothing downstream ever
sees them in clear. Both steps are idempotent: ingest parses the published bytes again.

>>> m = parse_mention({"source": "Twitter", "text": "  Down   again?! ana@example.com ",
...                    "external_id": "42", "event_time": "2026-01-05T10:00:00Z"})
>>> m.source, m.text, m.mention_id == mention_id("twitter", "42")
('twitter', 'Down again?! [EMAIL]', True)
"""

from __future__ import annotations

import hashlib
import json
import re
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

from monitor.privacy import CUSTOMER_ID, NO_KEY, Privacy, PseudonymKeyMissing, redact_emails
from streams.attributes import ATTRIBUTES, Attributes, InvalidAttributes, parse_attributes
from streams.cleaning import clean_field, valid_unicode
from streams.mention_text import normalise_text

MAX_EXTERNAL_ID_CHARS = 300
# Event times before this are a sender's bug (an unset clock, a zero timestamp), and near
# year 1 or 9999 a time zone alone overflows datetime; the upper bound is the caller's
# `not_after` (now plus CRISISMON_MAX_FUTURE_SKEW_SECONDS).
EARLIEST_EVENT_TIME = datetime(1970, 1, 1, tzinfo=UTC)
DEFAULT_MAX_FUTURE_SKEW = timedelta(minutes=15)
_SOURCE_RE = re.compile(r"^[a-z0-9][a-z0-9_.-]{0,63}$")


_OPTIONAL_STRINGS = {"url": 2000, "lang": 16, "priority": 20, "product": 200, "network": 50}
_IDENTITIES = ("author", CUSTOMER_ID)
MAX_TAGS = 20
_TAG_RE = re.compile(r"[\s,]+")
# The mention format's own fields; any other top-level field is kept as an attribute.
KNOWN_FIELDS = frozenset(
    {"source", "external_id", "text", "event_time", "text_truncated", "tags", "rating", "drill"}
    | set(_OPTIONAL_STRINGS)
    | set(_IDENTITIES)
)


class InvalidMention(ValueError):
    """The payload cannot become a mention; ``str(exc)`` says why, for a 400 or a dead letter."""


@dataclass(frozen=True, slots=True)
class MentionIn:
    """A validated, normalised mention that is not yet scored."""

    source: str
    external_id: str
    text: str
    event_time: datetime
    text_truncated: bool = False
    author: str | None = None  # pseudonymised (psn:…), never the name in clear
    url: str | None = None
    lang: str | None = None
    customer_id: str | None = None  # pseudonymised (psn:…)
    priority: str | None = None
    product: str | None = None
    network: str | None = None
    tags: tuple[str, ...] = ()
    rating: float | None = None  # stars, 1 to 5
    drill: bool = False
    # What the sender knows beyond these fields (region, plan…), sorted by key; see
    # streams.attributes for the bounds.
    attributes: Attributes = ()

    @property
    def mention_id(self) -> str:
        return mention_id(self.source, self.external_id)

    def attribute(self, key: str) -> str | None:
        """The value of one attribute, or None."""
        return next((value for name, value in self.attributes if name == key), None)

    def to_payload(self) -> dict[str, Any]:
        """The JSON-ready dict that `parse_mention` reads back to an equal mention."""
        payload: dict[str, Any] = {
            "source": self.source,
            "external_id": self.external_id,
            "text": self.text,
            "event_time": self.event_time.isoformat(),
        }
        for key in (*_OPTIONAL_STRINGS, *_IDENTITIES, "rating"):
            if getattr(self, key) is not None:
                payload[key] = getattr(self, key)
        if self.tags:
            payload["tags"] = list(self.tags)
        if self.text_truncated:
            payload["text_truncated"] = True
        if self.drill:
            payload["drill"] = True
        if self.attributes:
            payload[ATTRIBUTES] = dict(self.attributes)
        return payload

    def to_bytes(self) -> bytes:
        return json.dumps(self.to_payload(), ensure_ascii=False).encode("utf-8")


def mention_id(source: str, external_id: str) -> str:
    """Deterministic 32-hex id, the idempotency key of a mention.

    >>> mention_id("zendesk", "1001") == mention_id("zendesk", "1001")
    True
    >>> mention_id("zendesk", "1001") == mention_id("intercom", "1001")
    False
    """
    digest = hashlib.sha256(f"{source}\x1f{external_id}".encode()).hexdigest()
    return digest[:32]


def content_external_id(source: str, text: str, event_time: datetime) -> str:
    """An id for sources that have none: the same content at the same moment is one mention."""
    digest = hashlib.sha256(f"{source}\x1f{event_time.isoformat()}\x1f{text}".encode())
    return "content:" + digest.hexdigest()[:24]


def parse_event_time(value: Any, *, not_after: datetime | None = None) -> datetime:
    """ISO 8601 (a missing zone means UTC) or Unix seconds, to an aware UTC datetime, from
    1970 on and, when ``not_after`` is given, not after it.

    >>> parse_event_time("9999-12-31T23:59:59-01:00")
    Traceback (most recent call last):
    ...
    streams.mentions.InvalidMention: event_time '9999-12-31T23:59:59-01:00' is out of range
    >>> parse_event_time("2030-01-01T00:00:00Z", not_after=datetime(2026, 1, 1, tzinfo=UTC))
    Traceback (most recent call last):
    ...
    streams.mentions.InvalidMention: event_time 2030-01-01T00:00:00+00:00 is more than the \
allowed clock skew in the future (latest accepted 2026-01-01T00:00:00+00:00)
    """
    shown = repr(valid_unicode(value[:60])) if isinstance(value, str) else repr(value)
    if isinstance(value, bool) or not isinstance(value, int | float | str):
        raise InvalidMention("event_time must be an ISO 8601 string or Unix seconds")
    try:
        if isinstance(value, str):
            parsed = datetime.fromisoformat(value.strip().replace("Z", "+00:00"))
            parsed = parsed.replace(tzinfo=UTC) if parsed.tzinfo is None else parsed
            parsed = parsed.astimezone(UTC)
        else:
            parsed = datetime.fromtimestamp(float(value), tz=UTC)
    except (OverflowError, OSError) as exc:
        raise InvalidMention(f"event_time {shown} is out of range") from exc
    except ValueError as exc:  # also a float too large for fromtimestamp
        kind = "is not ISO 8601" if isinstance(value, str) else "is out of range"
        raise InvalidMention(f"event_time {shown} {kind}") from exc
    if parsed < EARLIEST_EVENT_TIME:
        raise InvalidMention(f"event_time {shown} is before 1970")
    if not_after is not None and parsed > not_after:
        raise InvalidMention(
            f"event_time {parsed.isoformat()} is more than the allowed clock skew in the future "
            f"(latest accepted {not_after.isoformat()})"
        )
    return parsed


def parse_mention(
    data: Any,
    *,
    now: datetime | None = None,
    privacy: Privacy = NO_KEY,
    not_after: datetime | None = None,
) -> MentionIn:
    """Validate and normalise one payload. ``now`` fills a missing event time; an event time
    after ``not_after`` (now plus the allowed clock skew) is refused, so no sender can move
    event time ahead of the clock.

    Every string field goes through `streams.cleaning.clean_field` (no control characters,
    valid Unicode, capped), so what is published is storable on every database.

    ``privacy`` redacts the text and pseudonymises ``author`` and ``customer_id``; a payload
    that carries either of them while no pseudonym key is configured is rejected, so an
    identity is never stored in clear.
    """
    if not isinstance(data, Mapping):
        raise InvalidMention(f"expected a JSON object, got {type(data).__name__}")
    source = data.get("source")
    if not isinstance(source, str) or not source.strip():
        raise InvalidMention("missing field: source (a non-empty string)")
    source = source.strip().lower()
    if not _SOURCE_RE.match(source):
        raise InvalidMention(
            f"source {source!r} must be 1-64 of a-z, 0-9, '_', '.', '-' and start alphanumeric"
        )
    raw_text = data.get("text")
    if not isinstance(raw_text, str):
        raise InvalidMention("missing field: text (a string)")
    text, truncated = normalise_text(raw_text, redactor=privacy.redactor)
    if not text:
        raise InvalidMention("text is empty after normalisation")

    if data.get("event_time") is None:
        if now is None:
            raise InvalidMention("missing field: event_time")
        event_time = now
    else:
        event_time = parse_event_time(data["event_time"], not_after=not_after)

    external = data.get("external_id")
    if external is None or external == "":
        external_id = content_external_id(source, text, event_time)
    elif isinstance(external, str | int) and not isinstance(external, bool):
        external_id = clean_field(external if isinstance(external, str) else str(external), 301)
        if not external_id or len(external_id) > MAX_EXTERNAL_ID_CHARS:
            raise InvalidMention(f"external_id must be 1-{MAX_EXTERNAL_ID_CHARS} characters")
    else:
        raise InvalidMention("external_id must be a string or an integer")

    optional: dict[str, str | None] = {}
    for key, limit in _OPTIONAL_STRINGS.items():
        value = data.get(key)
        if value is not None and not isinstance(value, str):
            raise InvalidMention(f"{key} must be a string")
        optional[key] = clean_field(value, limit) or None if value else None
    if optional["url"]:  # capped again: "[EMAIL]" can be longer than the address it hides
        optional["url"] = redact_emails(optional["url"])[: _OPTIONAL_STRINGS["url"]]
    try:
        attributes = parse_attributes(data, known=KNOWN_FIELDS, redactor=privacy.redactor)
    except InvalidAttributes as exc:
        raise InvalidMention(str(exc)) from exc

    return MentionIn(
        source=source,
        external_id=external_id,
        text=text,
        event_time=event_time,
        text_truncated=truncated or data.get("text_truncated") is True,
        author=_identity(data, "author", privacy),
        url=optional["url"],
        lang=optional["lang"],
        customer_id=_identity(data, CUSTOMER_ID, privacy),
        priority=optional["priority"],
        product=optional["product"],
        network=optional["network"].lower() if optional["network"] else None,
        tags=parse_tags(data.get("tags")),
        rating=parse_rating(data.get("rating")),
        drill=data.get("drill") is True,
        attributes=attributes,
    )


def _identity(data: Mapping[str, Any], key: str, privacy: Privacy) -> str | None:
    value = data.get(key)
    if value is None or value == "":
        return None
    if isinstance(value, bool) or not isinstance(value, str | int):
        raise InvalidMention(f"{key} must be a string")
    value = clean_field(str(value), 300)
    if not value:
        return None
    try:
        return privacy.pseudonymiser.pseudonym(key, value)
    except PseudonymKeyMissing as exc:
        raise InvalidMention(str(exc)) from exc


def parse_tags(value: Any) -> tuple[str, ...]:
    """A list of strings, or one string of tags separated by spaces or commas.

    >>> parse_tags("change_address help, Order"), parse_tags(["a b", "a b", ""])
    (('change_address', 'help', 'order'), ('a-b',))
    """
    if value is None or value == "":
        return ()
    if isinstance(value, str):
        items = _TAG_RE.split(value)
    elif isinstance(value, list) and all(isinstance(item, str) for item in value):
        items = ["-".join(item.split()) for item in value]
    else:
        raise InvalidMention("tags must be a list of strings or one string")
    tags: list[str] = []
    for item in items:
        tag = clean_field(item, 50).lower()
        if tag and tag not in tags:
            tags.append(tag)
    return tuple(tags[:MAX_TAGS])


def parse_rating(value: Any) -> float | None:
    """Stars from 1 to 5 (fractions allowed), the scale every review source maps to."""
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise InvalidMention("rating must be a number of stars from 1 to 5")
    if not 1 <= value <= 5:
        raise InvalidMention(f"rating {value!r} is outside 1 to 5 stars")
    return float(value)
