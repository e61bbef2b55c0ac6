"""Playbook tables: customers and consent, drafts, the outbox, pre-approvals and the audit chain."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import Column, Index, Text, UniqueConstraint
from sqlmodel import Field, SQLModel

from monitor.storage.types import UTCDateTime


def _utc(**kwargs: object) -> object:
    return Field(sa_type=UTCDateTime, **kwargs)  # type: ignore[call-overload]


class Customer(SQLModel, table=True):
    """One customer, upserted by the id the business knows them by."""

    __tablename__ = "customers"

    id: int | None = Field(default=None, primary_key=True)
    external_id: str = Field(max_length=200, unique=True)
    # The external id as mentions carry it (monitor.privacy, kind "customer_id"); not unique:
    # ids that differ only in case share one. None until a pseudonym key is configured.
    pseudonym: str | None = Field(default=None, max_length=40, index=True)
    locale: str = Field(default="en", max_length=16)
    timezone: str = Field(default="UTC", max_length=64)
    region: str | None = Field(default=None, max_length=64)
    plan: str | None = Field(default=None, max_length=64)
    lifetime_value: float = 0.0
    signup_date: datetime | None = _utc(default=None, nullable=True)  # type: ignore[assignment]
    last_activity: datetime | None = _utc(default=None, nullable=True)  # type: ignore[assignment]
    email: str | None = Field(default=None, max_length=320)
    phone: str | None = Field(default=None, max_length=32)
    webhook_url: str | None = Field(default=None, max_length=2000)
    # A Slack channel id shared with the customer (Slack Connect), for the slack channel.
    slack_channel: str | None = Field(default=None, max_length=100)
    # Space-delimited with a leading and trailing space, like mentions.series_keys.
    tags: str = Field(default=" ", max_length=2000)
    updated_at: datetime = _utc()  # type: ignore[assignment]


class Consent(SQLModel, table=True):
    """Consent of one customer for one channel: when, by what means, and whether withdrawn."""

    __tablename__ = "customer_consents"

    customer_id: int = Field(primary_key=True, sa_column_kwargs={"autoincrement": False})
    channel: str = Field(primary_key=True, max_length=20)
    granted_at: datetime = _utc()  # type: ignore[assignment]
    method: str = Field(max_length=200)
    revoked_at: datetime | None = _utc(default=None, nullable=True)  # type: ignore[assignment]


class Draft(SQLModel, table=True):
    """One message to approve: per (incident, step, segment, locale)."""

    __tablename__ = "drafts"
    __table_args__ = (
        UniqueConstraint("incident_id", "step_id", "segment", "locale", name="uq_drafts_key"),
    )

    id: int | None = Field(default=None, primary_key=True)
    incident_id: int = Field(index=True)
    playbook: str = Field(max_length=100)
    step_id: str = Field(max_length=100)
    channel: str = Field(max_length=20)
    segment: str = Field(max_length=100)
    locale: str = Field(max_length=16)
    critical: bool = False
    subject: str = Field(default="", sa_column=Column(Text, nullable=False))
    body_text: str = Field(sa_column=Column(Text, nullable=False))
    body_html: str = Field(default="", sa_column=Column(Text, nullable=False))
    content_hash: str = Field(max_length=64)
    recipient_count: int = 0
    preview: str = Field(default="", sa_column=Column(Text, nullable=False))
    # pending → approved | rejected. An edit puts an approved draft back to pending.
    status: str = Field(default="pending", max_length=20, index=True)
    approved_hash: str | None = Field(default=None, max_length=64)
    decided_by: str | None = Field(default=None, max_length=200)
    decided_at: datetime | None = _utc(default=None, nullable=True)  # type: ignore[assignment]
    slack_ref: str | None = Field(default=None, max_length=200)
    created_at: datetime = _utc()  # type: ignore[assignment]


class TemplateApproval(SQLModel, table=True):
    """A standing pre-approval of one template version (its content hash)."""

    __tablename__ = "template_approvals"

    playbook: str = Field(primary_key=True, max_length=100)
    step_id: str = Field(primary_key=True, max_length=100)
    segment: str = Field(primary_key=True, max_length=100)
    locale: str = Field(primary_key=True, max_length=16)
    content_hash: str = Field(max_length=64)
    approved_by: str = Field(max_length=200)
    approved_at: datetime = _utc()  # type: ignore[assignment]


class Delivery(SQLModel, table=True):
    """An outbox row: one message to one customer, keyed (incident, recipient, step)."""

    __tablename__ = "deliveries"
    __table_args__ = (Index("ix_deliveries_due", "status", "next_attempt_at"),)

    id: int | None = Field(default=None, primary_key=True)
    idempotency_key: str = Field(max_length=200, unique=True)
    draft_id: int = Field(index=True)
    customer_id: int = Field(index=True)
    channel: str = Field(max_length=20)
    # pending → sent | suppressed | dead | cancelled (draft rejected)
    status: str = Field(default="pending", max_length=20)
    attempts: int = 0
    next_attempt_at: datetime = _utc()  # type: ignore[assignment]
    last_error: str | None = Field(default=None, max_length=2000)
    reason: str | None = Field(default=None, max_length=500)
    created_at: datetime = _utc()  # type: ignore[assignment]
    sent_at: datetime | None = _utc(default=None, nullable=True, index=True)  # type: ignore[assignment]


class StepRun(SQLModel, table=True):
    """One playbook step scheduled for one incident; the leader timer runs it when due.

    Due times are stored, so a wait survives a worker restart; a step that fails (a database
    error while drafting) stays scheduled and is tried again with a back-off.
    """

    __tablename__ = "playbook_step_runs"
    __table_args__ = (
        UniqueConstraint("incident_id", "playbook", "step_id", name="uq_step_runs_key"),
        Index("ix_step_runs_due", "status", "due_at"),
    )

    id: int | None = Field(default=None, primary_key=True)
    incident_id: int = Field(index=True)
    playbook: str = Field(max_length=100)
    step_id: str = Field(max_length=100)
    kind: str = Field(max_length=30)
    trigger: str = Field(max_length=20)
    position: int = 0
    # scheduled → done | skipped (with the reason) | cancelled (the incident resolved first)
    status: str = Field(default="scheduled", max_length=20)
    due_at: datetime = _utc()  # type: ignore[assignment]
    attempts: int = 0
    last_error: str | None = Field(default=None, max_length=2000)
    done_at: datetime | None = _utc(default=None, nullable=True)  # type: ignore[assignment]


class TriggerMark(SQLModel, table=True):
    """An incident change (opened, resolved) whose steps were scheduled; the timer schedules
    the ones a failed agent left out."""

    __tablename__ = "playbook_triggers"

    incident_id: int = Field(primary_key=True, sa_column_kwargs={"autoincrement": False})
    trigger: str = Field(primary_key=True, max_length=20)
    scheduled_at: datetime = _utc()  # type: ignore[assignment]


class StatusUpdate(SQLModel, table=True):
    """One approved update on the built-in status page (GET /status, /api/status)."""

    __tablename__ = "status_updates"

    id: int | None = Field(default=None, primary_key=True)
    idempotency_key: str = Field(max_length=200, unique=True)
    incident_id: int = Field(index=True)
    component: str = Field(max_length=100)
    status: str = Field(max_length=20)
    title: str = Field(max_length=300)
    body: str = Field(sa_column=Column(Text, nullable=False))
    posted_at: datetime = _utc()  # type: ignore[assignment]


class ConsentChange(SQLModel, table=True):
    """Append-only: one change of one customer's consent for one channel, who made it and how.

    ``customer_consents`` says what holds now; this says how it came to hold (`crisismon
    customers consent ID`, and the consent that allowed a message in `crisismon deliveries
    explain`).
    """

    __tablename__ = "consent_changes"

    id: int | None = Field(default=None, primary_key=True)
    customer_id: int = Field(index=True)
    channel: str = Field(max_length=20)
    change: str = Field(max_length=20)  # granted | withdrawn
    # import | api | unsubscribe (the link in a message) | stop (an SMS reply) | admin |
    # subscribe (the status page's double opt-in)
    how: str = Field(max_length=20)
    who: str = Field(max_length=200)
    # When the customer gave or withdrew it (an import's <channel>_consent_at); ``recorded_at``
    # is when crisismon learnt of it.
    effective_at: datetime = _utc()  # type: ignore[assignment]
    # The means the business recorded with it ("signup form", "checkout checkbox").
    method: str | None = Field(default=None, max_length=200)
    recorded_at: datetime = _utc()  # type: ignore[assignment]


# The external id of a status page subscriber's customers row starts with this.
SUBSCRIBER_PREFIX = "status-subscriber:"


class StatusSubscriber(SQLModel, table=True):
    """Someone who asked for status page updates by email (``playbooks.status_subscribers``).

    The address lives on their ``customers`` row (external id ``status-subscriber:…``), so
    consent, the consent history, unsubscribe links, export and erasure work as for any
    customer; this row says when the confirmation was asked for and when it was confirmed.
    """

    __tablename__ = "status_subscribers"

    customer_id: int = Field(primary_key=True, sa_column_kwargs={"autoincrement": False})
    requested_at: datetime = _utc()  # type: ignore[assignment]
    confirmed_at: datetime | None = _utc(default=None, nullable=True)  # type: ignore[assignment]
