"""An incident's one alert: posted once, then edited as the incident grows.

``post_alert_once`` claims the alert (so two workers or a timer never post it twice), posts it
and records its reference. When an anomaly merges into the incident afterwards and raises it
(warning to critical, renamed after its strongest anomaly) or spreads it to more series,
``refresh_alert`` edits the alert in place (``chat.update``) and, when it was raised, threads a
short note under it ("Raised to critical: …"). Never a second top-level alert.

What the alert says is compared with what was posted (``incidents.alert_text``, the text of
the last version sent), so the check needs no help from the correlator and is safe to repeat:
the correlator's agent calls it after a merge, and the follow-up timer calls it for every open
alerted incident, catching a merge that landed while the first alert was being posted.
"""

from __future__ import annotations

import asyncio
import logging
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Literal

from sqlalchemy import Engine, update
from sqlmodel import Session, col, select

from detectors.feedback import feedback_on
from monitor.incidents.alerts import (
    AlertMessage,
    change_note,
    headline_of,
    posted_headline,
    render_alert,
)
from monitor.incidents.feedback_buttons import with_feedback_shown
from monitor.incidents.notifiers import Notifier, NotifierError
from monitor.incidents.service import (
    PAGED_SEVERITIES,
    claim_alert,
    get_detail,
    mark_alerted,
    release_alert,
)
from monitor.storage.db import session_scope
from monitor.storage.models import Incident

log = logging.getLogger(__name__)

Outcome = Literal["unchanged", "updated", "failed"]


@dataclass(frozen=True, slots=True)
class Refreshed:
    outcome: Outcome
    note: str | None = None


async def post_alert_once(
    engine: Engine, *, incident_id: int, notifier: Notifier, stale_after: timedelta
) -> str | None:
    """Post the incident's alert unless it is posted or being posted; its reference, or None.

    A failed post gives the claim back, so the follow-up timer tries again soon.
    """
    claimed = await asyncio.to_thread(
        claim_alert,
        engine,
        incident_id=incident_id,
        now=datetime.now(UTC),
        stale_after=stale_after,
    )
    if not claimed:
        return None
    detail = await asyncio.to_thread(get_detail, engine, incident_id=incident_id)
    if detail is None:
        return None
    alert = render_alert(detail)
    try:
        ref = await notifier.post_alert(alert)
    except NotifierError as exc:
        log.error(
            "incident %s: alert not delivered by %s (will retry): %s",
            incident_id,
            notifier.name,
            exc,
        )
        await asyncio.to_thread(release_alert, engine, incident_id=incident_id)
        return None
    await asyncio.to_thread(
        mark_alerted,
        engine,
        incident_id=incident_id,
        text=alert.text,
        ref=ref,
        now=datetime.now(UTC),
    )
    log.info("incident %s: alert sent via %s (%s)", incident_id, notifier.name, ref)
    return ref


def alerted_open_incidents(engine: Engine) -> list[int]:
    """Open incidents whose alert was delivered: the ones whose alert may need an edit."""
    with Session(engine) as session:
        rows = session.exec(
            select(Incident.id).where(
                Incident.status == "open",
                col(Incident.severity).in_(PAGED_SEVERITIES),
                col(Incident.alerted_at).is_not(None),
                col(Incident.alert_ref).is_not(None),
            )
        ).all()
    return [int(r) for r in rows if r is not None]


def swap_alert_text(engine: Engine, *, incident_id: int, old: str, new: str) -> bool:
    """Record ``new`` as the alert's text if it still is ``old``; False when another worker
    edited it first (only one of them edits Slack and threads the note)."""
    with session_scope(engine) as session:
        result = session.execute(
            update(Incident)
            .where(col(Incident.id) == incident_id, col(Incident.alert_text) == old)
            .values(alert_text=new)
        )
        return bool(result.rowcount)  # type: ignore[attr-defined]


def _plan(engine: Engine, incident_id: int) -> tuple[str, str, AlertMessage, str | None] | None:
    """(ref, posted text, new alert, note) when the posted alert no longer says it all."""
    detail = get_detail(engine, incident_id=incident_id)
    if detail is None:
        return None
    incident = detail.incident
    if incident.alerted_at is None or not incident.alert_ref or incident.alert_text is None:
        return None
    before = posted_headline(incident.alert_text)
    after = headline_of(detail)
    if before is not None and before == after:
        return None
    alert = render_alert(detail)
    given = feedback_on(engine, incident_id=incident_id)
    if given:  # the verdicts given with the alert's buttons stay shown under them
        blocks = with_feedback_shown(alert.blocks, given)
        alert = AlertMessage(text=alert.text, blocks=blocks, slack_text=alert.slack_text)
    # An unreadable stored text (an old format) is replaced, without a note.
    note = change_note(before, after) if before is not None else None
    return incident.alert_ref, incident.alert_text, alert, note


async def refresh_alert(engine: Engine, *, incident_id: int, notifier: Notifier) -> Refreshed:
    """Edit the incident's posted alert if it no longer says what the incident is; thread a
    note when it was raised. A failed edit is given back, so the next call tries again."""
    planned = await asyncio.to_thread(_plan, engine, incident_id)
    if planned is None:
        return Refreshed("unchanged")
    ref, posted, alert, note = planned
    if not await asyncio.to_thread(
        swap_alert_text, engine, incident_id=incident_id, old=posted, new=alert.text
    ):
        return Refreshed("unchanged")  # another worker is editing it
    try:
        await notifier.update_alert(ref, alert)
    except NotifierError as exc:
        log.error("incident %s: alert not updated by %s: %s", incident_id, notifier.name, exc)
        await asyncio.to_thread(
            swap_alert_text, engine, incident_id=incident_id, old=alert.text, new=posted
        )
        return Refreshed("failed")
    if note:
        try:
            await notifier.reply(ref, note)
        except NotifierError as exc:  # the alert itself is right; the note is a courtesy
            log.warning("incident %s: note not threaded: %s", incident_id, exc)
    log.info("incident %s: alert updated via %s (%s)", incident_id, notifier.name, note or "")
    return Refreshed("updated", note)
