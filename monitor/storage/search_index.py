"""The SQLite full-text index of mention texts (``mentions_fts``, migration 0007f) after texts
are replaced by retention or erasure.

FTS5 deletes by writing delete markers: the words of a replaced text stay in the index's
older segments until they are merged. An erasure or an expiry must not leave them there, so
the code that replaces texts merges the whole index afterwards ('optimize'), in the same
transaction. PostgreSQL needs nothing: its GIN index is not readable as rows, and VACUUM
reclaims the entries.
"""

from __future__ import annotations

from sqlalchemy import text
from sqlalchemy.orm import Session


def purge_replaced_texts(session: Session) -> None:
    """Merge ``mentions_fts`` so no word of a replaced text remains in it (SQLite only)."""
    if session.get_bind().dialect.name != "sqlite":
        return
    found = session.execute(
        text("SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = 'mentions_fts'")
    ).first()
    if found is not None:
        session.execute(text("INSERT INTO mentions_fts(mentions_fts) VALUES ('optimize')"))
