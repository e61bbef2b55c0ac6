"""Learnt detector state kept in SQL, one JSON row per series, written in the closing transaction.

Count detectors rebuild their level by replaying recent windows, but some memories are longer
than any replay: the term-burst baseline (which terms are usual) and the hour-of-week volume
profile (weeks of rhythm). Those are saved as snapshots with the last window they include, so a
restarted or rebalanced worker continues from exactly what was learnt.
"""

from __future__ import annotations

import json
from datetime import datetime, timedelta
from typing import Any

from sqlmodel import Session, SQLModel

from monitor.storage.db import insert_for

SNAPSHOT_EVERY = timedelta(hours=1)


def snapshot_due(enabled: bool, saved: datetime | None, through: datetime) -> bool:
    """Hourly is often enough: memories of weeks barely move in an hour, and the windows after
    the snapshot are replayed on restart anyway."""
    return enabled and (saved is None or through - saved >= SNAPSHOT_EVERY)


def save_snapshot(
    session: Session,
    model: type[SQLModel],
    series: str,
    through: datetime,
    state: dict[str, Any],
) -> None:
    """Upsert ``state`` as learnt through the window starting at ``through``."""
    table = model.__table__  # type: ignore[attr-defined]
    text = json.dumps(state, separators=(",", ":"), ensure_ascii=False)
    upsert = insert_for(session, table).values(series=series, through_window=through, state=text)
    session.execute(
        upsert.on_conflict_do_update(
            index_elements=["series"], set_={"through_window": through, "state": text}
        )
    )


def save_snapshots(
    session: Session, model: type[SQLModel], rows: list[tuple[str, datetime, dict[str, Any]]]
) -> None:
    """Upsert many series' snapshots with one constant statement (executemany): a closing pass
    over thousands of series would otherwise compile and send one upsert per series."""
    if not rows:
        return
    table = model.__table__  # type: ignore[attr-defined]
    upsert = insert_for(session, table)
    upsert = upsert.on_conflict_do_update(
        index_elements=["series"],
        set_={"through_window": upsert.excluded.through_window, "state": upsert.excluded.state},
    )
    session.execute(
        upsert,
        [
            {
                "series": series,
                "through_window": through,
                "state": json.dumps(state, separators=(",", ":"), ensure_ascii=False),
            }
            for series, through, state in sorted(rows, key=lambda row: row[0])
        ],
    )


def load_snapshot(
    session: Session, model: type[SQLModel], series: str
) -> tuple[datetime, dict[str, Any]] | None:
    """The saved state and the last window it includes, or None for a series never saved."""
    saved = session.get(model, series)
    if saved is None:
        return None
    return saved.through_window, json.loads(saved.state)  # type: ignore[attr-defined]
