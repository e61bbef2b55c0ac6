"""What an approver needs to decide on a draft: the message as a customer would get it, who
would get it (a count and a few pseudonyms, never an address), why its playbook matched, the
content hash the approval binds to, and what an edit changed.

The approvals page (``/approvals``) and ``GET /api/drafts/ID`` both show a `DraftReview`.
"""

from __future__ import annotations

import fnmatch
import json
from dataclasses import asdict, dataclass, field
from datetime import datetime
from typing import Any

from sqlalchemy import Engine
from sqlmodel import Session, col, select

from monitor.incidents.service import get_detail
from monitor.privacy import Pseudonymiser, customer_pseudonym
from monitor.storage.models import AuditEntry, Incident
from playbooks.copy_diff import PARTS, PartDiff, diff_copy
from playbooks.customers import all_customers
from playbooks.models import Consent, Customer, Draft
from playbooks.render import TemplateError, render_copy, sample_context
from playbooks.schema import IncidentFacts, StatusPageStep, matches
from playbooks.service import (
    STATUS_CHANNEL,
    DraftError,
    Setup,
    audience_of,
    context_for,
    facts_of,
    recipient_groups,
    render_status,
)

SAMPLE_SIZE = 5
RECENT_DECIDED = 20


@dataclass(frozen=True)
class Preview:
    """The rendered message; ``rendered_for`` names whose data filled it (a pseudonym)."""

    channel: str
    rendered_for: str
    subject: str
    text: str
    html: str
    error: str = ""


@dataclass(frozen=True)
class Recipients:
    """Who an approval would send to now, as approving computes it."""

    count: int
    sample: list[str]
    note: str = ""


@dataclass(frozen=True)
class Version:
    """An earlier copy of the draft: the approved one, or the one before the last edit."""

    label: str
    content_hash: str
    copy: dict[str, str]


@dataclass
class DraftReview:
    draft: Draft
    preview: Preview
    recipients: Recipients
    why: dict[str, Any]
    compared_with: Version | None = None
    diff: list[PartDiff] = field(default_factory=list)

    @property
    def needs_new_approval(self) -> bool:
        """Approved once, then edited: the current copy is not what was approved."""
        d = self.draft
        return d.status == "pending" and d.approved_hash is not None

    def as_json(self) -> dict[str, Any]:
        return {
            "draft": self.draft.model_dump(mode="json", exclude={"preview"}),
            "content_hash": self.draft.content_hash,
            "approved_hash": self.draft.approved_hash,
            "needs_new_approval": self.needs_new_approval,
            "preview": asdict(self.preview),
            "recipients": asdict(self.recipients),
            "why": self.why,
            "compared_with": (
                None
                if self.compared_with is None
                else {
                    "label": self.compared_with.label,
                    "content_hash": self.compared_with.content_hash,
                }
            ),
            "diff": [part.as_json() for part in self.diff],
        }


