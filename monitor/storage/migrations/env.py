"""Alembic environment: always driven from code, with the connection handed in."""

from __future__ import annotations

from alembic import context
from sqlmodel import SQLModel

import monitor.storage.models  # noqa: F401  - registers the tables on SQLModel.metadata
import playbooks.models  # noqa: F401  - customers, drafts, outbox, audit
from monitor.storage import (
    accounts,  # noqa: F401  - web users, API tokens, sessions
    dead_letter_replays,  # noqa: F401  - dead letters an admin replayed
    sentiment_labels,  # noqa: F401  - labels taught from files
)

connection = context.config.attributes.get("connection")
if connection is None:
    raise RuntimeError("run migrations through monitor.storage.migrate, not the alembic CLI")

context.configure(
    connection=connection,
    target_metadata=SQLModel.metadata,
    render_as_batch=connection.dialect.name == "sqlite",
)
with context.begin_transaction():
    context.run_migrations()
