"""One person across the tables: their customer row, the pseudonyms that link their mentions,
and the other rows that still carry one of their identifiers.

Export (`playbooks.export`) and erasure (`playbooks.erasure`) both start here, so what one
shows is exactly what the other removes.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass

from sqlalchemy import func, or_
from sqlmodel import Session, col, select

from monitor.privacy import CUSTOMER_ID, Pseudonymiser, customer_pseudonym
from monitor.storage.models import ERASED_TEXT, AuditEntry, DeadLetter, InboxEntry, Mention
from playbooks.models import Customer, Delivery

# An erased customer keeps its row (so its id is never given to someone else, and the audit
# log's "customer:ID" keeps meaning "the person who was erased"), renamed to this prefix + id.
ERASED_PREFIX = "erased:"
AUTHOR = "author"  # the pseudonym kind of mention authors (streams.mentions)
MAX_REF = 200  # the longest external id an import accepts
MAX_ID = 2**31 - 1  # customers.id is an INTEGER: PostgreSQL refuses more, SQLite overflows
_CHUNK = 500  # ids per IN (...): well under every driver's bound-parameter limit


class UnknownCustomer(LookupError):
    """No customer has that id; one line."""


class PseudonymKeyNeeded(RuntimeError):
    """Export or erasure without the pseudonym key: their mentions (linked by keyed pseudonyms)
    cannot be found, so it would miss them and say nothing; one line."""


def keyed(pseudonymiser: Pseudonymiser | None, what: str) -> Pseudonymiser:
    """``pseudonymiser`` if it has a key, else `PseudonymKeyNeeded` (before anything is done)."""
    if pseudonymiser is None or not pseudonymiser.key:
        raise PseudonymKeyNeeded(
            f"{what} needs the pseudonym key to find their mentions: set "
            "CRISISMON_PSEUDONYM_KEY to the key the workers use (nothing was done)"
        )
    return pseudonymiser


@dataclass(frozen=True, slots=True)
class Person:
    """Who to look for: the customer row and every string that identifies them."""

    customer: Customer
    # The ids their mentions carry: the customer-id pseudonym, and the author pseudonyms of
    # their external id, email and phone (a ticket's requester is often the email).
    pseudonyms: tuple[str, ...]
    # Strings that name them in free text (dead-letter payloads, previews): the above, plus
    # external id, email, phone and addresses.
    identifiers: tuple[str, ...]

    @property
    def customer_id(self) -> int:
        assert self.customer.id is not None
        return self.customer.id


def find_customer(session: Session, ref: str) -> Customer:
    """The customer with external id ``ref``, else with internal id ``ref``; erased ones not."""
    ref = ref.strip()
    if not ref or len(ref) > MAX_REF or any(ord(c) < 32 for c in ref):
        # Not an id anyone was imported with (PostgreSQL would even refuse a NUL in a query).
        raise UnknownCustomer(f"no customer {ref[:MAX_REF]!r}")
    row = session.exec(select(Customer).where(Customer.external_id == ref)).first()
    if row is None and (internal := internal_id(ref)) is not None:
        row = session.get(Customer, internal)
    if row is None or row.external_id.startswith(ERASED_PREFIX):
        gone = row is not None
        raise UnknownCustomer(
            f"customer {ref!r} was erased already" if gone else f"no customer {ref!r}"
        )
    return row


def internal_id(ref: str) -> int | None:
    """``ref`` as an internal customer id: ASCII digits within the column's range, else None.

    >>> internal_id("42"), internal_id("²"), internal_id("9" * 30), internal_id("-1")
    (42, None, None, None)
    """
    if not (ref.isascii() and ref.isdigit()) or len(ref) > len(str(MAX_ID)):
        return None
    value = int(ref)
    return value if value <= MAX_ID else None


def person_of(customer: Customer, pseudonymiser: Pseudonymiser | None) -> Person:
    """Everything that identifies ``customer``; pseudonyms only with a keyed pseudonymiser."""
    pseudonyms: list[str] = [customer.pseudonym] if customer.pseudonym else []
    if pseudonymiser is not None and pseudonymiser.key:
        pseudonyms.append(customer_pseudonym(pseudonymiser, customer.external_id))
        for value in (customer.external_id, customer.email, customer.phone):
            if value:
                pseudonyms.append(pseudonymiser.pseudonym(AUTHOR, value))
        if customer.email:  # some sources carry the email as the customer id
            pseudonyms.append(pseudonymiser.pseudonym(CUSTOMER_ID, customer.email))
    clear = [customer.external_id, customer.email, customer.phone]
    if customer.phone:
        clear.append(customer.phone.lstrip("+"))  # as gateways often write it
    clear += [customer.webhook_url, customer.slack_channel]
    unique_pseudonyms = tuple(dict.fromkeys(pseudonyms))
    identifiers = tuple(dict.fromkeys([v for v in clear if v] + list(unique_pseudonyms)))
    return Person(customer=customer, pseudonyms=unique_pseudonyms, identifiers=identifiers)


def names_them(text: str, identifiers: Iterable[str]) -> bool:
    """True when ``text`` holds one of ``identifiers`` as a whole token, case-insensitively.

    >>> names_them('{"email": "Ana@Example.com"}', ["ana@example.com"])
    True
    >>> names_them("order C-10012 shipped", ["C-1001"])
    False
    """
    return any(_token(identifier).search(text) for identifier in identifiers)


def scrub(text: str, identifiers: Iterable[str], placeholder: str = ERASED_TEXT) -> str:
    """``text`` with every identifier replaced by ``placeholder``.

    >>> scrub("refused <ana@example.com>: no such user", ["ana@example.com"])
    'refused <[ERASED]>: no such user'
    """
    for identifier in identifiers:
        text = _token(identifier).sub(placeholder, text)
    return text


def _token(identifier: str) -> re.Pattern[str]:
    return re.compile(r"(?<!\w)" + re.escape(identifier) + r"(?!\w)", re.IGNORECASE)


def chunks(values: Sequence[str], size: int = _CHUNK) -> Iterable[Sequence[str]]:
    for start in range(0, len(values), size):
        yield values[start : start + size]


def linked_mention_ids(session: Session, person: Person) -> list[str]:
    """Mentions by them (customer id or author pseudonym), and near-duplicate copies of those."""
    if not person.pseudonyms:
        return []
    own = list(
        session.exec(
            select(Mention.mention_id).where(
                or_(
                    col(Mention.customer_id).in_(person.pseudonyms),
                    col(Mention.author).in_(person.pseudonyms),
                )
            )
        ).all()
    )
    copies: list[str] = []
    for part in chunks(sorted(own)):
        copies += session.exec(
            select(Mention.mention_id).where(col(Mention.canonical_id).in_(part))
        ).all()
    return sorted(set(own) | set(copies))


def mentions_by_id(session: Session, mention_ids: Sequence[str]) -> list[Mention]:
    found: list[Mention] = []
    for part in chunks(list(mention_ids)):
        found += session.exec(select(Mention).where(col(Mention.mention_id).in_(part))).all()
    return sorted(found, key=lambda m: (m.event_time, m.mention_id))


def dead_letters_of(session: Session, person: Person) -> list[DeadLetter]:
    """Dead letters whose payload or reason still names them (raw payloads kept by retention,
    or redacted ones that carry their external id or a pseudonym)."""
    if not person.identifiers:
        return []
    lowered = [i.casefold() for i in person.identifiers]
    candidates = session.exec(
        select(DeadLetter).where(
            or_(
                *[func.lower(DeadLetter.payload).contains(i, autoescape=True) for i in lowered],
                *[func.lower(DeadLetter.reason).contains(i, autoescape=True) for i in lowered],
            )
        )
    ).all()
    return [
        row
        for row in candidates
        if names_them(row.payload, person.identifiers) or names_them(row.reason, person.identifiers)
    ]


def inbox_of(session: Session, person: Person, mention_ids: Sequence[str]) -> list[InboxEntry]:
    """Inbox rows of their mentions, and accepted ones not ingested yet that carry them."""
    rows: dict[str, InboxEntry] = {}
    for part in chunks(list(mention_ids)):
        for row in session.exec(select(InboxEntry).where(col(InboxEntry.mention_id).in_(part))):
            rows[row.mention_id] = row
    if person.pseudonyms:
        carrying = session.exec(
            select(InboxEntry).where(
                or_(*[col(InboxEntry.payload).contains(p) for p in person.pseudonyms])
            )
        ).all()
        rows.update({row.mention_id: row for row in carrying})
    return [rows[k] for k in sorted(rows)]


def deliveries_of(session: Session, customer_id: int) -> list[Delivery]:
    query = select(Delivery).where(Delivery.customer_id == customer_id).order_by(col(Delivery.id))
    return list(session.exec(query).all())


def audit_entries_of(
    session: Session, customer_id: int, deliveries: Sequence[Delivery]
) -> list[AuditEntry]:
    """Entries about them: their opt-outs and erasure (customer:ID), and their deliveries."""
    subjects = [f"customer:{customer_id}"] + [f"delivery:{d.idempotency_key}" for d in deliveries]
    found: dict[int, AuditEntry] = {}
    for part in chunks(subjects):
        query = select(AuditEntry).where(
            or_(col(AuditEntry.subject).in_(part), col(AuditEntry.actor).in_(part))
        )
        for entry in session.exec(query):
            assert entry.id is not None
            found[entry.id] = entry
    return [found[k] for k in sorted(found)]
