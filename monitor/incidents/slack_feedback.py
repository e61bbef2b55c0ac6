"""A click on an alert's feedback button: record it as `crisismon feedback` does, then show it.

`monitor.shell.slack_callbacks.SlackInteractions` verifies the signature, answers Slack at
once and runs `answer_click` in the background. Who may give feedback is decided as for
approving drafts: the Slack user ids in CRISISMON_SLACK_APPROVERS.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Collection
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import Engine

from detectors.config import DetectorSettings
from detectors.feedback import FeedbackError, Recorded, feedback_on, record_feedback
from monitor.incidents.alerts import render_alert
from monitor.incidents.feedback_buttons import FeedbackClick, with_feedback_shown
from monitor.incidents.service import get_detail
from monitor.settings import Settings

log = logging.getLogger(__name__)


class NotAllowed(PermissionError):
    """The Slack user is not among those who may give feedback."""


@dataclass(frozen=True, slots=True)
class Shown:
    """What the alert should now look like."""

    text: str
    blocks: list[dict[str, Any]]


def apply_click(
    engine: Engine,
    click: FeedbackClick,
    *,
    allowed: Collection[str],
    settings: DetectorSettings,
    now: datetime,
) -> tuple[Recorded, Shown]:
    """Record the verdict (same function, bounds and audit rows as the CLI) and build the
    updated alert: the message as Slack holds it, or as rendered afresh, plus who said what."""
    if click.user_id not in allowed:
        raise NotAllowed(f"slack user {click.user_id} may not give feedback")
    recorded = record_feedback(
        engine,
        incident_id=click.incident_id,
        verdict=click.verdict,
        given_by=click.given_by,
        note="from the Slack alert",
        settings=settings,
        now=now,
    )
    blocks = click.message.get("blocks")
    text = click.message.get("text")
    if not isinstance(blocks, list) or not isinstance(text, str):
        detail = get_detail(engine, incident_id=click.incident_id)
        assert detail is not None  # record_feedback found it
        alert = render_alert(detail)
        blocks, text = alert.blocks, alert.slack_text or alert.text
    given = feedback_on(engine, incident_id=click.incident_id)
    return recorded, Shown(text, with_feedback_shown(blocks, given))


async def answer_click(
    engine: Engine,
    click: FeedbackClick,
    *,
    settings: Settings,
    detector: DetectorSettings,
    allowed: Collection[str],
) -> None:
    """The background half of a click: record it, then update the alert in Slack."""
    try:
        recorded, shown = await asyncio.to_thread(
            apply_click,
            engine,
            click,
            allowed=allowed,
            settings=detector,
            now=datetime.now(UTC),
        )
    except (NotAllowed, FeedbackError) as exc:
        log.warning("feedback from Slack not recorded: %s", exc)
        return
    log.info(
        "incident #%s marked %s in Slack by %s; %d thresholds moved",
        click.incident_id,
        click.verdict,
        click.given_by,
        len(recorded.changes),
    )
    if settings.slack_bot_token is None or not click.channel or not click.message_ts:
        return
    from monitor.incidents.notifiers.slack import update_message

    problem = await update_message(
        token=settings.slack_bot_token,
        channel=click.channel,
        ts=click.message_ts,
        text=shown.text,
        blocks=shown.blocks,
        base_url=settings.slack_base_url,
    )
    if problem:
        log.warning("alert for incident #%s not updated: %s", click.incident_id, problem)
