"""Playbook resources shared by agents and views, created once per process."""

from __future__ import annotations

import asyncio
import logging
from datetime import timedelta
from functools import lru_cache

from monitor.incidents.notifiers import Notifier, build_notifier
from monitor.settings import get_settings
from monitor.shell import resources
from playbooks.approval_review import DraftReview, review_draft
from playbooks.channels import Channel, build_channels
from playbooks.policy import load_sending
from playbooks.schema import load_all
from playbooks.service import Setup, new_secret, utcnow

log = logging.getLogger(__name__)


@lru_cache(maxsize=1)
def playbook_setup() -> Setup:
    """Segments, playbooks and sending rules. `run` and `worker` refuse to start with a broken
    playbook (`config_check`); one that breaks otherwise is logged and left out."""
    settings = get_settings()
    segments, catalogue = load_all(settings.config_dir)
    for error in catalogue.errors:
        log.error("playbook not loaded: %s", error)
    secret = settings.unsubscribe_secret
    if secret is None:
        log.warning(
            "CRISISMON_UNSUBSCRIBE_SECRET is not set: unsubscribe links work until restart only"
        )
    return Setup(
        segments=segments,
        catalogue=catalogue,
        sending=load_sending(settings.config_dir / "sending.yaml"),
        public_url=settings.public_url or f"http://{settings.web_host}:{settings.web_port}",
        unsubscribe_secret=secret.get_secret_value() if secret else new_secret(),
        live_horizon=timedelta(seconds=resources.detection_config().live_horizon_seconds),
        status_page_title=settings.status_page_title,
    )


@lru_cache(maxsize=1)
def channels() -> dict[str, Channel]:
    from playbooks.channels.status_page import StatusPageChannel

    built = build_channels(get_settings())
    built["status_page"] = StatusPageChannel(resources.engine())
    return built


@lru_cache(maxsize=16)
def team_notifier(slack_channel: str | None) -> Notifier:
    """The alert notifier, posting to another Slack channel when a step names one."""
    settings = get_settings()
    if slack_channel and settings.slack_configured:
        return build_notifier(settings.model_copy(update={"slack_channel": slack_channel}))
    return resources.notifier()


async def reviewed(draft_id: int) -> DraftReview:
    """One draft as an approver reviews it, read off the event loop (`DraftError` when there
    is none): the approvals page, its preview and GET /api/drafts/ID show the same review."""
    return await asyncio.to_thread(
        review_draft,
        resources.engine(),
        setup=playbook_setup(),
        pseudonymiser=resources.privacy().pseudonymiser,
        draft_id=draft_id,
        now=utcnow(),
    )
