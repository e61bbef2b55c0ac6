"""Customer records from CSV, JSON or JSON Lines, validated and upserted by external id.

One flat record per customer (the same field names in every format)::

    external_id, locale, timezone, region, plan, lifetime_value, signup_date, last_activity,
    email, phone, webhook_url, tags (separated by ';' or spaces),
    slack_channel, email_consent_at, email_consent_method, email_revoked_at (and the same for
    sms, webhook, slack)

A channel without ``<channel>_consent_at`` has no consent: nothing is sent on it. An import
can grant or withdraw consent, but never clears a withdrawal (an opt-out stays an opt-out).
A record for a known external id updates only the fields it carries.
"""

from __future__ import annotations

import csv
import json
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator
from sqlalchemy import Engine, func
from sqlmodel import Session, col, select

from monitor.privacy import Pseudonymiser, customer_pseudonym
from monitor.storage.db import insert_for, session_scope
from playbooks import consent_history
from playbooks.consent_history import How, UnknownCustomer
from playbooks.models import SUBSCRIBER_PREFIX, Consent, Customer
from playbooks.person import ERASED_PREFIX

CHANNELS = ("email", "sms", "webhook", "slack")
BATCH = 500


class CustomerFileError(RuntimeError):
    """The file cannot be read at all; one line."""


class ChannelConsentIn(BaseModel):
    granted_at: datetime | None = None
    method: str | None = None
    revoked_at: datetime | None = None


class CustomerIn(BaseModel):
    """One customer as a file or the API gives it."""

    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)

    external_id: str = Field(min_length=1, max_length=200)
    locale: str = Field(default="en", pattern=r"^[a-z]{2}([-_][A-Za-z]{2})?$")
    timezone: str = "UTC"
    region: str | None = Field(default=None, max_length=64)
    plan: str | None = Field(default=None, max_length=64)
    lifetime_value: float = Field(default=0.0, ge=0)
    signup_date: datetime | None = None
    last_activity: datetime | None = None
    email: str | None = Field(default=None, pattern=r"^[^@\s]+@[^@\s]+\.[^@\s]+$")
    phone: str | None = Field(default=None, pattern=r"^\+[1-9][0-9]{6,14}$")
    webhook_url: str | None = Field(default=None, pattern=r"^https?://\S+$", max_length=2000)
    # A Slack Connect channel shared with the customer: its id (C…) or #name.
    slack_channel: str | None = Field(
        default=None, pattern=r"^(#[a-z0-9_-]{1,80}|[CG][A-Z0-9]{6,20})$"
    )
    tags: list[str] = Field(default_factory=list)
    consent: dict[str, ChannelConsentIn] = Field(default_factory=dict)

    @field_validator("timezone")
    @classmethod
    def _known_zone(cls, value: str) -> str:
        try:
            ZoneInfo(value)
        except (ZoneInfoNotFoundError, ValueError):
            raise ValueError(f"unknown time zone {value!r} (use an IANA name)") from None
        return value

    @field_validator("signup_date", "last_activity")
    @classmethod
    def _aware(cls, value: datetime | None) -> datetime | None:
        return value.replace(tzinfo=UTC) if value and value.tzinfo is None else value

    @field_validator("locale")
    @classmethod
    def _normal_locale(cls, value: str) -> str:
        return value.replace("_", "-")


def from_flat(raw: dict[str, Any]) -> CustomerIn:
    """A flat record (CSV row or JSON object) to `CustomerIn`; empty cells are missing."""
    record = {k.strip(): v for k, v in raw.items() if k and v not in (None, "")}
    tags = record.pop("tags", [])
    if isinstance(tags, str):
        tags = tags.replace(";", " ").split()
    consent: dict[str, dict[str, Any]] = {}
    for channel in CHANNELS:
        for suffix, key in (("consent_at", "granted_at"), ("consent_method", "method")):
            if f"{channel}_{suffix}" in record:
                consent.setdefault(channel, {})[key] = record.pop(f"{channel}_{suffix}")
        if f"{channel}_revoked_at" in record:
            consent.setdefault(channel, {})["revoked_at"] = record.pop(f"{channel}_revoked_at")
    return CustomerIn.model_validate({**record, "tags": tags, "consent": consent})


@dataclass
class ImportReport:
    imported: int = 0
    rejected: list[tuple[int, str]] = field(default_factory=list)  # (line, reason)


