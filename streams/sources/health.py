"""The health of every configured source, read from SQL for `crisismon sources`."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import Engine, func, select
from sqlmodel import Session

from monitor.storage.models import Mention
from streams.sources.config import FeedSpec, MastodonSpec, SourcesConfig, SourceSpec
from streams.sources.polling import health_rows


@dataclass(frozen=True, slots=True)
class SourceRow:
    name: str
    kind: str
    spec: SourceSpec
    status: str
    detail: str
    failing: bool
    last_success_at: datetime | None
    last_error_at: datetime | None
    last_error: str | None
    items_seen: int | None
    mentions: int
    last_mention_at: datetime | None
    next_attempt_at: datetime | None = None


def source_report(engine: Engine, config: SourcesConfig) -> list[SourceRow]:
    health = health_rows(engine)
    table = Mention.__table__  # type: ignore[attr-defined]
    with Session(engine) as session:
        stored = {
            source: (count, last)
            for source, count, last in session.execute(
                select(table.c.source, func.count(), func.max(table.c.ingest_time)).group_by(
                    table.c.source
                )
            ).all()
        }
    rows = []
    for spec in config.sources:
        count, last = stored.get(spec.name, (0, None))
        polled = isinstance(spec, FeedSpec | MastodonSpec)
        row = health.get(spec.name)
        if not polled:
            status, failing = "listening", False
        elif row is None:
            status, failing = "not polled yet", False
        elif row.consecutive_failures:
            status, failing = f"failing ({row.consecutive_failures} in a row)", True
        else:
            status, failing = "ok", False
        detail = spec.url if isinstance(spec, FeedSpec) else ""
        if isinstance(spec, MastodonSpec):
            detail = spec.instance
        rows.append(
            SourceRow(
                name=spec.name,
                kind=spec.kind,
                spec=spec,
                status=status,
                detail=detail,
                failing=failing,
                last_success_at=row.last_success_at if row else None,
                last_error_at=row.last_error_at if row else None,
                last_error=row.last_error if row else None,
                items_seen=row.items_seen if row else None,
                mentions=int(count),
                last_mention_at=last,
                next_attempt_at=row.next_attempt_at if row else None,
            )
        )
    return rows
