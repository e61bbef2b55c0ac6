"""A mention's attributes: what the sender knows beyond the mention format (region, plan…).

They come from an ``attributes`` object and from any top-level field that is not part of the
mention format, so nothing a sender adds is dropped silently. Bounded, because every value may
become a series (`detectors.dimensions`) and is stored with the mention:

- at most `MAX_ATTRIBUTES` keys; a key is lower-cased, runs of other characters become ``_``
  ("App Version" is ``app_version``), and must then be 1-40 of ``a-z``, ``0-9``, ``_``;
- a value is a string, number or boolean; it is normalised like a text (control characters,
  NUL included, removed; lone surrogates replaced; NFC; whitespace collapsed), PII-redacted,
  and cut to `MAX_VALUE_CHARS`;
- an unknown top-level object or array is rejected with the reason, rather than kept as a
  truncated blob: put scalars in ``attributes``, or map nested fields with ``--mapping``.

>>> parse_attributes({"text": "hi", "Region": "EU ", "attributes": {"plan": "pro", "beta": True}},
...                  known={"text"})
(('beta', 'true'), ('plan', 'pro'), ('region', 'EU'))
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Collection, Mapping
from typing import Any

from monitor.privacy import Redactor, redact_emails
from streams.cleaning import valid_unicode

MAX_ATTRIBUTES = 20
MAX_KEY_CHARS = 40
MAX_VALUE_CHARS = 100
ATTRIBUTES = "attributes"

Attributes = tuple[tuple[str, str], ...]

_KEY_RE = re.compile(r"^[a-z0-9_]{1,40}$")
_NOT_KEY_RE = re.compile(r"[^a-z0-9_]+")
_CONTROL_RE = re.compile(r"[\x00-\x1f\x7f-\x9f]")
_SPACE_RE = re.compile(r"\s+")
_DEFAULT_REDACTOR = Redactor()


class InvalidAttributes(ValueError):
    """The attributes cannot be kept; ``str(exc)`` says which and why."""


def attribute_key(raw: str) -> str:
    """The stored form of a key: lower-case, other characters as ``_``.

    >>> attribute_key("App Version"), attribute_key("store-territory"), attribute_key("Région")
    ('app_version', 'store_territory', 'r_gion')
    """
    return _NOT_KEY_RE.sub("_", raw.strip().lower()).strip("_")


def parse_attributes(
    data: Mapping[str, Any], *, known: Collection[str], redactor: Redactor = _DEFAULT_REDACTOR
) -> Attributes:
    """The attributes of a payload, sorted by key; `InvalidAttributes` with the reason."""
    found: dict[str, str] = {}
    given = data.get(ATTRIBUTES)
    if given is not None:
        if not isinstance(given, Mapping):
            raise InvalidAttributes(
                f"attributes must be a JSON object of names to values, got {type(given).__name__}"
            )
        for raw_key, raw_value in given.items():
            _add(found, raw_key, raw_value, f"attributes.{raw_key}", redactor)
    for raw_key, raw_value in data.items():
        if raw_key in known or raw_key == ATTRIBUTES:
            continue
        if isinstance(raw_value, Mapping | list):
            kind = "an object" if isinstance(raw_value, Mapping) else "an array"
            raise InvalidAttributes(
                f"field {raw_key!r} is {kind}, not part of the mention format: put scalar "
                "values in `attributes`, or map nested fields with --mapping"
            )
        _add(found, raw_key, raw_value, str(raw_key), redactor)
    if len(found) > MAX_ATTRIBUTES:
        raise InvalidAttributes(
            f"{len(found)} attributes, at most {MAX_ATTRIBUTES} ({', '.join(sorted(found))}); "
            "drop some, or choose the columns you need with --mapping"
        )
    return tuple(sorted(found.items()))


def _add(
    found: dict[str, str], raw_key: Any, raw_value: Any, where: str, redactor: Redactor
) -> None:
    if not isinstance(raw_key, str):
        raise InvalidAttributes(f"attribute name {raw_key!r} must be a string")
    key = attribute_key(raw_key)
    if not _KEY_RE.match(key):
        raise InvalidAttributes(
            f"attribute name {raw_key!r} must have 1-{MAX_KEY_CHARS} letters, digits or '_'"
        )
    value = attribute_value(raw_value, key=key, where=where, redactor=redactor)
    if value is None:
        return  # null or blank: no value, nothing to keep
    if found.get(key, value) != value:
        raise InvalidAttributes(
            f"attribute {key!r} is given twice with different values ({found[key]!r} and {value!r})"
        )
    found[key] = value


def attribute_value(
    raw: Any, *, key: str, where: str, redactor: Redactor = _DEFAULT_REDACTOR
) -> str | None:
    """One value as stored, or None when there is none (null, blank).

    >>> attribute_value(" Pro\\x00 plan ", key="plan", where="plan")
    'Pro plan'
    >>> attribute_value(2.5, key="v", where="v"), attribute_value(False, key="v", where="v")
    ('2.5', 'false')
    >>> attribute_value("ana@example.com", key="contact", where="contact")
    '[EMAIL]'
    >>> attribute_value("10.2.0.1", key="app_version", where="app_version")
    '10.2.0.1'
    """
    if raw is None:
        return None
    if isinstance(raw, bool):
        text = "true" if raw else "false"
    elif isinstance(raw, int | float):
        text = str(raw)
    elif isinstance(raw, str):
        text = raw
    else:
        raise InvalidAttributes(
            f"{where} must be a string, number or boolean, got {type(raw).__name__}"
        )
    text = _CONTROL_RE.sub("", _SPACE_RE.sub(" ", valid_unicode(text)))
    text = unicodedata.normalize("NFC", text).strip()
    if not text:
        return None
    # Versions ("10.2.0.1") look like IPv4 addresses to the full redactor; emails are still
    # redacted in them.
    text = redact_emails(text) if "version" in key else redactor.redact(text)
    if len(text) > MAX_VALUE_CHARS:
        text = text[: MAX_VALUE_CHARS - 1] + "…"
    return text