def read_records(path: Path) -> Iterator[tuple[int, dict[str, Any] | str]]:
    """(line number, record or the reason it is unreadable) for each record in the file."""
    suffix = path.suffix.lower()
    try:
        if suffix == ".csv":
            with path.open(newline="", encoding="utf-8") as handle:
                reader = csv.DictReader(handle)
                if not reader.fieldnames or "external_id" not in reader.fieldnames:
                    raise CustomerFileError(f"{path}: the CSV header has no external_id column")
                for row in reader:
                    yield reader.line_num, row
        elif suffix in {".jsonl", ".ndjson"}:
            with path.open(encoding="utf-8") as handle:
                for number, line in enumerate(handle, start=1):
                    if line.strip():
                        try:
                            yield number, _object(json.loads(line))
                        except (json.JSONDecodeError, ValueError) as exc:
                            yield number, f"not a JSON object: {exc}"
        elif suffix == ".json":
            items = json.loads(path.read_text(encoding="utf-8"))
            if not isinstance(items, list):
                raise CustomerFileError(f"{path}: expected a JSON array of customers")
            for number, item in enumerate(items, start=1):
                yield number, item if isinstance(item, dict) else "not a JSON object"
        else:
            raise CustomerFileError(f"{path}: unsupported file type (use .csv, .json or .jsonl)")
    except OSError as exc:
        raise CustomerFileError(f"cannot read {path}: {exc.strerror or exc}") from exc
    except (json.JSONDecodeError, UnicodeDecodeError) as exc:
        raise CustomerFileError(f"{path}: not valid JSON: {exc}") from exc


def _object(value: Any) -> dict[str, Any]:
    if not isinstance(value, dict):
        raise ValueError("not an object")
    return value


def describe(exc: ValidationError) -> str:
    first = exc.errors()[0]
    where = ".".join(str(p) for p in first["loc"])
    message = str(first["msg"]).removeprefix("Value error, ")
    return f"{where}: {message}" if where else message


def import_file(
    engine: Engine,
    *,
    path: Path,
    now: datetime,
    on_progress: Callable[[int], None] | None = None,
    pseudonymiser: Pseudonymiser | None = None,
    who: str = "import",
) -> ImportReport:
    """Validate and upsert every customer in ``path``; rejected rows are reported, not fatal.
    ``who`` is recorded in the consent history with every change the file makes."""
    report = ImportReport()

    def flush(customers: list[CustomerIn]) -> int:
        return upsert(engine, customers=customers, now=now, pseudonymiser=pseudonymiser, who=who)

    batch: list[CustomerIn] = []
    for line, record in read_records(path):
        if isinstance(record, str):
            report.rejected.append((line, record))
        else:
            try:
                batch.append(from_flat(record))
            except ValidationError as exc:
                report.rejected.append((line, describe(exc)))
        if len(batch) >= BATCH:
            report.imported += flush(batch)
            batch = []
        if on_progress:
            on_progress(1)
    if batch:
        report.imported += flush(batch)
    return report


def upsert(
    engine: Engine,
    *,
    customers: list[CustomerIn],
    now: datetime,
    pseudonymiser: Pseudonymiser | None = None,
    how: How = "import",
    who: str = "import",
) -> int:
    """Insert or update customers by external id, with their consents, in one transaction.

    With a keyed ``pseudonymiser`` each customer also gets the pseudonym mentions carry for
    them, so mentions are attributed to their segments (`playbooks.attribution`). Each consent
    granted, renewed or withdrawn is recorded in the consent history as made by ``who``, ``how``.
    """
    keyed = pseudonymiser if pseudonymiser is not None and pseudonymiser.key else None
    table = Customer.__table__  # type: ignore[attr-defined]
    consents = Consent.__table__  # type: ignore[attr-defined]
    latest = {c.external_id: c for c in customers}  # the last record of an id wins
    with session_scope(engine) as session:
        for item in sorted(latest.values(), key=lambda c: c.external_id):
            values = item.model_dump(exclude={"consent", "tags"})
            values["tags"] = " " + " ".join(sorted(set(item.tags))) + " "
            values["updated_at"] = now
            given = item.model_fields_set - {"consent", "external_id"}
            if keyed is not None:
                values["pseudonym"] = customer_pseudonym(keyed, item.external_id)
                given = given | {"pseudonym"}
            stmt = insert_for(session, table).values(**values)
            # A record updates only the fields it carries; the others keep their values.
            stmt = stmt.on_conflict_do_update(
                index_elements=["external_id"],
                set_={k: stmt.excluded[k] for k in values if k in given or k == "updated_at"},
            )
            session.execute(stmt)
            customer_id = session.execute(
                select(table.c.id).where(table.c.external_id == item.external_id)
            ).scalar_one()
            before = consents_of(session, customer_id=customer_id) if item.consent else {}
            for channel, consent in sorted(item.consent.items()):
                if channel not in CHANNELS or consent.granted_at is None:
                    continue
                _record_changes(
                    session,
                    customer_id=customer_id,
                    channel=channel,
                    before=before.get(channel),
                    given=consent,
                    how=how,
                    who=who,
                    now=now,
                )
                row = {
                    "customer_id": customer_id,
                    "channel": channel,
                    "granted_at": _utc(consent.granted_at),
                    "method": consent.method or "import",
                    "revoked_at": _utc(consent.revoked_at) if consent.revoked_at else None,
                }
                ins = insert_for(session, consents).values(**row)
                session.execute(
                    ins.on_conflict_do_update(
                        index_elements=["customer_id", "channel"],
                        set_={
                            "granted_at": ins.excluded.granted_at,
                            "method": ins.excluded.method,
                            "revoked_at": func.coalesce(
                                consents.c.revoked_at, ins.excluded.revoked_at
                            ),
                        },
                    )
                )
    return len(latest)


