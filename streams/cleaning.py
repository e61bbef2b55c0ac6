"""The one normaliser every string of a mention (and of a dead letter) goes through.

Whatever a sender puts in a field must be storable on every database and encodable as UTF-8
before it is published: PostgreSQL refuses NUL in ``text`` columns, and a lone surrogate
(``"\\ud800"`` in JSON) cannot be encoded at all. So, for every field:

- control characters are removed (C0, DEL and C1; NUL among them), and line breaks and tabs
  become one space;
- a lone surrogate becomes U+FFFD, the replacement character (JSON decodes a valid pair to
  one character, so any surrogate left in a ``str`` is alone);
- the result is NFC, stripped, and cut to the field's limit.

>>> clean_field(" ab\\x00c\\nd\\ud800 ", 20)
'abc d\\ufffd'
>>> clean_field("abcdef", 3)
'abc'
"""

from __future__ import annotations

import hmac
import json
import re
import unicodedata
from typing import Any

_CONTROL_RE = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f-\x9f]")
_BREAK_RE = re.compile(r"[\t\n\r]+")
_SURROGATE_RE = re.compile(r"[\ud800-\udfff]")
REPLACEMENT = "\ufffd"


def valid_unicode(text: str) -> str:
    """``text`` with every lone surrogate replaced, so it always encodes as UTF-8.

    >>> valid_unicode("a\\udc80b").encode()
    b'a\\xef\\xbf\\xbdb'
    """
    return _SURROGATE_RE.sub(REPLACEMENT, text)


def strip_controls(text: str) -> str:
    """``text`` without control characters (NUL included); tabs and line breaks are kept.

    >>> strip_controls("a\\x00b\\x1b[31m\\tc\\x85")
    'ab[31m\\tc'
    """
    return _CONTROL_RE.sub("", text)


def clean_field(value: str, limit: int) -> str:
    """One short field (an id, a tag, a product…) as stored: see the module docstring."""
    text = strip_controls(_BREAK_RE.sub(" ", valid_unicode(value)))
    return unicodedata.normalize("NFC", text).strip()[:limit].rstrip()


def storable(text: str) -> str:
    """Long text (a dead letter's payload or reason) that every database accepts: valid
    Unicode and no NUL; other characters are kept so the payload stays recognisable.

    >>> storable('{"a": "x\\x00y\\ud800"}')
    '{"a": "x\\ufffdy\\ufffd"}'
    """
    return valid_unicode(text).replace("\x00", REPLACEMENT)


class BadJson(ValueError):
    """A body that is not usable JSON; ``str(exc)`` says why, for a 400."""


def parse_json(raw: bytes | str) -> Any:
    """JSON from a request body or a record, or `BadJson` with the reason (callers say what
    was not valid JSON).

    Covers every way ``json.loads`` fails on hostile input, not only syntax errors: bytes
    that are not UTF-8, nesting deep enough to exhaust the stack, integers past Python's
    4,300-digit limit.

    >>> parse_json(b'{"a": [1]}')
    {'a': [1]}
    >>> parse_json(b"[" * 100_000)
    Traceback (most recent call last):
    ...
    streams.cleaning.BadJson: nested too deeply
    """
    try:
        return json.loads(raw)
    except RecursionError:
        raise BadJson("nested too deeply") from None
    except UnicodeDecodeError as exc:
        raise BadJson(f"not UTF-8 ({exc.reason} at byte {exc.start})") from None
    except ValueError as exc:  # JSONDecodeError, and int() past the digit limit
        raise BadJson(str(exc)) from None


MAX_ID = 2**31 - 1  # ids are INTEGER columns; PostgreSQL refuses anything larger


def parse_id(text: object) -> int | None:
    """A numeric id from a URL, query or payload, or None: ASCII digits only ("²" passes
    ``str.isdigit`` but not ``int``), and small enough for an INTEGER column.

    >>> parse_id("42"), parse_id("\u00b2"), parse_id("9" * 5000), parse_id(7), parse_id("-1")
    (42, None, None, None, None)
    >>> parse_id("2147483647"), parse_id("2147483648")
    (2147483647, None)
    """
    if not isinstance(text, str) or not (0 < len(text) <= 10):
        return None
    if not (text.isascii() and text.isdigit()):
        return None
    value = int(text)
    return value if value <= MAX_ID else None


def same_secret(given: str, expected: str) -> bool:
    """Constant-time comparison of a secret sent by a client (a token, a signature) with the
    expected one; any text compares (``hmac.compare_digest`` raises on non-ASCII ``str``).

    >>> same_secret("abc", "abc"), same_secret("\\u00e9", "abc"), same_secret("", "")
    (True, False, False)
    """
    if not given or not expected:
        return False
    return hmac.compare_digest(
        given.encode("utf-8", "replace"), expected.encode("utf-8", "replace")
    )