class Reviewer:
    """Reviews drafts against the customers as they are now, read once per reviewer."""

    def __init__(
        self,
        engine: Engine,
        session: Session,
        *,
        setup: Setup,
        pseudonymiser: Pseudonymiser,
        now: datetime,
    ) -> None:
        self._engine = engine
        self._session = session
        self._setup = setup
        self._pseudonymiser = pseudonymiser
        self._now = now
        self._customers: list[Customer] | None = None
        self._groups: dict[tuple[int, str, str], dict[tuple[str, str], list[Customer]]] = {}
        self._why: dict[tuple[int, str], dict[str, Any]] = {}

    def review(self, draft: Draft) -> DraftReview:
        incident = self._session.get(Incident, draft.incident_id)
        members, note = self._members(draft)
        review = DraftReview(
            draft=draft,
            preview=self._preview(draft, incident, members),
            recipients=Recipients(
                count=len(members) if draft.channel != STATUS_CHANNEL else 1,
                sample=[self.pseudonym(c) for c in members[:SAMPLE_SIZE]],
                note=note,
            ),
            why=self._why_matched(draft),
        )
        review.compared_with = self._earlier_version(draft)
        if review.compared_with is not None:
            review.diff = diff_copy(review.compared_with.copy, copy_of(draft))
        return review

    def pseudonym(self, customer: Customer) -> str:
        """How the page names a customer: the pseudonym mentions carry for them, or their row
        number when no pseudonym key is configured; never the external id, email or phone."""
        if customer.pseudonym:
            return customer.pseudonym
        if self._pseudonymiser.key:
            return customer_pseudonym(self._pseudonymiser, customer.external_id)
        return f"customer #{customer.id}"

    def _members(self, draft: Draft) -> tuple[list[Customer], str]:
        if draft.channel == STATUS_CHANNEL:
            return [], "the public status page"
        try:
            playbook = self._setup.playbook(draft.playbook)
            step = playbook.step(draft.step_id)
        except (DraftError, KeyError):
            return [], "its playbook step is no longer configured"
        if isinstance(step, StatusPageStep):
            return [], "the public status page"
        key = (draft.incident_id, draft.playbook, draft.step_id)
        if key not in self._groups:
            if self._customers is None:
                self._customers = all_customers(self._session)
            audience = audience_of(
                self._session,
                playbook=playbook,
                step=step,
                incident_id=draft.incident_id,
                customers=self._customers,
            )
            self._groups[key] = recipient_groups(
                self._setup, playbook=playbook, step=step, customers=audience, now=self._now
            )
        members = self._groups[key].get((draft.segment, draft.locale), [])
        note = "" if members else "nobody in this segment and locale has an address for it now"
        return members, note

    def _preview(self, draft: Draft, incident: Incident | None, members: list[Customer]) -> Preview:
        """The copy rendered as the first recipient with consent would get it (their external
        id replaced by their pseudonym), or with sample data when there is nobody."""
        try:
            if incident is not None and draft.channel == STATUS_CHANNEL:
                status = render_status(self._setup, draft=draft, incident=incident)
                return Preview(draft.channel, "the status page", status.subject, status.text, "")
            shown = _with_consent(self._session, members, draft.channel) or (
                members[0] if members else None
            )
            if incident is not None and shown is not None:
                context = context_for(
                    self._setup, customer=shown, draft=draft, incident=incident, now=self._now
                )
                context["customer"]["external_id"] = self.pseudonym(shown)
                # The real link is signed and works: a preview must not hand it to every viewer.
                context["unsubscribe_url"] = inert_unsubscribe_url(self._setup, draft.channel)
                who = self.pseudonym(shown)
            else:
                variables = self._setup.playbook(draft.playbook).vars
                context = sample_context(
                    locale=draft.locale, segment=draft.segment, variables=variables
                )
                who = "a sample customer"
            rendered = render_copy(
                subject=draft.subject, text=draft.body_text, html=draft.body_html, context=context
            )
        except TemplateError as exc:
            return Preview(draft.channel, "", "", "", "", error=f"template error: {exc}")
        except DraftError as exc:
            return Preview(draft.channel, "", "", "", "", error=str(exc))
        return Preview(draft.channel, who, rendered.subject, rendered.text, rendered.html)

    def _why_matched(self, draft: Draft) -> dict[str, Any]:
        key = (draft.incident_id, draft.playbook)
        if key not in self._why:
            self._why[key] = why_matched(
                self._engine,
                setup=self._setup,
                incident_id=draft.incident_id,
                playbook_name=draft.playbook,
            )
        return self._why[key]

    def _earlier_version(self, draft: Draft) -> Version | None:
        """What the draft is compared with: the approved copy when an edit came after the
        approval, else the copy before the last edit; None when it was never edited."""
        before: list[tuple[str, dict[str, str]]] = []
        entries = self._session.exec(
            select(AuditEntry)
            .where(AuditEntry.subject == f"draft:{draft.id}", AuditEntry.action == "edit")
            .order_by(col(AuditEntry.id))
        ).all()
        for entry in entries:
            detail = json.loads(entry.detail)
            if isinstance(detail.get("before"), dict):
                copy = {part: str(detail["before"].get(part, "")) for part in PARTS}
                before.append((str(detail.get("from", "")), copy))
        if draft.approved_hash and draft.approved_hash != draft.content_hash:
            for digest, copy in reversed(before):
                if digest == draft.approved_hash:
                    return Version("approved", digest, copy)
        if before and before[-1][0] != draft.content_hash:
            digest, copy = before[-1]
            return Version("before the last edit", digest, copy)
        return None


