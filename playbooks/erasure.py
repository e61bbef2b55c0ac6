"""Erase one person: every personal field in every table, in one transaction.

What goes, and what stays:

- their customer row keeps only its id, renamed ``erased:ID`` with every other field emptied,
  so the id is never given to someone else and the audit log's ``customer:ID`` keeps meaning
  "the person who was erased"; segments never include it (`playbooks.customers`);
- their consents (and consent history, where that table exists) are deleted;
- their deliveries keep id, channel, status and times (the counts that reports show); pending
  ones are cancelled; errors that could quote an address are dropped;
- drafts whose preview was rendered for them get the preview removed;
- their mentions (by customer-id or author pseudonym) and copies of them: text becomes
  "[ERASED]", and author, customer id, URL, tags, attributes, sentiment drivers and the
  source's own id are cleared. Window aggregates keep their counts, so detection is unchanged;
  the near-duplicate signatures of those texts are deleted;
- terms only they used are forgotten by the term baselines and anomalies, and quotes of their
  texts leave alert texts (`playbooks.erasure_text`);
- inbox rows of their mentions are deleted, and dead letters that name them lose the payload;
- the audit log gets one "erase" entry with counts only. Its existing entries name them only
  by the internal id; they cannot be changed without breaking the hash chain.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from datetime import datetime
from typing import Any

from sqlalchemy import Engine, delete, inspect, update
from sqlmodel import Session, col, select

from monitor import audit
from monitor.privacy import Pseudonymiser
from monitor.storage.db import session_scope
from monitor.storage.models import ERASED_TEXT as ERASED
from monitor.storage.models import (
    InboxEntry,
    Mention,
    NearDuplicateBand,
    NearDuplicateSignature,
)
from monitor.storage.search_index import purge_replaced_texts
from playbooks.erasure_text import scrub_derived
from playbooks.models import Consent, Customer, Draft
from playbooks.person import (
    ERASED_PREFIX,
    Person,
    chunks,
    dead_letters_of,
    deliveries_of,
    find_customer,
    inbox_of,
    keyed,
    linked_mention_ids,
    mentions_by_id,
    names_them,
    person_of,
    scrub,
)

PREVIEW_GONE = "(preview removed: the customer it was rendered for was erased)"


@dataclass
class ErasureReport:
    """What was erased, per table; no identifier of the person is in it."""

    customer_id: int
    mentions: int = 0
    consents: int = 0
    consent_history: int = 0
    deliveries: int = 0
    cancelled: int = 0
    drafts: int = 0
    dead_letters: int = 0
    inbox: int = 0
    near_duplicates: int = 0
    derived: dict[str, int] = field(default_factory=dict)
    audit_entry: int | None = None

    def as_dict(self) -> dict[str, Any]:
        return asdict(self)


def erase_person(
    engine: Engine,
    *,
    ref: str,
    pseudonymiser: Pseudonymiser | None,
    actor: str,
    now: datetime,
) -> ErasureReport:
    """Erase the customer with external (or internal) id ``ref``; `UnknownCustomer` if none.

    `PseudonymKeyNeeded` without a keyed ``pseudonymiser``: the pseudonyms that link their
    mentions need the key, and an erasure that missed them could not be done again.
    """
    keyed_pseudonymiser = keyed(pseudonymiser, "erasure")
    with session_scope(engine) as session:
        person = person_of(find_customer(session, ref), keyed_pseudonymiser)
        report = ErasureReport(customer_id=person.customer_id)
        mention_ids = linked_mention_ids(session, person)
        mentions = mentions_by_id(session, mention_ids)
        report.derived = {
            k: v for k, v in asdict(scrub_derived(session, mentions=mentions)).items()
        }
        report.mentions = _erase_mentions(session, mention_ids)
        report.near_duplicates = _drop_near_duplicates(session, mention_ids)
        report.inbox = _drop_inbox(session, person, mention_ids)
        report.dead_letters = _erase_dead_letters(session, person)
        report.deliveries, report.cancelled = _erase_deliveries(session, person)
        report.drafts = _erase_previews(session, person)
        report.consents, report.consent_history = _drop_consents(session, person.customer_id)
        _tombstone(session, person.customer)
        entry = audit.append(
            session,
            actor=actor,
            action="erase",
            subject=f"customer:{person.customer_id}",
            detail={k: v for k, v in report.as_dict().items() if k != "audit_entry"},
            now=now,
        )
        report.audit_entry = entry.id
    return report


def _erase_mentions(session: Session, mention_ids: list[str]) -> int:
    table = Mention.__table__  # type: ignore[attr-defined]
    erased = 0
    for part in chunks(mention_ids):
        erased += session.execute(
            update(table)
            .where(table.c.mention_id.in_(part))
            .values(
                text=ERASED,
                text_truncated=False,
                external_id=ERASED,
                author=None,
                customer_id=None,
                url=None,
                tags=None,
                attributes=None,
                sentiment_drivers=None,
            )
        ).rowcount  # type: ignore[attr-defined]
    if erased:
        purge_replaced_texts(session)  # the erased words leave the full-text index too
    return erased


def _drop_near_duplicates(session: Session, mention_ids: list[str]) -> int:
    """MinHash signatures and LSH bands are derived from the text: they go with it."""
    dropped = 0
    for model in (NearDuplicateSignature, NearDuplicateBand):
        for part in chunks(mention_ids):
            dropped += session.execute(
                delete(model).where(col(model.mention_id).in_(part))
            ).rowcount  # type: ignore[attr-defined]
    return dropped


def _drop_inbox(session: Session, person: Person, mention_ids: list[str]) -> int:
    rows = inbox_of(session, person, mention_ids)
    for part in chunks([r.mention_id for r in rows]):
        session.execute(delete(InboxEntry).where(col(InboxEntry.mention_id).in_(part)))
    return len(rows)


def _erase_dead_letters(session: Session, person: Person) -> int:
    """The reason stays (what went wrong), with their identifiers taken out; the payload goes."""
    rows = dead_letters_of(session, person)
    for row in rows:
        row.payload = ERASED
        row.payload_redacted = True
        row.raw_expires_at = None
        row.reason = scrub(row.reason, person.identifiers, ERASED)
        session.add(row)
    return len(rows)


def _erase_deliveries(session: Session, person: Person) -> tuple[int, int]:
    rows = deliveries_of(session, person.customer_id)
    cancelled = 0
    for row in rows:
        if row.status == "pending":
            row.status, row.reason = "cancelled", "recipient erased"
            cancelled += 1
        row.last_error = None  # an SMTP refusal quotes the address
        session.add(row)
    return len(rows), cancelled


def _erase_previews(session: Session, person: Person) -> int:
    """A draft's preview is rendered for one recipient, and names them."""
    identifiers = person.identifiers
    query = select(Draft).where(col(Draft.preview).contains(person.customer.external_id))
    changed = 0
    for draft in session.exec(query).all():
        if names_them(draft.preview, identifiers):
            draft.preview = PREVIEW_GONE
            session.add(draft)
            changed += 1
    return changed


