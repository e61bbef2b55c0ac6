"""What a dead letter keeps: the reason always, the original payload only while retention allows.

Without ``CRISISMON_RAW_RETENTION_DAYS`` a dead letter stores a PII-redacted copy of the payload
(enough to see what was wrong and to fix the producer). With it, the original is kept for that
many days so it can be repaired and replayed, then replaced by the redacted copy.

>>> from datetime import UTC, datetime
>>> row = dead_letter_row(topic="webhooks", reason="bad", payload='{"email": "a@b.example"}',
...                       source="zendesk", received_at=datetime(2026, 1, 1, tzinfo=UTC),
...                       retention_days=0)
>>> row.payload, row.payload_redacted, row.raw_expires_at
('{"email": "[EMAIL]"}', True, None)
"""

from __future__ import annotations

import logging
from datetime import datetime, timedelta

from sqlalchemy import Engine, select, update
from sqlmodel import Session

from monitor.privacy import Redactor, redact_text
from monitor.storage.db import session_scope
from monitor.storage.models import DeadLetter
from monitor.storage.poison import reason_of, refused
from streams.cleaning import storable

MAX_REASON = 2000
log = logging.getLogger(__name__)


def dead_letter_row(
    *,
    topic: str,
    reason: str,
    payload: str,
    source: str | None,
    received_at: datetime,
    retention_days: int,
    redactor: Redactor | None = None,
) -> DeadLetter:
    """The row to store for one rejected payload, raw or redacted as the retention says."""
    keep_raw = retention_days > 0
    # storable(): PostgreSQL refuses NUL in text, and a lone surrogate cannot be encoded; a
    # dead letter is often the very payload that carried them.
    payload = storable(payload)
    return DeadLetter(
        topic=storable(topic)[:200],
        reason=storable(reason)[:MAX_REASON],
        payload=payload if keep_raw else _redact(payload, redactor),
        source=storable(source)[:100] if source is not None else None,
        received_at=received_at,
        payload_redacted=not keep_raw,
        raw_expires_at=received_at + timedelta(days=retention_days) if keep_raw else None,
    )


def store_dead_letter(engine: Engine, row: DeadLetter) -> bool:
    """Store one dead letter; False if the database refused it even escaped (then it is logged).

    A row the database refuses all the same (a constraint, a driver that cannot send a
    character) is kept with its text as escaped ASCII; if even that is refused it is logged, so
    the dead-letter partition goes on. A database that is down is raised as usual.
    """
    try:
        _insert(engine, row)
        return True
    except Exception as exc:
        if not refused(exc):
            raise
        first = reason_of(exc)
    fallback = DeadLetter(
        topic=ascii(row.topic)[:200],
        reason=f"{ascii(row.reason)[:1500]} (stored escaped: the database refused it: {first})",
        payload=ascii(row.payload),
        source=ascii(row.source)[:100] if row.source is not None else None,
        received_at=row.received_at,
        payload_redacted=row.payload_redacted,
        raw_expires_at=row.raw_expires_at,
    )
    try:
        _insert(engine, fallback)
        return True
    except Exception as exc:
        if not refused(exc):
            raise
        log.error("dead letter dropped, the database refused it: %s", reason_of(exc))
        return False


def _insert(engine: Engine, row: DeadLetter) -> None:
    with session_scope(engine) as session:
        session.add(row)


def _redact(payload: str, redactor: Redactor | None) -> str:
    return redactor.redact(payload) if redactor else redact_text(payload)


def expire_raw_payloads(engine: Engine, *, now: datetime, redactor: Redactor | None = None) -> int:
    """Replace every original payload past its retention by its redacted copy; returns how many."""
    with Session(engine) as session:
        expired = session.execute(
            select(DeadLetter.id, DeadLetter.payload)  # type: ignore[call-overload]
            .where(DeadLetter.raw_expires_at <= now)  # type: ignore[operator]
            .limit(1000)
        ).all()
    with session_scope(engine) as session:
        for row_id, payload in expired:
            session.execute(
                update(DeadLetter)
                .where(DeadLetter.id == row_id)
                .values(
                    payload=_redact(payload, redactor), payload_redacted=True, raw_expires_at=None
                )
            )
    return len(expired)
