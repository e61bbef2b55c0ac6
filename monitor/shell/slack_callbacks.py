"""Requests from outside parties: Slack buttons and modal, Twilio STOP replies, unsubscribe links.

Each is authenticated by its sender's signature, not by an API token.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable, Coroutine
from typing import Any

from faust.web import Request, Response, View

from monitor import audit
from monitor.incidents.acknowledge import UnknownIncident, acknowledge, may_acknowledge
from monitor.incidents.feedback_buttons import ACTION_PREFIX as FEEDBACK_ACTIONS
from monitor.incidents.feedback_buttons import parse_feedback_click
from monitor.incidents.slack_feedback import answer_click
from monitor.incidents.slack_labels import ACTION_PREFIX as LABEL_ACTIONS
from monitor.incidents.slack_labels import answer_label_click, parse_label_click
from monitor.settings import get_settings
from monitor.shell import resources
from monitor.shell.access import Access, page
from monitor.shell.playbook_resources import playbook_setup
from monitor.shell.playbook_views import error_response
from monitor.slack_api import signature_valid
from playbooks.approvals import approve, edit, reject
from playbooks.channels.sms import is_stop, request_signature
from playbooks.customers import (
    customers_with_phone,
    revoke,
)
from playbooks.service import DraftError, list_drafts, unsubscribe_token, utcnow
from playbooks.slack import (
    AckAction,
    DraftAction,
    EditSubmission,
    edit_modal,
    objects,
    open_modal,
    parse_ack,
    parse_action,
    parse_submission,
    payload_of,
    text,
)
from streams.cleaning import parse_id, same_secret

log = logging.getLogger(__name__)
_background: set[asyncio.Task[None]] = set()


@page("/slack/interactions", Access.SIGNED)
class SlackInteractions(View):
    """Slack's interactivity request URL: verify, answer at once, decide in the background."""

    async def post(self, request: Request) -> Response:
        settings = get_settings()
        body = await request.read()
        secret = settings.slack_signing_secret
        if secret is None or not signature_valid(
            secret=secret.get_secret_value(),
            body=body,
            timestamp=request.headers.get("X-Slack-Request-Timestamp", ""),
            signature=request.headers.get("X-Slack-Signature", ""),
        ):
            return error_response("invalid Slack signature", 401)
        submission = parse_submission(body)
        if submission is not None:
            return await self._submit(submission)
        payload = payload_of(body) or {}
        for block in objects(payload.get("actions")):
            prefix = text(block.get("action_id")).partition(":")[0]
            if prefix in _BLOCK_ACTIONS:
                _in_background(_BLOCK_ACTIONS[prefix](payload))
                return self.text("", status=200)
        decision = parse_action(body)
        if decision is not None:
            _in_background(_decide(decision))
        ack = parse_ack(body)
        if ack is not None:
            _in_background(_acknowledge(ack))
        return self.text("", status=200)

    async def _submit(self, submission: EditSubmission) -> Response:
        """The edit modal was saved: apply it now (Slack waits up to 3 s for errors)."""
        if submission.user_id not in get_settings().slack_approver_ids:
            return self.json(_modal_error("you may not edit drafts"))
        try:
            await asyncio.to_thread(
                edit,
                resources.engine(),
                setup=playbook_setup(),
                draft_id=submission.draft_id,
                actor=f"slack:{submission.user_id}",
                subject=submission.values.get("subject"),
                text=submission.values.get("text"),
                html=submission.values.get("html"),
                now=utcnow(),
            )
        except DraftError as exc:
            return self.json(_modal_error(str(exc)))
        return self.json({"response_action": "clear"})


def _in_background(work: Coroutine[Any, Any, None]) -> None:
    """Slack wants an answer within 3 s: the work runs after it."""
    task = asyncio.create_task(work)
    _background.add(task)
    task.add_done_callback(_background.discard)


async def _acknowledge(ack: AckAction) -> None:
    who = f"slack:{ack.user_name or ack.user_id}"
    settings = get_settings()
    if not may_acknowledge(
        ack.user_id,
        responders=settings.slack_responder_ids,
        approvers=settings.slack_approver_ids,
    ):
        log.warning(
            "slack acknowledgement of incident %s by %s refused: not in "
            "CRISISMON_SLACK_RESPONDERS or CRISISMON_SLACK_APPROVERS",
            ack.incident_id,
            who,
        )
        return
    try:
        done = await asyncio.to_thread(
            acknowledge, resources.engine(), incident_id=ack.incident_id, who=who, now=utcnow()
        )
    except UnknownIncident as exc:
        log.warning("slack acknowledgement by %s refused: %s", who, exc)
        return
    log.info("incident %s acknowledged in Slack by %s", ack.incident_id, done.by)


async def _incident_feedback(payload: dict[str, Any]) -> None:
    """The alert's Confirmed / False alarm buttons (monitor.incidents.slack_feedback)."""
    click = parse_feedback_click(payload)
    if click is not None:
        await answer_click(
            resources.engine(),
            click,
            settings=get_settings(),
            detector=resources.detection_config().detector,
            allowed=get_settings().slack_approver_ids,
        )