def _drop_consents(session: Session, customer_id: int) -> tuple[int, int]:
    """Their consents, and any consent-history table's rows for them."""
    consents = session.execute(
        delete(Consent).where(col(Consent.customer_id) == customer_id)
    ).rowcount  # type: ignore[attr-defined]
    history = 0
    inspector = inspect(session.connection())
    for name in sorted(inspector.get_table_names()):
        if "consent" not in name or name == Consent.__tablename__:
            continue
        columns = {c["name"] for c in inspector.get_columns(name)}
        if "customer_id" in columns:
            table = _reflect(session, name)
            history += session.execute(
                delete(table).where(table.c.customer_id == customer_id)
            ).rowcount  # type: ignore[attr-defined]
    return consents, history


def _reflect(session: Session, name: str) -> Any:
    from sqlalchemy import MetaData, Table

    return Table(name, MetaData(), autoload_with=session.connection())


def _tombstone(session: Session, customer: Customer) -> None:
    """Keep the id, empty everything else (see the module docstring for why)."""
    customer.external_id = f"{ERASED_PREFIX}{customer.id}"
    customer.pseudonym = None
    customer.locale, customer.timezone = "en", "UTC"
    customer.region = customer.plan = None
    customer.lifetime_value = 0.0
    customer.signup_date = customer.last_activity = None
    customer.email = customer.phone = customer.webhook_url = customer.slack_channel = None
    customer.tags = " "
    session.add(customer)