def inert_unsubscribe_url(setup: Setup, channel: str) -> str:
    """The shape of a recipient's unsubscribe link, without their id or signature."""
    return f"{setup.public_url.rstrip('/')}/unsubscribe?c=…&ch={channel}&t=…"


def copy_of(draft: Draft) -> dict[str, str]:
    return {"subject": draft.subject, "text": draft.body_text, "html": draft.body_html}


def why_matched(
    engine: Engine, *, setup: Setup, incident_id: int, playbook_name: str
) -> dict[str, Any]:
    """The incident's facts (severity, strongest series, metric, risen terms) beside the
    playbook's match rules, and whether each rule holds now."""
    detail = get_detail(engine, incident_id=incident_id)
    if detail is None:
        return {"incident": None, "note": f"incident {incident_id} no longer exists"}
    incident = detail.incident
    facts = facts_of(detail)
    found: dict[str, Any] = {
        "incident": {
            "id": incident.id,
            "title": incident.title,
            "severity": incident.severity,
            "status": incident.status,
            "series": incident.series.split(),
        },
        "facts": {
            "severity": facts.severity,
            "series": facts.series,
            "metric": facts.metric,
            "terms": facts.texts[:10],
        },
    }
    try:
        playbook = setup.playbook(playbook_name)
    except DraftError as exc:
        found["rules"], found["note"] = [], str(exc)
        return found
    rules = playbook.match.model_dump(exclude_none=True)
    found["playbook"] = {"name": playbook.name, "description": playbook.description}
    found["rules"] = [
        {"rule": name, "values": values, "holds": _holds(name, values, facts)}
        for name, values in rules.items()
    ]
    found["matches_now"] = matches(playbook, facts)
    if not rules:
        found["note"] = "the playbook has no match rules: it starts for every incident"
    return found


def _holds(rule: str, values: list[str], facts: IncidentFacts) -> bool:
    """One match rule on its own, as ``playbooks.schema.matches`` reads it."""
    if rule == "severity":
        return bool(facts.severity in values)
    if rule == "series":
        return any(fnmatch.fnmatchcase(s, p) for s in facts.series for p in values)
    if rule == "metric":
        return bool(facts.metric in values)
    corpus = " ".join(facts.texts).lower()
    return any(term.lower() in corpus for term in values)


def _with_consent(session: Session, members: list[Customer], channel: str) -> Customer | None:
    """The first of the first few hundred members with active consent for the channel."""
    if not members or channel == "console":
        return members[0] if members else None
    batch = members[:500]
    consented = set(
        session.exec(
            select(Consent.customer_id).where(
                Consent.channel == channel,
                col(Consent.revoked_at).is_(None),
                col(Consent.customer_id).in_([c.id for c in batch]),
            )
        ).all()
    )
    return next((c for c in batch if c.id in consented), None)


def review_draft(
    engine: Engine, *, setup: Setup, pseudonymiser: Pseudonymiser, draft_id: int, now: datetime
) -> DraftReview:
    """One draft's review; `DraftError` 404 when there is no such draft."""
    with Session(engine, expire_on_commit=False) as session:
        draft = session.get(Draft, draft_id)
        if draft is None:
            raise DraftError(f"no draft {draft_id}", 404)
        reviewer = Reviewer(engine, session, setup=setup, pseudonymiser=pseudonymiser, now=now)
        return reviewer.review(draft)


@dataclass
class Queue:
    """The drafts awaiting a decision (oldest first) and the latest decided ones."""

    pending: list[DraftReview]
    decided: list[Draft]


def review_queue(
    engine: Engine, *, setup: Setup, pseudonymiser: Pseudonymiser, now: datetime
) -> Queue:
    with Session(engine, expire_on_commit=False) as session:
        reviewer = Reviewer(engine, session, setup=setup, pseudonymiser=pseudonymiser, now=now)
        pending = session.exec(
            select(Draft).where(Draft.status == "pending").order_by(col(Draft.id))
        ).all()
        decided = session.exec(
            select(Draft)
            .where(Draft.status != "pending")
            .order_by(col(Draft.decided_at).desc(), col(Draft.id).desc())
            .limit(RECENT_DECIDED)
        ).all()
        return Queue([reviewer.review(d) for d in pending], list(decided))
