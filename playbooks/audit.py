"""The append-only audit log: every approval, edit, send and suppression, hash-chained.

Each row's hash covers its own fields and the previous row's hash, so changing, inserting or
deleting a row in the middle breaks every hash after it (``crisismon audit verify``). Deleting
rows at the very end is not detectable from the table alone: keep a copy of the latest hash
elsewhere if that matters.
"""

from __future__ import annotations

import hashlib
import json
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import Engine, text
from sqlmodel import Session, col, select

from playbooks.models import AuditEntry

GENESIS = "0" * 64
# Any fixed number: appends on PostgreSQL take turns, so each reads the true tail.
_PG_AUDIT_LOCK = 0x6175_6469


def _digest(prev: str, *, at: datetime, actor: str, action: str, subject: str, detail: str) -> str:
    body = json.dumps(
        [prev, at.astimezone(UTC).isoformat(), actor, action, subject, detail],
        ensure_ascii=False,
        separators=(",", ":"),
    )
    return hashlib.sha256(body.encode()).hexdigest()


def append(
    session: Session,
    *,
    actor: str,
    action: str,
    subject: str,
    detail: dict[str, Any],
    now: datetime,
) -> AuditEntry:
    """Add one row in the caller's transaction, after the current tail."""
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
        hash=_digest(prev, at=at, actor=actor, action=action, subject=subject, detail=blob),
    )
    session.add(entry)
    session.flush()
    return entry


def verify(engine: Engine) -> tuple[int, list[str]]:
    """(rows checked, problems); no problems means the chain is intact."""
    problems: list[str] = []
    prev = GENESIS
    count = 0
    with Session(engine) as session:
        for entry in session.exec(select(AuditEntry).order_by(col(AuditEntry.id))):
            count += 1
            if entry.prev_hash != prev:
                problems.append(f"row {entry.id}: does not follow the row before it")
            expected = _digest(
                entry.prev_hash,
                at=entry.at,
                actor=entry.actor,
                action=entry.action,
                subject=entry.subject,
                detail=entry.detail,
            )
            if entry.hash != expected:
                problems.append(f"row {entry.id}: content changed since it was written")
            prev = entry.hash
    return count, problems


def entries(engine: Engine, *, subject_prefix: str = "") -> list[AuditEntry]:
    with Session(engine) as session:
        query = select(AuditEntry).order_by(col(AuditEntry.id))
        if subject_prefix:
            query = query.where(col(AuditEntry.subject).startswith(subject_prefix))
        return list(session.exec(query).all())