def _record_changes(
    session: Session,
    *,
    customer_id: int,
    channel: str,
    before: Consent | None,
    given: ChannelConsentIn,
    how: How,
    who: str,
    now: datetime,
) -> None:
    """History rows for what an upsert of ``given`` changes: a new or renewed grant, unless a
    withdrawal stands (an import never clears one); a withdrawal not recorded before."""
    assert given.granted_at is not None
    granted = _utc(given.granted_at)
    method = given.method or "import"
    withdrawn = before is not None and before.revoked_at is not None
    if not withdrawn and (
        before is None or before.granted_at != granted or before.method != method
    ):
        consent_history.record(
            session,
            customer_id=customer_id,
            channel=channel,
            change="granted",
            how=how,
            who=who,
            effective_at=granted,
            recorded_at=now,
            method=method,
        )
    if given.revoked_at is not None and not withdrawn:
        consent_history.record(
            session,
            customer_id=customer_id,
            channel=channel,
            change="withdrawn",
            how=how,
            who=who,
            effective_at=_utc(given.revoked_at),
            recorded_at=now,
        )


def _utc(value: datetime) -> datetime:
    return value.replace(tzinfo=UTC) if value.tzinfo is None else value


def all_customers(session: Session) -> list[Customer]:
    """Every customer; segments are evaluated over them in Python, so they are always current.
    Erased customers (`playbooks.erasure`) are rows without a person: not among them; nor are
    the status page's email subscribers (`playbooks.status_subscribers`), who asked for
    status updates only."""
    query = select(Customer).where(
        col(Customer.external_id).not_like(f"{ERASED_PREFIX}%"),
        col(Customer.external_id).not_like(f"{SUBSCRIBER_PREFIX}%"),
    )
    return list(session.exec(query.order_by(col(Customer.id))).all())


def consents_of(session: Session, *, customer_id: int) -> dict[str, Consent]:
    rows = session.exec(select(Consent).where(Consent.customer_id == customer_id)).all()
    return {row.channel: row for row in rows}


def revoke(
    engine: Engine, *, customer_id: int, channel: str, now: datetime, how: How, who: str
) -> bool:
    """Record an opt-out, in force before the next send; True when consent was active before."""
    with session_scope(engine) as session:
        row = session.get(Consent, (customer_id, channel))
        if row is None or row.revoked_at is not None:
            return False
        row.revoked_at = now
        session.add(row)
        consent_history.record(
            session,
            customer_id=customer_id,
            channel=channel,
            change="withdrawn",
            how=how,
            who=who,
            effective_at=now,
            recorded_at=now,
        )
        return True


def grant(
    engine: Engine, *, customer_id: int, channel: str, method: str, now: datetime, who: str
) -> bool:
    """An admin records consent the customer gave (again, after a withdrawal too); True when
    it was not in force before. `UnknownCustomer` when there is no such customer."""
    with session_scope(engine) as session:
        if session.get(Customer, customer_id) is None:
            raise UnknownCustomer(f"no customer with id {customer_id}")
        row = session.get(Consent, (customer_id, channel))
        if row is not None and row.revoked_at is None:
            return False
        row = row or Consent(customer_id=customer_id, channel=channel, granted_at=now, method="")
        row.granted_at, row.method, row.revoked_at = now, method[:200], None
        session.add(row)
        consent_history.record(
            session,
            customer_id=customer_id,
            channel=channel,
            change="granted",
            how="admin",
            who=who,
            effective_at=now,
            recorded_at=now,
            method=method,
        )
        return True


def customers_with_phone(engine: Engine, *, phone: str) -> list[int]:
    with Session(engine) as session:
        rows = session.exec(select(Customer.id).where(Customer.phone == phone)).all()
    return [int(r) for r in rows if r is not None]
