"""Which series a mention counts toward.

Each series kind is one function from a mention to zero or more keys; adding a kind
(``segment:``, ``topic:``, ``lang:`` …) is one more entry in `SERIES_KINDS`.

>>> from datetime import UTC, datetime
>>> from streams.mentions import MentionIn
>>> series_keys(MentionIn("zendesk", "1", "hi", datetime(2026, 1, 1, tzinfo=UTC)))
['global', 'source:zendesk']
>>> series_keys(MentionIn("zendesk", "1", "hola", datetime(2026, 1, 1, tzinfo=UTC), lang="es"))
['global', 'source:zendesk', 'lang:es']
>>> series_keys(MentionIn("zendesk", "1", "hi", datetime(2026, 1, 1, tzinfo=UTC), lang="en"))
['global', 'source:zendesk']
"""

from __future__ import annotations

from collections.abc import Callable, Iterable

from streams.mentions import MentionIn

GLOBAL = "global"
REVIEWS = "reviews"
# Mentions in this language get no lang: series: in most deployments it would repeat `global`
# window for window, and every alert would name both.
MAIN_LANGUAGE = "en"

SeriesKind = Callable[[MentionIn], Iterable[str]]

SERIES_KINDS: list[SeriesKind] = [
    lambda mention: [GLOBAL],
    lambda mention: [f"source:{mention.source}"],
    # Reviews: every mention with a star rating, whatever the store; windows keep the stars.
    lambda mention: [REVIEWS] if mention.rating is not None else [],
    # Set by scoring: the mention's own tag or the detected language (``lang:es``).
    lambda mention: (
        [f"lang:{mention.lang}"] if mention.lang and mention.lang != MAIN_LANGUAGE else []
    ),
]


DRILL_PREFIX = "drill:"


def series_keys(mention: MentionIn) -> list[str]:
    """Every key of every kind; a drill mention counts only in ``drill:``-prefixed twins.

    >>> from datetime import UTC, datetime
    >>> series_keys(MentionIn("x", "1", "hi", datetime(2026, 1, 1, tzinfo=UTC), drill=True))
    ['drill:global', 'drill:source:x']
    """
    keys: list[str] = []
    for kind in SERIES_KINDS:
        keys.extend(key for key in kind(mention) if key not in keys)
    return [DRILL_PREFIX + key for key in keys] if mention.drill else keys


def encode_keys(keys: Iterable[str]) -> str:
    """Store keys so that one ``LIKE '% key %'`` finds a series' mentions on any database.

    >>> encode_keys(["global", "source:x"])
    ' global source:x '
    """
    return " " + " ".join(keys) + " "


def decode_keys(stored: str) -> list[str]:
    return stored.split()
