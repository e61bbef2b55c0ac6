"""Small helpers that vendor mappings share: pick fields, join subject and body, read times."""

from __future__ import annotations

from collections.abc import Mapping
from datetime import UTC, datetime
from typing import Any

from streams.sources import InvalidPayload

# Human date formats some vendors' placeholders render (Zendesk's {{ticket.created_at}}).
_HUMAN_FORMATS = ("%B %d, %Y %H:%M", "%B %d, %Y", "%b %d, %Y %H:%M", "%b %d, %Y")


def first(data: Mapping[str, Any], *keys: str) -> Any:
    """The first of ``keys`` with a non-empty value, or None.

    >>> first({"a": "", "b": None, "c": 0, "d": "x"}, "a", "b", "c", "d")
    0
    """
    for key in keys:
        value = data.get(key)
        if value is not None and value != "":
            return value
    return None


def text_id(value: Any) -> str | None:
    """An id as a string: strings and integers only (no floats, bools or objects)."""
    if value is None or isinstance(value, bool):
        return None
    if isinstance(value, int):
        return str(value)
    if isinstance(value, str) and value.strip():
        return value.strip()
    return None


def string(value: Any, field: str) -> str | None:
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, str | int | float):
        raise InvalidPayload(f"{field} must be a string")
    return str(value)


def subject_and_body(subject: Any, body: Any) -> str:
    """ "Subject — body", or whichever of the two there is; `InvalidPayload` when neither."""
    parts = [
        str(part).strip() for part in (subject, body) if isinstance(part, str) and part.strip()
    ]
    if not parts:
        raise InvalidPayload("no subject or text to monitor in the payload")
    if len(parts) == 2 and parts[1].startswith(parts[0]):
        return parts[1]
    return " — ".join(parts)


def vendor_time(value: Any, *, received: datetime) -> datetime:
    """ISO 8601, Unix seconds or a human date; the receipt time when absent or unreadable.

    A webhook is sent when the event happens, so the receipt time is a close stand-in.

    >>> t = datetime(2026, 1, 5, tzinfo=UTC)
    >>> vendor_time("February 3, 2025", received=t).date().isoformat()
    '2025-02-03'
    >>> vendor_time(1553290198, received=t).year, vendor_time("soon", received=t) == t
    (2019, True)
    """
    if isinstance(value, int | float) and not isinstance(value, bool):
        try:
            return datetime.fromtimestamp(float(value), tz=UTC)
        except (OverflowError, OSError, ValueError):
            return received
    if isinstance(value, str) and value.strip():
        text = value.strip()
        if text.isascii() and text.isdigit() and len(text) <= 18:  # not "²", not 5,000 digits
            return vendor_time(int(text), received=received)
        try:
            parsed = datetime.fromisoformat(text.replace("Z", "+00:00"))
            return parsed.replace(tzinfo=UTC) if parsed.tzinfo is None else parsed.astimezone(UTC)
        except (ValueError, OverflowError):  # year 9999 in a zone behind UTC overflows
            pass
        for fmt in _HUMAN_FORMATS:
            try:
                return datetime.strptime(text, fmt).replace(tzinfo=UTC)
            except ValueError:
                continue
    return received


def require_object(data: Any, what: str) -> Mapping[str, Any]:
    if not isinstance(data, Mapping):
        raise InvalidPayload(f"{what} must be a JSON object, got {type(data).__name__}")
    return data


def path_value(data: Any, path: str) -> Any:
    """The value at a dotted ``path`` into a vendor body, or None.

    A step into a list picks the element whose ``id`` is the step, and a path that ends on
    such an element gives its ``value``: Zendesk's ``custom_fields: [{"id": 360001,
    "value": "eu"}]`` is read by ``ticket.custom_fields.360001``.

    >>> body = {"ticket": {"custom_fields": [{"id": 360001, "value": "eu"}]},
    ...         "data": {"item": {"custom_attributes": {"Plan": "pro"}}}}
    >>> path_value(body, "ticket.custom_fields.360001")
    'eu'
    >>> path_value(body, "data.item.custom_attributes.Plan"), path_value(body, "data.nothing")
    ('pro', None)
    """
    node: Any = data
    picked = False
    for step in path.split("."):
        picked = False
        if isinstance(node, Mapping):
            node = node.get(step)
        elif isinstance(node, list):
            node = next(
                (e for e in node if isinstance(e, Mapping) and str(e.get("id")) == step), None
            )
            picked = True
        else:
            return None
        if node is None:
            return None
    if picked and isinstance(node, Mapping) and "value" in node:
        return node["value"]
    return node
