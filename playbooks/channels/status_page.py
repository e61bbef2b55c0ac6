"""The built-in status page as a channel: an approved update becomes a row in ``status_updates``.

The page itself (GET /status, GET /api/status) reads those rows (``playbooks.status_page``).
"""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime

from sqlalchemy import Engine
from sqlalchemy.exc import SQLAlchemyError

from monitor.storage.db import insert_for, session_scope
from playbooks.channels import ChannelError, OutgoingMessage
from playbooks.models import StatusUpdate


class StatusPageChannel:
    name = "status_page"

    def __init__(self, engine: Engine) -> None:
        self._engine = engine

    async def send(self, message: OutgoingMessage) -> str:
        """Publish once per idempotency key: a resend after a crash changes nothing."""
        try:
            return await asyncio.to_thread(self._write, message)
        except SQLAlchemyError as exc:
            raise ChannelError(f"status page not updated: {type(exc).__name__}") from exc

    def _write(self, message: OutgoingMessage) -> str:
        table = StatusUpdate.__table__  # type: ignore[attr-defined]
        with session_scope(self._engine) as session:
            session.execute(
                insert_for(session, table)
                .values(
                    idempotency_key=message.idempotency_key,
                    incident_id=message.incident_id,
                    component=message.to,
                    status=message.status,
                    title=message.subject[:300],
                    body=message.text,
                    posted_at=message.posted_at or datetime.now(UTC),
                )
                .on_conflict_do_nothing(index_elements=["idempotency_key"])
            )
        return f"status:{message.idempotency_key}"

    async def close(self) -> None:
        return None
