"""The append-only audit log: every approval, edit, send and suppression, hash-chained.

Each row's hash covers its own fields and the previous row's hash, so changing, inserting or
deleting a row in the middle breaks every hash after it (``crisismon audit verify``). Deleting
rows at the very end is not detectable from the table alone: keep a copy of the latest hash
elsewhere if that matters.

With ``CRISISMON_AUDIT_KEY`` set, the hash is an HMAC-SHA256 keyed by it, so someone who can
write the database but does not have the key cannot rewrite the chain undetected. Rows written
before the key was set keep their plain SHA-256 and still verify, reported as unkeyed; once a
keyed row exists, an unkeyed row after it is a problem (it was written without the key).
"""

from __future__ import annotations

import hashlib
import hmac
import json
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import Engine, text
from sqlmodel import Session, col, select

from monitor.storage.models import AuditEntry

GENESIS = "0" * 64
# Any fixed number: appends on PostgreSQL take turns, so each reads the true tail.
_PG_AUDIT_LOCK = 0x6175_6469


def _digest(
    prev: str,
    *,
    at: datetime,
    actor: str,
    action: str,
    subject: str,
    detail: str,
    key: bytes | None = None,
) -> str:
    body = json.dumps(
        [prev, at.astimezone(UTC).isoformat(), actor, action, subject, detail],
        ensure_ascii=False,
        separators=(",", ":"),
    ).encode("utf-8", "replace")
    if key:
        return hmac.new(key, body, hashlib.sha256).hexdigest()
    return hashlib.sha256(body).hexdigest()


def configured_key() -> bytes | None:
    """CRISISMON_AUDIT_KEY as bytes, or None when it is not set."""
    from monitor.settings import get_settings

    key = get_settings().audit_key
    return key.get_secret_value().encode() if key else None


def append(
    session: Session,
    *,
    actor: str,
    action: str,
    subject: str,
    detail: dict[str, Any],
    now: datetime,
    key: bytes | None = None,
) -> AuditEntry:
    """Add one row in the caller's transaction, after the current tail; its hash is keyed by
    ``key``, by default CRISISMON_AUDIT_KEY."""
    key = key if key is not None else configured_key()
    if session.get_bind().dialect.name == "postgresql":
        session.execute(text("SELECT pg_advisory_xact_lock(:k)"), {"k": _PG_AUDIT_LOCK})
    else:
        # Take SQLite's write lock before reading the tail, so no one appends in between.
        session.execute(text("UPDATE audit_log SET id = id WHERE 1 = 0"))
    last = session.exec(select(AuditEntry).order_by(col(AuditEntry.id).desc()).limit(1)).first()
    prev = last.hash if last else GENESIS
    at = now.astimezone(UTC)
    blob = json.dumps(detail, ensure_ascii=False, sort_keys=True, default=str)
    entry = AuditEntry(
        at=at,
        actor=actor,
        action=action,
        subject=subject,
        detail=blob,
        prev_hash=prev,
        hash=_digest(
            prev, at=at, actor=actor, action=action, subject=subject, detail=blob, key=key
        ),
    )
    session.add(entry)
    session.flush()
    return entry


@dataclass(slots=True)
class ChainCheck:
    """What `check` found: rows in all, how many carry a keyed HMAC, and the problems."""

    rows: int = 0
    keyed: int = 0
    problems: list[str] = field(default_factory=list)

    @property
    def unkeyed(self) -> int:
        return self.rows - self.keyed


def check(engine: Engine, *, key: bytes | None = None) -> ChainCheck:
    """Recompute the chain with ``key`` (default CRISISMON_AUDIT_KEY)."""
    key = key if key is not None else configured_key()
    found = ChainCheck()
    prev = GENESIS
    with Session(engine) as session:
        for entry in session.exec(select(AuditEntry).order_by(col(AuditEntry.id))):
            found.rows += 1
            if entry.prev_hash != prev:
                found.problems.append(f"row {entry.id}: does not follow the row before it")
            if key and entry.hash == _row_digest(entry, key):
                found.keyed += 1
            elif entry.hash == _row_digest(entry, None):
                if found.keyed:
                    found.problems.append(
                        f"row {entry.id}: not keyed after keyed rows (written without "
                        "CRISISMON_AUDIT_KEY)"
                    )
            elif key:
                found.problems.append(f"row {entry.id}: content changed since it was written")
            else:
                found.problems.append(
                    f"row {entry.id}: content changed since it was written (or it is keyed: "
                    "set CRISISMON_AUDIT_KEY to verify it)"
                )
            prev = entry.hash
    return found


def _row_digest(entry: AuditEntry, key: bytes | None) -> str:
    return _digest(
        entry.prev_hash,
        at=entry.at,
        actor=entry.actor,
        action=entry.action,
        subject=entry.subject,
        detail=entry.detail,
        key=key,
    )


def verify(engine: Engine, *, key: bytes | None = None) -> tuple[int, list[str]]:
    """(rows checked, problems); no problems means the chain is intact."""
    found = check(engine, key=key)
    return found.rows, found.problems


def entries(engine: Engine, *, subject_prefix: str = "") -> list[AuditEntry]:
    with Session(engine) as session:
        query = select(AuditEntry).order_by(col(AuditEntry.id))
        if subject_prefix:
            query = query.where(col(AuditEntry.subject).startswith(subject_prefix))
        return list(session.exec(query).all())
