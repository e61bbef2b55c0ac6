"""How long personal data is kept, per kind (``config/retention.yaml``), and enforcing it.

`enforce_retention` is a plain function: the leader's hourly timer
(`monitor.shell.agents.retention`) and `crisismon db retention [--dry-run]` both call it.

>>> RetentionConfig().mention_text_days
90
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from pathlib import Path

from pydantic import BaseModel, ConfigDict, Field
from sqlalchemy import Engine, and_, delete, exists, func, select

from detectors.closing import WARM_WINDOWS
from detectors.config import DetectionConfig
from monitor.storage.db import session_scope
from monitor.storage.models import Incident
from monitor.yamlfile import load
from playbooks.models import Delivery, Draft
from playbooks.policy import SendingConfig
from streams.retention import (
    delete_closed_windows,
    delete_done_inbox,
    expire_dead_letter_payloads,
    expire_mention_text,
)

# Outbox rows in these states are history; pending ones are work and are never deleted.
FINISHED = ("sent", "suppressed", "dead", "cancelled")
KINDS = ("mention_text", "dead_letter_payloads", "deliveries", "inbox", "closed_windows")


class RetentionConfig(BaseModel):
    """Days to keep each kind; ``null`` keeps it for good."""

    model_config = ConfigDict(extra="forbid")

    mention_text_days: int | None = Field(default=90, ge=1)
    dead_letter_payload_days: int | None = Field(default=30, ge=1)
    delivery_days: int | None = Field(default=365, ge=1)
    inbox_days: int | None = Field(default=7, ge=1)
    closed_window_days: int | None = Field(default=90, ge=1)
    batch_size: int = Field(default=1000, ge=1, le=50_000)

    def days(self, kind: str) -> int | None:
        return {
            "mention_text": self.mention_text_days,
            "dead_letter_payloads": self.dead_letter_payload_days,
            "deliveries": self.delivery_days,
            "inbox": self.inbox_days,
            "closed_windows": self.closed_window_days,
        }[kind]


def windows_needed_days(detection: DetectionConfig) -> int:
    """Days of closed windows the detectors read back: the windows a series warms from and
    the empty windows the term baseline catches up on, whichever is longer."""
    windows = max(WARM_WINDOWS, detection.max_gap_windows)
    return math.ceil(windows * detection.window_seconds / 86_400)


def load_retention(
    path: Path, *, detection: DetectionConfig, sending: SendingConfig
) -> RetentionConfig:
    """``retention.yaml`` validated, errors at their line; defaults when there is none.

    It must keep what the detectors read back (``detection``) and the deliveries the frequency
    cap counts (``sending``): with fewer, the cap forgets messages it should count.
    """
    if not path.exists():
        return RetentionConfig()
    located = load(path)
    config = located.validate(RetentionConfig)
    cap_hours = sending.frequency_cap.per_hours
    if config.delivery_days is not None and config.delivery_days * 24 < cap_hours:
        raise located.error(
            ("delivery_days",),
            f"{config.delivery_days} days is less than the {cap_hours:g} hours the frequency "
            "cap counts back (sending.yaml: frequency_cap.per_hours), so the cap could be "
            "exceeded",
        )
    needed = windows_needed_days(detection)
    if config.closed_window_days is not None and config.closed_window_days < needed:
        raise located.error(
            ("closed_window_days",),
            f"{config.closed_window_days} days is less than the {needed} the detectors read "
            f"back (detection.yaml: {max(WARM_WINDOWS, detection.max_gap_windows)} windows of "
            f"{detection.window_seconds} s)",
        )
    return config


@dataclass
class RetentionReport:
    """Rows anonymised or deleted per kind (or that would be, in a dry run), and the cutoffs."""

    dry_run: bool
    counts: dict[str, int] = field(default_factory=dict)
    cutoffs: dict[str, datetime | None] = field(default_factory=dict)

    @property
    def total(self) -> int:
        return sum(self.counts.values())


def enforce_retention(
    engine: Engine, *, config: RetentionConfig, now: datetime, dry_run: bool = False
) -> RetentionReport:
    """Anonymise or delete every row older than its kind's limit, in batches; counts per kind.

    Mention text and dead-letter payloads are replaced (the rows and every count stay);
    finished deliveries, ingested inbox rows and closed windows are deleted, except the
    deliveries of incidents still open (an all-clear goes to those who were told) and each
    series' newest closed windows (what its detector warms from).
    """
    report = RetentionReport(dry_run=dry_run)
    batch = config.batch_size
    steps = {
        "mention_text": expire_mention_text,
        "dead_letter_payloads": expire_dead_letter_payloads,
        "deliveries": delete_finished_deliveries,
        "inbox": delete_done_inbox,
    }
    for kind in KINDS:
        days = config.days(kind)
        before = now - timedelta(days=days) if days is not None else None
        report.cutoffs[kind] = before
        if before is None:
            report.counts[kind] = 0
        elif kind == "closed_windows":
            report.counts[kind] = delete_closed_windows(
                engine, before=before, keep_newest=WARM_WINDOWS, batch=batch, dry_run=dry_run
            )
        else:
            report.counts[kind] = steps[kind](engine, before=before, batch=batch, dry_run=dry_run)
    return report


def delete_finished_deliveries(
    engine: Engine, *, before: datetime, batch: int, dry_run: bool
) -> int:
    """Delete outbox rows finished and created before ``before``, unless their incident is
    still open; returns how many."""
    table = Delivery.__table__  # type: ignore[attr-defined]
    drafts = Draft.__table__  # type: ignore[attr-defined]
    incidents = Incident.__table__  # type: ignore[attr-defined]
    still_open = exists(
        select(drafts.c.id)
        .join(incidents, incidents.c.id == drafts.c.incident_id)
        .where(drafts.c.id == table.c.draft_id, incidents.c.status == "open")
    )
    due = and_(table.c.status.in_(FINISHED), table.c.created_at < before, ~still_open)
    with session_scope(engine) as session:
        if dry_run:
            return int(
                session.execute(select(func.count()).select_from(table).where(due)).scalar_one()
            )
    done = 0
    while True:
        with session_scope(engine) as session:
            ids = (
                session.execute(select(table.c.id).where(due).order_by(table.c.id).limit(batch))
                .scalars()
                .all()
            )
            if not ids:
                return done
            session.execute(delete(table).where(table.c.id.in_(ids)))
        done += len(ids)