async def _sentiment_label(payload: dict[str, Any]) -> None:
    """The labelling queue's Negative / Neutral / Positive buttons (monitor.incidents.slack_labels):
    responders and approvers only, the first click wins."""
    click = parse_label_click(payload)
    if click is not None:
        settings = get_settings()
        await answer_label_click(
            resources.engine(),
            click,
            token=settings.slack_bot_token,
            allowed=settings.slack_responder_ids | settings.slack_approver_ids,
            now=utcnow(),
            base_url=settings.slack_base_url,
        )


# Buttons by action_id prefix (``prefix:…``); each handler reads its own payload in the
# background. Draft buttons (crisismon_approve …) are handled below, by parse_action.
_BLOCK_ACTIONS: dict[str, Callable[[dict[str, Any]], Coroutine[Any, Any, None]]] = {
    FEEDBACK_ACTIONS: _incident_feedback,
    LABEL_ACTIONS: _sentiment_label,
}


def _modal_error(message: str) -> dict[str, Any]:
    return {"response_action": "errors", "errors": {"text": message[:150]}}


async def _open_editor(action: DraftAction) -> None:
    settings = get_settings()
    drafts = await asyncio.to_thread(list_drafts, resources.engine(), draft_id=action.draft_id)
    if not drafts or settings.slack_bot_token is None:
        log.warning("cannot open the edit modal for draft %s", action.draft_id)
        return
    problem = await open_modal(
        token=settings.slack_bot_token,
        trigger_id=action.trigger_id,
        view=edit_modal(drafts[0]),
        base_url=settings.slack_base_url,
    )
    if problem:
        log.warning("edit modal for draft %s not opened: %s", action.draft_id, problem)


async def _decide(action: DraftAction) -> None:
    actor = f"slack:{action.user_id}"
    if action.user_id not in get_settings().slack_approver_ids:
        log.warning("slack user %s may not %s drafts", action.user_id, action.decision)
        return
    if action.decision == "edit":
        await _open_editor(action)
        return
    engine, now = resources.engine(), utcnow()
    try:
        if action.decision == "approve":
            rows = await asyncio.to_thread(
                approve,
                engine,
                setup=playbook_setup(),
                draft_id=action.draft_id,
                actor=actor,
                expected_hash=action.content_hash or None,
                now=now,
            )
            log.info(
                "draft %s approved in Slack by %s: %d outbox rows", action.draft_id, actor, rows
            )
        else:
            await asyncio.to_thread(
                reject, engine, draft_id=action.draft_id, actor=actor, reason="slack", now=now
            )
    except DraftError as exc:
        log.warning("slack %s of draft %s refused: %s", action.decision, action.draft_id, exc)


@page("/api/sms/inbound", Access.SIGNED)
class SmsInbound(View):
    """Twilio's incoming-message webhook: a STOP reply withdraws SMS consent."""

    async def post(self, request: Request) -> Response:
        settings = get_settings()
        form = {k: str(v) for k, v in (await request.post()).items()}
        token = settings.sms_auth_token
        url = playbook_setup().public_url.rstrip("/") + "/api/sms/inbound"
        expected = request_signature(token.get_secret_value(), url, form) if token else ""
        given = request.headers.get("X-Twilio-Signature", "")
        if not same_secret(given, expected):
            return error_response("invalid Twilio signature", 403)
        if is_stop(form.get("Body", "")):
            phone = form.get("From", "")
            for customer_id in await asyncio.to_thread(
                customers_with_phone, resources.engine(), phone=phone
            ):
                changed = await asyncio.to_thread(
                    revoke,
                    resources.engine(),
                    customer_id=customer_id,
                    channel="sms",
                    now=utcnow(),
                    how="stop",
                    who=f"customer:{customer_id} (SMS reply)",
                )
                if changed:
                    await asyncio.to_thread(_audit_opt_out, customer_id, "sms")
        return self.text("<Response/>", content_type="text/xml")


@page("/unsubscribe", Access.SIGNED)
class Unsubscribe(View):
    """The link in every email and SMS (GET), and one-click List-Unsubscribe-Post (POST)."""

    async def get(self, request: Request) -> Response:
        return await self._unsubscribe(request)

    async def post(self, request: Request) -> Response:
        return await self._unsubscribe(request)

    async def _unsubscribe(self, request: Request) -> Response:
        customer = parse_id(request.query.get("c", ""))
        channel, token = request.query.get("ch", ""), request.query.get("t", "")
        secret = playbook_setup().unsubscribe_secret
        if customer is None or not same_secret(token, unsubscribe_token(secret, customer, channel)):
            return self.html("<p>This unsubscribe link is not valid.</p>", status=400)
        engine, now = resources.engine(), utcnow()
        changed = await asyncio.to_thread(
            revoke,
            engine,
            customer_id=customer,
            channel=channel,
            now=now,
            how="unsubscribe",
            who=f"customer:{customer} (unsubscribe link)",
        )
        if changed:
            await asyncio.to_thread(_audit_opt_out, customer, channel)
        return self.html(f"<p>You will get no more crisis messages by {channel}.</p>")


def _audit_opt_out(customer_id: int, channel: str) -> None:
    from monitor.storage.db import session_scope

    with session_scope(resources.engine()) as session:
        audit.append(
            session,
            actor=f"customer:{customer_id}",
            action="opt-out",
            subject=f"customer:{customer_id}",
            detail={"channel": channel},
            now=utcnow(),
        )
