"""Sources: everything that turns outside data into mentions, behind one `Source` port.

One module per kind. A *webhook* source verifies and parses HTTP requests a vendor sends us
(`WebhookSource`); a *polled* source fetches on a timer (`PolledSource`). Both produce plain
mention dicts that `streams.mentions.parse_mention` validates, redacts and pseudonymises, so
every source gives the same guarantees. Which sources run is configured in
``config/sources.yaml`` (`streams.sources.config`); their secrets come only from
``CRISISMON_SOURCE_<NAME>_SECRET`` environment variables.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Any, Protocol, runtime_checkable

# A mention as a source produces it: the fields of the mention format, not yet validated.
RawMention = dict[str, Any]


class SourceError(ValueError):
    """Base of the errors a source raises about one request or one poll."""


class InvalidPayload(SourceError):
    """The body cannot be used (HTTP 400); ``str(exc)`` is the reason."""


class BadSignature(SourceError):
    """The request is not from who it claims to be (HTTP 401)."""


class Ignored(SourceError):
    """A well-formed event that carries no customer voice (a ping, an agent's reply): 200."""


@runtime_checkable
class Source(Protocol):
    """What every source has: its name (the mention's ``source``) and its kind."""

    @property
    def name(self) -> str:
        """The ``source`` of its mentions, and its series ``source:NAME``."""
        ...

    @property
    def kind(self) -> str:
        """Which module handles it: ``zendesk``, ``feed``, ``mastodon``…"""
        ...

    @property
    def needs_pseudonym_key(self) -> bool:
        """True when its mentions carry author or customer ids (CRISISMON_PSEUDONYM_KEY)."""
        ...


@dataclass(frozen=True, slots=True)
class RateLimit:
    """Requests per second, with bursts up to ``burst``, per source and per worker."""

    per_second: float = 50.0
    burst: int = 200


@runtime_checkable
class WebhookSource(Source, Protocol):
    """A source a vendor POSTs to at ``/webhooks/<name>``."""

    @property
    def max_body_bytes(self) -> int: ...

    @property
    def rate_limit(self) -> RateLimit: ...

    def verify(self, headers: Mapping[str, str], body: bytes, *, now: datetime) -> None:
        """Raise `BadSignature` unless the request carries the vendor's valid signature."""
        ...

    def parse(self, body: bytes, *, received: datetime) -> list[RawMention]:
        """The mentions in a verified body; `InvalidPayload` or `Ignored` otherwise."""
        ...
