"""Playbook steps in order, with waits: scheduled in SQL when an incident changes, run when due.

``schedule`` writes one ``playbook_step_runs`` row per step of every matching playbook, due
``now`` plus the waits before it (an escalation also adds its own minutes). The leader timer
calls ``advance_due``, which runs each due step once every earlier step of the same playbook
is finished. Due times live in the database, so a wait survives a worker restart. A step that
fails (a database error while drafting, say) stays scheduled and is tried again later with a
back-off; drafting is idempotent, so a retry never makes a second draft.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from sqlalchemy import Engine, delete, update
from sqlmodel import Session, col, select

from monitor.incidents.notifiers import Notifier
from monitor.incidents.service import PAGED_SEVERITIES, get_detail
from monitor.storage.db import insert_for, session_scope
from monitor.storage.models import Incident
from playbooks.drafting import draft_step
from playbooks.models import Draft, StepRun, TriggerMark
from playbooks.schema import (
    AnyStep,
    EscalateStep,
    Playbook,
    SlackAlert,
    StatusPageStep,
    Step,
    WaitStep,
    matches,
)
from playbooks.service import DraftError, Setup, facts_of, started_playbooks
from playbooks.team import alert_message, escalation_message, give_up, post_once, team_key

log = logging.getLogger(__name__)
# Back-off of a failed step: 5 s, 10 s, 20 s … at most 5 minutes; given up after this many.
RETRY_FIRST = timedelta(seconds=5)
RETRY_MAX = timedelta(minutes=5)
MAX_ATTEMPTS = 12


@dataclass
class AdvanceReport:
    drafts: list[Draft] = field(default_factory=list)
    posted: list[str] = field(default_factory=list)  # team message keys
    retrying: list[str] = field(default_factory=list)  # "incident:playbook/step"


def schedule(engine: Engine, *, setup: Setup, incident_id: int, change: str, now: datetime) -> int:
    """Schedule the steps of ``change`` ("opened" or "resolved") once; returns how many.

    Resolving cancels the opened steps still waiting (no "we are investigating" after the
    all-clear), and schedules the resolved steps only of the playbooks whose opened steps
    were scheduled for this incident. Drill incidents run no steps.
    """
    detail = get_detail(engine, incident_id=incident_id)
    # A drill rehearses detection and the alert; it must not reach customers or the public page.
    if detail is None or detail.incident.drill:
        return 0
    facts = facts_of(detail)
    marks = TriggerMark.__table__  # type: ignore[attr-defined]
    runs = StepRun.__table__  # type: ignore[attr-defined]
    count = 0
    with session_scope(engine) as session:
        if change == "resolved" and session.get(TriggerMark, (incident_id, "opened")) is None:
            return 0
        marked = session.execute(
            insert_for(session, marks)
            .values(incident_id=incident_id, trigger=change, scheduled_at=now)
            .on_conflict_do_nothing(index_elements=["incident_id", "trigger"])
            .returning(marks.c.incident_id)
        ).first()
        if marked is None:
            return 0  # a replayed event: scheduled before
        if change == "resolved":
            session.execute(
                update(runs)
                .where(
                    runs.c.incident_id == incident_id,
                    runs.c.trigger == "opened",
                    runs.c.status == "scheduled",
                )
                .values(status="cancelled", last_error="the incident was resolved first")
            )
        # An all-clear follows only what was said: the playbooks whose opened steps ran for
        # this incident, not those that would match it now that other anomalies have joined.
        started = started_playbooks(session, incident_id=incident_id)
        for playbook in setup.catalogue.playbooks:
            if change == "resolved" and playbook.name not in started:
                continue
            if change != "resolved" and not matches(playbook, facts):
                continue
            for position, step, minutes in playbook.schedule(change):
                session.execute(
                    insert_for(session, runs)
                    .values(
                        incident_id=incident_id,
                        playbook=playbook.name,
                        step_id=step.id,
                        kind=step.kind,
                        trigger=change,
                        position=position,
                        status="scheduled",
                        due_at=now + timedelta(minutes=minutes),
                        attempts=0,
                    )
                    .on_conflict_do_nothing(index_elements=["incident_id", "playbook", "step_id"])
                )
                count += 1
        if change == "opened" and count == 0:
            # Nothing matched these facts yet. Under load the first choice can see a thin,
            # early incident (global alone) that grows within a second; without a mark the
            # reconciler chooses again after its grace, on the facts as they are then.
            session.execute(
                delete(marks).where(marks.c.incident_id == incident_id, marks.c.trigger == change)
            )
    return count


def unscheduled(
    engine: Engine, *, now: datetime, grace: timedelta, window: timedelta
) -> list[tuple[int, str]]:
    """(incident, change) pairs whose steps an agent should have scheduled but did not.

    Paged incidents opened between ``window`` and ``grace`` ago without an "opened" mark, and
    resolved incidents whose playbooks started but whose "resolved" steps were never scheduled:
    those opened within the window, and older ones resolved within it (a long outage resolved
    by hand from the web app, which publishes no event).
    """
    paged = (
        col(Incident.severity).in_(PAGED_SEVERITIES),
        col(Incident.drill).is_(False),
    )
    with Session(engine) as session:
        recent = session.exec(
            select(Incident).where(
                *paged,
                col(Incident.opened_at) >= now - window,
                col(Incident.opened_at) <= now - grace,
            )
        ).all()
        resolved_lately = session.exec(
            select(Incident).where(
                *paged,
                col(Incident.opened_at) < now - window,
                Incident.status == "resolved",
                col(Incident.resolved_at) >= now - window,
                col(Incident.resolved_at) <= now - grace,
            )
        ).all()
        ids = [i.id for i in [*recent, *resolved_lately]]
        marked = {
            (int(m.incident_id), m.trigger)
            for m in session.exec(
                select(TriggerMark).where(col(TriggerMark.incident_id).in_(ids))
            ).all()
        }
    missing: list[tuple[int, str]] = []
    for incident in recent:
        assert incident.id is not None
        if (incident.id, "opened") not in marked:
            missing.append((incident.id, "opened"))
        elif incident.status == "resolved" and (incident.id, "resolved") not in marked:
            missing.append((incident.id, "resolved"))
    for incident in resolved_lately:
        assert incident.id is not None
        # Only an all-clear for playbooks that started: never "opened" steps for an old,
        # finished incident.
        if (incident.id, "opened") in marked and (incident.id, "resolved") not in marked:
            missing.append((incident.id, "resolved"))
    return missing


def due(engine: Engine, *, now: datetime, limit: int = 100) -> list[int]:
    """Scheduled steps whose time has come, in playbook order."""
    with Session(engine) as session:
        rows = session.exec(
            select(StepRun.id)
            .where(StepRun.status == "scheduled", col(StepRun.due_at) <= now)
            # Playbook order, not due order: a retried step comes before the ones it holds up.
            .order_by(col(StepRun.incident_id), col(StepRun.playbook), col(StepRun.position))
            .limit(limit)
        ).all()
    return [int(r) for r in rows if r is not None]


async def advance_due(
    engine: Engine,
    *,
    setup: Setup,
    now: datetime,
    notifier_for: Callable[[str | None], Notifier],
) -> AdvanceReport:
    """One pass: run every due step whose earlier steps are finished."""
    report = AdvanceReport()
    for run_id in await asyncio.to_thread(due, engine, now=now):
        await run_step(
            engine, setup=setup, run_id=run_id, now=now, notifier_for=notifier_for, report=report
        )
    return report


@dataclass(frozen=True)
class _Ready:
    run: StepRun
    incident: Incident


def _ready(engine: Engine, run_id: int) -> _Ready | None:
    """The run and its incident, or None when it is not scheduled or an earlier step (other
    than an escalation) is not finished: steps run in order, even while one is retried."""
    with Session(engine, expire_on_commit=False) as session:
        run = session.get(StepRun, run_id)
        if run is None or run.status != "scheduled":
            return None
        earlier = session.exec(
            select(StepRun.id).where(
                StepRun.incident_id == run.incident_id,
                StepRun.playbook == run.playbook,
                StepRun.trigger == run.trigger,
                StepRun.status == "scheduled",
                # An escalation is a deadline, not a stage: it holds up nothing after it.
                StepRun.kind != "escalate",
                col(StepRun.position) < run.position,
            )
        ).first()
        incident = session.get(Incident, run.incident_id)
        if earlier is not None or incident is None:
            return None
        session.expunge_all()
        return _Ready(run, incident)


async def run_step(
    engine: Engine,
    *,
    setup: Setup,
    run_id: int,
    now: datetime,
    notifier_for: Callable[[str | None], Notifier],
    report: AdvanceReport,
) -> None:
    """Run one due step and record the outcome; a failure is retried later."""
    ready = await asyncio.to_thread(_ready, engine, run_id)
    if ready is None:
        return
    run, incident = ready.run, ready.incident
    name = f"{run.incident_id}:{run.playbook}/{run.step_id}"
    try:
        playbook = setup.playbook(run.playbook)
        step: AnyStep = next(s for s in playbook.steps if s.id == run.step_id)
    except (DraftError, StopIteration):
        await asyncio.to_thread(_finish, engine, run_id, "skipped", "no longer configured", now)
        return
    try:
        reason = ""
        if isinstance(step, Step | StatusPageStep):
            report.drafts += await asyncio.to_thread(
                draft_step,
                engine,
                setup=setup,
                incident_id=run.incident_id,
                playbook=playbook,
                step=step,
                now=now,
            )
        elif isinstance(step, SlackAlert | EscalateStep):
            if isinstance(step, EscalateStep) and incident.acknowledged_at is not None:
                reason = f"acknowledged by {incident.acknowledged_by}"
            elif isinstance(step, EscalateStep) and incident.status == "resolved":
                reason = "the incident was resolved"
            else:
                await _post_team(
                    engine,
                    run=run,
                    playbook=playbook,
                    step=step,
                    notifier_for=notifier_for,
                    now=now,
                    report=report,
                )
        else:
            assert isinstance(step, WaitStep)  # a wait only delays the steps after it
        await asyncio.to_thread(
            _finish, engine, run_id, "skipped" if reason else "done", reason or None, now
        )
    except Exception as exc:  # any failure: keep the step, try again later
        log.warning("playbook step %s failed (will retry): %s", name, exc)
        try:
            await asyncio.to_thread(_retry, engine, run_id, str(exc), now)
        except Exception:  # the database is still away: the row stays due
            log.exception("playbook step %s: cannot record the failure", name)
        report.retrying.append(name)


async def _post_team(
    engine: Engine,
    *,
    run: StepRun,
    playbook: Playbook,
    step: SlackAlert | EscalateStep,
    notifier_for: Callable[[str | None], Notifier],
    now: datetime,
    report: AdvanceReport,
) -> None:
    detail = await asyncio.to_thread(get_detail, engine, incident_id=run.incident_id)
    if detail is None:
        return
    message = (
        escalation_message(detail, playbook, step)
        if isinstance(step, EscalateStep)
        else alert_message(detail, playbook, step)
    )
    key = team_key(run.incident_id, step.id)
    notifier = notifier_for(step.slack_channel)
    if await post_once(engine, key=key, message=message, notifier=notifier, now=now):
        report.posted.append(key)


def _finish(engine: Engine, run_id: int, status: str, reason: str | None, now: datetime) -> None:
    with session_scope(engine) as session:
        run = session.get(StepRun, run_id)
        if run is None:
            return
        run.status, run.last_error, run.done_at = status, reason, now
        session.add(run)


def _retry(engine: Engine, run_id: int, error: str, now: datetime) -> None:
    with session_scope(engine) as session:
        run = session.get(StepRun, run_id)
        if run is None:
            return
        run.attempts += 1
        run.last_error = error[:2000]
        if run.attempts >= MAX_ATTEMPTS:
            run.status = "failed"
            give_up(session, key=team_key(run.incident_id, run.step_id), error=error, now=now)
            log.error("playbook step %s/%s gave up: %s", run.playbook, run.step_id, error)
        else:
            delay = min(RETRY_MAX, RETRY_FIRST * 2 ** (run.attempts - 1))
            run.due_at = now + delay
        session.add(run)


def runs_of(engine: Engine, *, incident_id: int) -> list[StepRun]:
    """The scheduled and finished steps of one incident, in order."""
    with Session(engine) as session:
        return list(
            session.exec(
                select(StepRun)
                .where(StepRun.incident_id == incident_id)
                .order_by(col(StepRun.playbook), col(StepRun.position))
            ).all()
        )
