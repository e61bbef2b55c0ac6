"""The rows an anomaly is stored with: its stable id and the example mentions it quotes."""

from __future__ import annotations

import hashlib
from datetime import datetime

from sqlmodel import Session, select

from detectors.series import encode_keys
from monitor.storage.models import Mention


def anomaly_id(series: str, start: datetime, metric: str) -> str:
    key = f"{series}\x1f{start.isoformat()}\x1f{metric}"
    return hashlib.sha256(key.encode()).hexdigest()[:32]


def example_mention_ids(
    session: Session, series: str, start: datetime, end: datetime, *, limit: int
) -> list[str]:
    """The most negative mentions of a series' window: what a support lead wants to read first."""
    if limit <= 0:
        return []
    mentions = Mention.__table__.c  # type: ignore[attr-defined]
    rows = session.execute(
        select(mentions.mention_id)
        .where(
            mentions.event_time >= start,
            mentions.event_time < end,
            mentions.series_keys.contains(encode_keys([series]), autoescape=True),
        )
        .order_by(mentions.compound.asc(), mentions.mention_id)
        .limit(limit)
    ).scalars()
    return [str(r) for r in rows]
