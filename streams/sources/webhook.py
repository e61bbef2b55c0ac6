"""One webhook request, decided in plain Python: which status, which mentions, what dead letter.

The HTTP view (`monitor.shell.webhooks`) reads the body within the size limit, calls `handle`, then
publishes the mentions (and any dead letter) and waits for the broker's acknowledgement before
it answers 2xx. Order of checks: size (413), rate (429), signature (401), payload (400).
Rate limiting comes before the signature check so a flood costs no HMACs; a request that fails
the signature never reaches the dead letters, so strangers cannot fill that table.
"""

from __future__ import annotations

import time
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from monitor.privacy import Privacy
from streams.mentions import InvalidMention, MentionIn, parse_mention
from streams.sources import BadSignature, Ignored, InvalidPayload, RateLimit, WebhookSource


@dataclass(slots=True)
class TokenBucket:
    """``rate.per_second`` tokens a second, holding at most ``rate.burst``; one per request.

    >>> bucket = TokenBucket(RateLimit(per_second=1, burst=2), clock=lambda: 0.0)
    >>> [bucket.take() for _ in range(3)]
    [True, True, False]
    """

    rate: RateLimit
    clock: Any = time.monotonic
    _tokens: float = field(init=False)
    _at: float = field(init=False)

    def __post_init__(self) -> None:
        self._tokens = float(self.rate.burst)
        self._at = self.clock()

    def take(self) -> bool:
        now = self.clock()
        elapsed = max(0.0, now - self._at)
        self._tokens = min(float(self.rate.burst), self._tokens + elapsed * self.rate.per_second)
        self._at = now
        if self._tokens >= 1:
            self._tokens -= 1
            return True
        return False

    def retry_after(self) -> int:
        """Whole seconds until the next token."""
        missing = max(0.0, 1 - self._tokens)
        return max(1, int(missing / self.rate.per_second + 0.999))


@dataclass(frozen=True, slots=True)
class Decision:
    """What to answer. ``mentions`` are published before a 2xx; ``dead_letter`` before a 400."""

    status: int
    body: dict[str, Any]
    mentions: tuple[MentionIn, ...] = ()
    dead_letter: str | None = None  # the reason; the payload is the request body
    headers: Mapping[str, str] = field(default_factory=dict)


def too_large(source: WebhookSource) -> Decision:
    return Decision(413, {"error": f"body is over the {source.max_body_bytes} byte limit"})


def handle(
    source: WebhookSource,
    bucket: TokenBucket,
    *,
    headers: Mapping[str, str],
    body: bytes,
    received: datetime,
    privacy: Privacy,
    not_after: datetime | None = None,
) -> Decision:
    """The answer to one request; a mention dated after ``not_after`` is a 400."""
    if len(body) > source.max_body_bytes:
        return too_large(source)
    if not bucket.take():
        wait = bucket.retry_after()
        return Decision(
            429,
            {"error": f"rate limit of source {source.name!r} exceeded; retry in {wait}s"},
            headers={"Retry-After": str(wait)},
        )
    try:
        source.verify(headers, body, now=received)
    except BadSignature as exc:
        return Decision(401, {"error": str(exc)})
    try:
        raws = source.parse(body, received=received)
        mentions = tuple(
            parse_mention(raw, now=received, privacy=privacy, not_after=not_after) for raw in raws
        )
    except Ignored as exc:
        return Decision(200, {"accepted": 0, "ignored": str(exc)})
    except (InvalidPayload, InvalidMention) as exc:
        reason = f"{source.kind} webhook: {exc}"
        return Decision(400, {"error": str(exc)}, dead_letter=reason)
    return Decision(
        202, {"accepted": len(mentions), "mention_ids": [m.mention_id for m in mentions]}, mentions
    )
