"""After an erasure: the words only erased mentions said leave the term detectors' memory.

Erasure (`playbooks.erasure`) rewrites what is stored, but a worker's term detector keeps its
baseline in memory and saves it again at the next close of a window with mentions. So every
worker, told of an erasure, looks at the series it holds that erased mentions counted in, and
drops the terms that no stored mention says any more, in memory and in its stored snapshot.
Only terms learnt from at most as many mentions as were erased can be theirs alone, which
keeps the search short.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import Engine, func, select, update
from sqlmodel import Session

from detectors.terms import TermBurstDetector
from monitor.storage.db import session_scope
from monitor.storage.models import ERASED_TEXT, AuditEntry, Mention, TermBaseline

ERASE = "erase"  # its audit action


def erased_series(session: Session) -> set[str]:
    """The series that erased mentions counted in."""
    mentions = Mention.__table__.c  # type: ignore[attr-defined]
    rows = session.execute(
        select(mentions.series_keys).where(mentions.text == ERASED_TEXT).distinct()
    ).scalars()
    return {key for keys in rows for key in keys.split()}


def forget_unsaid_terms(
    engine: Engine, detectors: Mapping[str, TermBurstDetector], *, at_most: float
) -> int:
    """Drop from ``detectors`` (series -> term detector) and their stored snapshots the terms
    learnt from at most ``at_most`` mentions that no stored mention contains; how many."""
    forgotten = 0
    said: dict[str, bool] = {}
    with session_scope(engine) as session:
        for series in sorted(erased_series(session) & set(detectors)):
            detector = detectors[series]
            state = detector.snapshot()
            counts, held = dict(state["counts"]), dict(state["held"])
            candidates = {t for t, v in counts.items() if v <= at_most}
            candidates |= set(held) - set(counts)
            gone = sorted(t for t in candidates if not _said(session, t, said))
            if not gone:
                continue
            for term in gone:
                counts.pop(term, None)
                held.pop(term, None)
            detector.restore({**state, "counts": counts, "held": held})
            _forget_stored(session, series, gone)
            forgotten += len(gone)
    return forgotten


def _said(session: Session, term: str, said: dict[str, bool]) -> bool:
    if term not in said:
        mentions = Mention.__table__.c  # type: ignore[attr-defined]
        found = session.execute(
            select(mentions.mention_id)
            .where(func.lower(mentions.text).contains(term, autoescape=True))
            .limit(1)
        ).first()
        said[term] = found is not None
    return said[term]


def _forget_stored(session: Session, series: str, terms: list[str]) -> None:
    row = session.get(TermBaseline, series)
    if row is None:
        return
    state = json.loads(row.state)
    for part in ("counts", "held"):
        state[part] = {t: v for t, v in dict(state.get(part, {})).items() if t not in terms}
    session.execute(
        update(TermBaseline)
        .where(TermBaseline.series == series)  # type: ignore[arg-type]
        .values(state=json.dumps(state, separators=(",", ":"), ensure_ascii=False))
    )


@dataclass
class ErasureFollower:
    """Which erasures this worker has not acted on yet, read from the audit log's "erase"
    entries (their detail counts the mentions erased). On its first read it skips erasures
    older than ``look_back``: its detectors warmed from SQL after those."""

    look_back: timedelta = timedelta(minutes=10)
    seen: int | None = None

    def mentions_erased_since(self, engine: Engine, *, now: datetime) -> float:
        """The most mentions any erasure since the last call erased (0: none happened)."""
        log = AuditEntry.__table__.c  # type: ignore[attr-defined]
        with Session(engine) as session:
            if self.seen is None:
                self.seen = session.execute(
                    select(func.coalesce(func.max(log.id), 0)).where(
                        log.action == ERASE, log.at < now - self.look_back
                    )
                ).scalar_one()
            rows = session.execute(
                select(log.id, log.detail).where(log.id > self.seen, log.action == ERASE)
            ).all()
        most = 0.0
        for entry_id, detail in rows:
            self.seen = max(self.seen, int(entry_id))
            try:
                most = max(most, float(json.loads(detail).get("mentions", 0)))
            except (ValueError, AttributeError, TypeError):
                continue
        return most
