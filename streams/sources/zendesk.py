"""Zendesk ticket webhooks, signed the Zendesk way.

Zendesk signs every webhook request: ``X-Zendesk-Webhook-Signature`` is the base64 HMAC-SHA256,
keyed by the webhook's signing secret, of ``X-Zendesk-Webhook-Signature-Timestamp`` followed by
the raw body. Requests whose timestamp is more than ``tolerance_seconds`` away are refused.

Zendesk has no fixed body: the admin writes the JSON with placeholders. The mapping reads the
body README.md recommends, and also the shapes other integrations use (``message`` with
``ticket_id``/``ticket_title``):

>>> from datetime import UTC, datetime
>>> source = ZendeskSource(name="zendesk", secret=b"s")
>>> [m["external_id"] for m in source.parse(
...     b'{"ticket_id": "7", "ticket_title": "Cannot pay", "ticket_description": "Card declined"}',
...     received=datetime(2026, 1, 5, tzinfo=UTC))]
['7']
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime

from streams.sources import BadSignature, RateLimit, RawMention
from streams.sources.fields import first, require_object, subject_and_body, text_id, vendor_time
from streams.sources.signing import check_fresh, header, hmac_b64, load_json, parse_timestamp, same

SIGNATURE = "X-Zendesk-Webhook-Signature"
TIMESTAMP = "X-Zendesk-Webhook-Signature-Timestamp"


@dataclass(frozen=True, slots=True)
class ZendeskSource:
    name: str
    secret: bytes
    kind: str = "zendesk"
    needs_pseudonym_key: bool = True
    max_body_bytes: int = 256 * 1024
    rate_limit: RateLimit = field(default_factory=RateLimit)
    tolerance_seconds: float = 300.0

    def verify(self, headers: Mapping[str, str], body: bytes, *, now: datetime) -> None:
        signature, stamp = header(headers, SIGNATURE), header(headers, TIMESTAMP)
        if not signature or not stamp:
            raise BadSignature(f"missing {SIGNATURE} or {TIMESTAMP} header")
        try:  # aiohttp decodes header bytes with surrogate escapes: these give them back
            signed = stamp.encode("utf-8", "surrogateescape") + body
        except UnicodeEncodeError:
            raise BadSignature(f"{TIMESTAMP} is not text") from None
        if not same(hmac_b64(self.secret, signed), signature):
            raise BadSignature(f"{SIGNATURE} does not match the body and timestamp")
        check_fresh(parse_timestamp(stamp), now=now, tolerance_seconds=self.tolerance_seconds)

    def parse(self, body: bytes, *, received: datetime) -> list[RawMention]:
        data = require_object(load_json(body), "a Zendesk webhook body")
        ticket = data.get("ticket")
        if isinstance(ticket, Mapping):  # {"ticket": {...}} as some triggers are written
            data = {**data, **{f"ticket_{k}": v for k, v in ticket.items()}}
        ticket_id = text_id(first(data, "ticket_id", "id"))
        comment_id = text_id(first(data, "comment_id"))
        text = subject_and_body(
            first(data, "ticket_title", "ticket_subject", "subject", "topic"),
            first(data, "comment", "ticket_description", "description", "message"),
        )
        mention: RawMention = {
            "source": self.name,
            "text": text,
            "event_time": vendor_time(
                first(data, "updated_at" if comment_id else "created_at", "created_at"),
                received=received,
            ).isoformat(),
            "author": text_id(
                first(data, "requester_id", "requester_email", "requester_full_name", "requester")
            ),
            "customer_id": text_id(
                first(data, "organization_id", "customer_id", "requester_external_id")
            ),
            "priority": first(data, "ticket_priority", "priority"),
            "tags": first(data, "tags", "ticket_tags"),
            "product": first(data, "product", "ticket_product", "brand"),
            "url": first(data, "link", "ticket_url", "url"),
        }
        if ticket_id:
            mention["external_id"] = f"{ticket_id}:{comment_id}" if comment_id else ticket_id
        return [{k: v for k, v in mention.items() if v is not None}]
