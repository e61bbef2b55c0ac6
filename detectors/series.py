"""Which series a mention counts toward.

Each series kind is one function from a mention and its `Attribution` (what is known beyond its
own fields: its customer's segments, the configured topics and products) to zero or more keys;
adding a kind is one more entry in `SERIES_KINDS`.

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

from collections.abc import Callable, Collection, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Protocol

from detectors.dimensions import NO_DIMENSIONS, Admitted, DimensionSeries
from detectors.topics import NO_TOPICS, Topics
from streams.mentions import MentionIn

GLOBAL = "global"
REVIEWS = "reviews"
# Mentions in this language get no lang: series: in most deployments it would repeat `global`
# window for window, and every alert would name both.
MAIN_LANGUAGE = "en"


@dataclass(frozen=True, slots=True)
class Attribution:
    """What one batch of mentions is attributed to beyond their own fields.

    ``segments`` maps a pseudonymised customer id to the segments that customer is in now;
    an id that is not there (an unknown customer) is in none.
    """

    segments: Mapping[str, Sequence[str]] = field(default_factory=dict)
    topics: Topics = NO_TOPICS
    # The admitted values of config/dimensions.yaml's dimensions that this batch needs.
    dimensions: Admitted = NO_DIMENSIONS


NO_ATTRIBUTION = Attribution()

SeriesKind = Callable[[MentionIn, Attribution], Iterable[str]]

SERIES_KINDS: list[SeriesKind] = [
    lambda mention, _: [GLOBAL],
    lambda mention, _: [f"source:{mention.source}"],
    # Reviews: every mention with a star rating, whatever the store; windows keep the stars.
    lambda mention, _: [REVIEWS] if mention.rating is not None else [],
    # Set by scoring: the mention's own tag or the detected language (``lang:es``).
    lambda mention, _: (
        [f"lang:{mention.lang}"] if mention.lang and mention.lang != MAIN_LANGUAGE else []
    ),
    # The segments of the mention's customer (pseudonymised id), evaluated at ingest.
    lambda mention, known: [
        f"segment:{name}" for name in known.segments.get(mention.customer_id or "", ())
    ],
    # The sender's attributes declared as dimensions: ``region:eu``, ``region:other``; a
    # sender-known segment joins the customer-table ``segment:`` series of the same name.
    lambda mention, known: known.dimensions.keys_of(mention),
    # config/topics.yaml: phrases in the text, and products named or tagged by the source.
    lambda mention, known: [f"topic:{name}" for name in known.topics.topics_in(mention.text)],
    lambda mention, known: [
        f"product:{name}"
        for name in known.topics.products_in(mention.text, product=mention.product)
    ],
]


class SegmentLookup(Protocol):
    """Which segments each of some pseudonymised customer ids is in at ``now``."""

    def segments_of(
        self, customer_ids: Collection[str], *, now: datetime
    ) -> Mapping[str, Sequence[str]]: ...


@dataclass(frozen=True, slots=True)
class KnownSegments:
    """A fixed answer (pseudonymised id to segments), for simulations and offline backtests."""

    by_customer: Mapping[str, Sequence[str]]

    def segments_of(
        self, customer_ids: Collection[str], *, now: datetime
    ) -> Mapping[str, Sequence[str]]:
        return {c: self.by_customer.get(c, ()) for c in customer_ids}


@dataclass(frozen=True, slots=True)
class FanOut:
    """How the live pipeline attributes a batch: the topics file, the customers' segments and
    the dimensions file."""

    topics: Topics = NO_TOPICS
    segments: SegmentLookup | None = None
    dimensions: DimensionSeries | None = None

    def attribution(self, mentions: Iterable[MentionIn], *, now: datetime) -> Attribution:
        """One segment lookup for the whole batch, so ingest pays per batch, not per mention;
        new dimension values are admitted here, before any of the batch is counted."""
        mentions = list(mentions)
        ids = {m.customer_id for m in mentions if m.customer_id}
        found = self.segments.segments_of(ids, now=now) if self.segments and ids else {}
        admitted = self.dimensions.admitted(mentions) if self.dimensions else NO_DIMENSIONS
        return Attribution(found, self.topics, admitted)


NO_FAN_OUT = FanOut()


DRILL_PREFIX = "drill:"


def series_keys(mention: MentionIn, known: Attribution = NO_ATTRIBUTION) -> list[str]:
    """Every key of every kind; a drill mention counts only in ``drill:``-prefixed twins.

    >>> from datetime import UTC, datetime
    >>> series_keys(MentionIn("x", "1", "hi", datetime(2026, 1, 1, tzinfo=UTC), drill=True))
    ['drill:global', 'drill:source:x']
    >>> known = Attribution({"psn:1": ["vip"]}, Topics.of({"billing": ["charged twice"]}, {}))
    >>> series_keys(MentionIn("x", "2", "Charged twice!", datetime(2026, 1, 1, tzinfo=UTC),
    ...                       customer_id="psn:1"), known)
    ['global', 'source:x', 'segment:vip', 'topic:billing']
    """
    keys: list[str] = []
    for kind in SERIES_KINDS:
        keys.extend(key for key in kind(mention, known) if key not in keys)
    return [DRILL_PREFIX + key for key in keys] if mention.drill else keys


def parent_of(series: str) -> str | None:
    """The series a slice's share is judged against: ``global`` (a drill's own twin of it).

    >>> parent_of("region:eu"), parent_of("drill:source:x"), parent_of("global")
    ('global', 'drill:global', None)
    """
    drill = series.startswith(DRILL_PREFIX)
    bare = series.removeprefix(DRILL_PREFIX)
    if bare == GLOBAL:
        return None
    return DRILL_PREFIX + GLOBAL if drill else GLOBAL


def encode_keys(keys: Iterable[str]) -> str:
    """Store keys so that one ``LIKE '% key %'`` finds a series' mentions on any database.

    >>> encode_keys(["global", "source:x"])
    ' global source:x '
    """
    return " " + " ".join(keys) + " "


def decode_keys(stored: str) -> list[str]:
    return stored.split()
