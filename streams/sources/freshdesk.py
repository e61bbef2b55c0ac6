"""Freshdesk ticket webhooks. Freshdesk does not sign its webhooks, so we ask for a secret.

Freshdesk's automation rules can send custom headers and HTTP Basic credentials with a webhook.
Configure either (README.md, "Freshdesk"):

- a custom header ``X-Crisismon-Secret: <secret>``, or
- Basic authentication with any user name and the secret as the password.

Both are compared in constant time. Use HTTPS: the secret travels with every request.

The body is the one Freshdesk's "Trigger webhook" action sends with the ``freshdesk_webhook``
placeholders. Every event about a ticket (created, status or priority changed, a note added)
maps to the same mention, the ticket itself, so it is stored once.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime

from streams.sources import BadSignature, Ignored, RateLimit, RawMention
from streams.sources.fields import first, require_object, subject_and_body, text_id, vendor_time
from streams.sources.signing import basic_auth_password, header, load_json, same

SECRET_HEADER = "X-Crisismon-Secret"


@dataclass(frozen=True, slots=True)
class FreshdeskSource:
    name: str
    secret: bytes
    kind: str = "freshdesk"
    needs_pseudonym_key: bool = True
    max_body_bytes: int = 256 * 1024
    rate_limit: RateLimit = field(default_factory=RateLimit)

    def verify(self, headers: Mapping[str, str], body: bytes, *, now: datetime) -> None:
        secret = self.secret.decode()
        given = header(headers, SECRET_HEADER)
        if given is None:
            given = basic_auth_password(header(headers, "Authorization"))
        if given is None:
            raise BadSignature(f"missing {SECRET_HEADER} header or Basic authorization")
        if not same(secret, given):
            raise BadSignature("the shared secret does not match")

    def parse(self, body: bytes, *, received: datetime) -> list[RawMention]:
        outer = require_object(load_json(body), "a Freshdesk webhook body")
        data = require_object(outer.get("freshdesk_webhook", outer), "freshdesk_webhook")
        ticket_id = text_id(first(data, "ticket_id"))
        if ticket_id is None:
            raise Ignored("no ticket_id: not a ticket event")
        mention: RawMention = {
            "source": self.name,
            "external_id": ticket_id,
            "text": subject_and_body(
                first(data, "ticket_subject"), first(data, "ticket_description")
            ),
            "event_time": vendor_time(
                first(data, "ticket_created_at", "created_at"), received=received
            ).isoformat(),
            "author": text_id(
                first(data, "requester_id", "requester_email", "requester_name", "requester")
            ),
            "customer_id": text_id(first(data, "ticket_company_id", "company_id", "customer_id")),
            "priority": first(data, "ticket_priority", "priority"),
            "tags": first(data, "ticket_tags", "tags"),
            "product": first(data, "ticket_product", "product"),
            "url": first(data, "ticket_url", "url"),
        }
        return [{k: v for k, v in mention.items() if v is not None}]
