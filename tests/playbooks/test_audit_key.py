"""With CRISISMON_AUDIT_KEY, writing the database is not enough to rewrite the audit chain."""

from __future__ import annotations

from datetime import UTC, datetime

from sqlalchemy import Engine, text
from sqlmodel import Session, col, select

from monitor import audit
from monitor.storage.db import session_scope
from monitor.storage.models import AuditEntry

NOW = datetime(2026, 3, 1, 12, tzinfo=UTC)
KEY = b"audit-test-key-0123456789"


def write(engine: Engine, action: str, *, key: bytes | None) -> None:
    with session_scope(engine) as session:
        audit.append(
            session, actor="web:ana", action=action, subject="draft:1", detail={}, now=NOW, key=key
        )


def rewrite_unkeyed(engine: Engine) -> None:
    """What someone with database access but no key can do: recompute every plain hash."""
    with Session(engine) as session:
        prev = audit.GENESIS
        for entry in session.exec(select(AuditEntry).order_by(col(AuditEntry.id))).all():
            entry.actor = "web:mallory"
            entry.prev_hash = prev
            entry.hash = audit._row_digest(entry, None)
            prev = entry.hash
            session.add(entry)
            session.flush()
        session.commit()


def test_keyed_rows_verify_with_the_key_and_old_unkeyed_rows_still_verify_as_such(engine):
    write(engine, "approve", key=b"")  # before the key was set: a plain hash
    write(engine, "send", key=KEY)
    write(engine, "send", key=KEY)
    found = audit.check(engine, key=KEY)
    assert (found.rows, found.keyed, found.unkeyed, found.problems) == (3, 2, 1, [])


def test_a_chain_rewritten_without_the_key_is_detected(engine):
    write(engine, "approve", key=KEY)
    write(engine, "send", key=KEY)
    rewrite_unkeyed(engine)
    # A plain chain is self-consistent; only the key tells that it was not written by us.
    found = audit.check(engine, key=KEY)
    assert found.keyed == 0 and found.unkeyed == 2
    with engine.begin() as conn:  # and a keyed row after the rewritten ones gives it away
        conn.execute(text("DELETE FROM audit_log"))
    write(engine, "approve", key=KEY)
    write(engine, "send", key=b"")
    assert audit.check(engine, key=KEY).problems == [
        f"row {_last_id(engine)}: not keyed after keyed rows (written without CRISISMON_AUDIT_KEY)"
    ]


def test_an_edited_keyed_row_is_a_changed_row(engine):
    write(engine, "approve", key=KEY)
    with engine.begin() as conn:
        conn.execute(text("UPDATE audit_log SET actor = 'web:mallory'"))
    [problem] = audit.check(engine, key=KEY).problems
    assert "content changed" in problem
    [problem] = audit.check(engine, key=b"").problems  # without the key it cannot tell which
    assert "set CRISISMON_AUDIT_KEY" in problem


def _last_id(engine: Engine) -> int:
    with Session(engine) as session:
        last = session.exec(select(AuditEntry).order_by(col(AuditEntry.id).desc())).first()
        assert last is not None and last.id is not None
        return last.id
