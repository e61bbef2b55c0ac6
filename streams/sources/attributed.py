"""Vendor fields as mention attributes: ``attributes:`` of a webhook source in sources.yaml.

Each entry names an attribute and the dotted path of the vendor field that holds it, e.g. a
Zendesk custom field or an Intercom custom attribute::

    - name: zendesk
      kind: zendesk
      attributes:
        region: ticket.custom_fields.360001   # Zendesk's [{"id": 360001, "value": "eu"}]
        plan: plan                            # a placeholder the trigger's JSON body fills

Paths are into the request body; for ``reviews`` and ``social``, whose body is one item or an
array of them, into each item. A path with no value adds nothing; a path that leads to an
object or array is a 400 with the reason (and a dead letter), since its value cannot be a
series.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from streams.sources import InvalidPayload, RateLimit, RawMention, WebhookSource
from streams.sources.fields import path_value
from streams.sources.signing import load_json

# Kinds whose body is an item or an array of items, one mention per item, in order.
PER_ITEM_KINDS = frozenset({"reviews", "social"})


@dataclass(frozen=True, slots=True)
class AttributedSource:
    """A webhook source whose mentions also get attributes read from vendor fields."""

    source: WebhookSource
    attributes: Mapping[str, str]  # attribute name -> dotted path

    @property
    def name(self) -> str:
        return self.source.name

    @property
    def kind(self) -> str:
        return self.source.kind

    @property
    def needs_pseudonym_key(self) -> bool:
        return self.source.needs_pseudonym_key

    @property
    def max_body_bytes(self) -> int:
        return self.source.max_body_bytes

    @property
    def rate_limit(self) -> RateLimit:
        return self.source.rate_limit

    def verify(self, headers: Mapping[str, str], body: bytes, *, now: datetime) -> None:
        self.source.verify(headers, body, now=now)

    def parse(self, body: bytes, *, received: datetime) -> list[RawMention]:
        mentions = self.source.parse(body, received=received)
        data = load_json(body)  # the source has parsed it already: valid JSON
        if self.kind in PER_ITEM_KINDS:
            items = data if isinstance(data, list) else [data]
        else:
            items = [data] * len(mentions)
        return [
            _with(mention, self._read(item)) for mention, item in zip(mentions, items, strict=True)
        ]

    def _read(self, item: Any) -> dict[str, Any]:
        found: dict[str, Any] = {}
        for attribute, path in self.attributes.items():
            value = path_value(item, path)
            if isinstance(value, Mapping | list):
                raise InvalidPayload(
                    f"attribute {attribute!r}: {path} is an object or array, not a value"
                )
            if value is not None and value != "":
                found[attribute] = value
        return found


def _with(mention: RawMention, found: dict[str, Any]) -> RawMention:
    if not found:
        return mention
    given = mention.get("attributes")
    if given is not None and not isinstance(given, Mapping):
        return mention  # parse_mention rejects it with the reason
    return {**mention, "attributes": {**(given or {}), **found}}
