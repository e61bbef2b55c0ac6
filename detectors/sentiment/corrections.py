"""Staff corrections: "this mention is negative", stored in SQL and learnt by every scorer.

`add_correction` records one (from the CLI today; the dashboard or Slack later). Each worker
keeps a `CorrectionFollower` that reads corrections it has not learnt yet, in id order, and
teaches them to its scorer, so all workers converge on the same model, and a restarted
worker relearns every correction from the table.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Protocol

from sqlalchemy import Engine, select
from sqlmodel import Session

from detectors.sentiment.base import LABELS
from monitor.storage.models import REPLACED_TEXTS, Mention, SentimentCorrection


class CorrectionError(ValueError):
    """A correction that cannot be recorded; one readable line."""


class Learner(Protocol):
    def learn(self, text: str, label: str, lang: str | None = None) -> int: ...


@dataclass(frozen=True, slots=True)
class Recorded:
    correction_id: int
    mention_id: str
    label: str
    previous_label: str


def add_correction(
    engine: Engine, *, mention_id: str, label: str, who: str, now: datetime
) -> Recorded:
    """Record that ``mention_id`` is ``label`` according to ``who``."""
    label = label.strip().lower()
    if label not in LABELS:
        raise CorrectionError(f"label must be one of {', '.join(LABELS)}, got {label!r}")
    if not who.strip():
        raise CorrectionError("say who is correcting (--who)")
    with Session(engine) as session:
        mention = session.get(Mention, mention_id)
        if mention is None:
            raise CorrectionError(f"no mention with id {mention_id!r}")
        row = SentimentCorrection(
            mention_id=mention_id, label=label, who=who.strip()[:200], created_at=now
        )
        session.add(row)
        session.commit()
        assert row.id is not None
        return Recorded(row.id, mention_id, label, mention.label)


@dataclass(frozen=True, slots=True)
class PendingCorrection:
    correction_id: int
    label: str
    text: str
    lang: str | None


def corrections_after(
    engine: Engine, *, after_id: int, limit: int = 1000
) -> list[PendingCorrection]:
    """Corrections with an id above ``after_id``, oldest first, with their mention's text."""
    corrections = SentimentCorrection.__table__  # type: ignore[attr-defined]
    mentions = Mention.__table__  # type: ignore[attr-defined]
    query = (
        select(corrections.c.id, corrections.c.label, mentions.c.text, mentions.c.lang)
        .join(mentions, mentions.c.mention_id == corrections.c.mention_id)
        # An erased or expired text is a placeholder, not words to learn a label from.
        .where(corrections.c.id > after_id, mentions.c.text.not_in(sorted(REPLACED_TEXTS)))
        .order_by(corrections.c.id)
        .limit(limit)
    )
    with Session(engine) as session:
        return [PendingCorrection(*row) for row in session.execute(query).all()]


class CorrectionFollower:
    """Teaches a scorer every correction it has not learnt yet, in id order."""

    def __init__(self) -> None:
        self.last_id = 0
        self.learnt = 0

    def apply_new(self, engine: Engine, scorer: Learner) -> int:
        """Learn the corrections recorded since the last call; return how many."""
        count = 0
        while True:
            batch = corrections_after(engine, after_id=self.last_id)
            for pending in batch:
                scorer.learn(pending.text, pending.label, pending.lang)
                self.last_id = pending.correction_id
            count += len(batch)
            if len(batch) < 1000:
                break
        self.learnt += count
        return count
