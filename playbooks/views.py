"""Web API for drafts (roles by bearer token), Slack buttons, and unsubscribe links."""

from __future__ import annotations

import asyncio
import hmac
import json
import logging
from typing import Any

from faust.web import Request, Response, View
from pydantic import ValidationError

from monitor import resources
from monitor.app import app
from monitor.settings import get_settings
from playbooks import audit
from playbooks.approvals import approve, edit, reject
from playbooks.channels.sms import is_stop, request_signature
from playbooks.customers import (
    CustomerIn,
    customers_with_phone,
    describe,
    from_flat,
    revoke,
    upsert,
)
from playbooks.flows import channel_health
from playbooks.models import Draft
from playbooks.resources import playbook_setup
from playbooks.service import DraftError, list_drafts, unsubscribe_token, utcnow
from playbooks.slack import (
    DraftAction,
    EditSubmission,
    edit_modal,
    open_modal,
    parse_action,
    parse_submission,
    signature_valid,
)

log = logging.getLogger(__name__)
ROLES = {
    "approver": {"approve", "reject", "edit", "read"},
    "editor": {"edit", "read"},
    "importer": {"customers", "read"},
}
MAX_CUSTOMERS_PER_REQUEST = 1000
_background: set[asyncio.Task[None]] = set()


def tokens() -> dict[str, tuple[str, str]]:
    """CRISISMON_API_TOKENS 'TOKEN=NAME:ROLE,…' as {token: (name, role)}."""
    raw = get_settings().api_tokens
    found: dict[str, tuple[str, str]] = {}
    for item in (raw.get_secret_value() if raw else "").split(","):
        token, _, who = item.strip().partition("=")
        name, _, role = who.partition(":")
        if token and name and role in ROLES:
            found[token] = (name, role)
    return found


def _who(request: Request, needs: str) -> tuple[str | None, Response | None]:
    header = request.headers.get("Authorization", "")
    given = header.removeprefix("Bearer ").strip()
    for token, (name, role) in tokens().items():
        if given and hmac.compare_digest(given, token):
            if needs not in ROLES[role]:
                return None, _error(f"role {role} may not {needs}", 403)
            return name, None
    return None, _error("send Authorization: Bearer TOKEN (see CRISISMON_API_TOKENS)", 401)


def _error(message: str, status: int) -> Response:
    return app.web.json({"error": message}, status=status)


def _public(draft: Draft) -> dict[str, Any]:
    return draft.model_dump(mode="json")


async def _body(request: Request) -> dict[str, Any]:
    raw = await request.read()
    if not raw:
        return {}
    value = json.loads(raw)
    return value if isinstance(value, dict) else {}


@app.page("/api/drafts")
class Drafts(View):
    async def get(self, request: Request) -> Response:
        _, denied = _who(request, "read")
        if denied:
            return denied
        incident = request.query.get("incident")
        rows = await asyncio.to_thread(
            list_drafts,
            resources.engine(),
            incident_id=int(incident) if incident and incident.isdigit() else None,
        )
        return self.json({"drafts": [_public(d) for d in rows]})


@app.page("/api/drafts/{draft_id}/{action}")
class DraftDecision(View):
    """POST approve {content_hash?}, reject {reason?}, edit {subject?, text?, html?}."""

    async def post(self, request: Request, draft_id: str, action: str) -> Response:
        if action not in ("approve", "reject", "edit") or not draft_id.isdigit():
            return _error("use /api/drafts/ID/approve, /reject or /edit", 404)
        actor, denied = _who(request, action)
        if denied:
            return denied
        try:
            body = await _body(request)
        except (json.JSONDecodeError, UnicodeDecodeError):
            return _error("body is not valid JSON", 400)
        for field in ("content_hash", "reason", "subject", "text", "html"):
            if body.get(field) is not None and not isinstance(body[field], str):
                return _error(f"{field} must be a string", 400)
        engine, setup, now = resources.engine(), playbook_setup(), utcnow()
        try:
            if action == "approve":
                rows = await asyncio.to_thread(
                    approve,
                    engine,
                    setup=setup,
                    draft_id=int(draft_id),
                    actor=f"web:{actor}",
                    expected_hash=body.get("content_hash"),
                    now=now,
                )
                return self.json({"approved": int(draft_id), "outbox_rows": rows})
            if action == "reject":
                await asyncio.to_thread(
                    reject,
                    engine,
                    draft_id=int(draft_id),
                    actor=f"web:{actor}",
                    reason=str(body.get("reason", "")),
                    now=now,
                )
                return self.json({"rejected": int(draft_id)})
            draft = await asyncio.to_thread(
                edit,
                engine,
                setup=setup,
                draft_id=int(draft_id),
                actor=f"web:{actor}",
                subject=body.get("subject"),
                text=body.get("text"),
                html=body.get("html"),
                now=now,
            )
            return self.json({"draft": _public(draft)})
        except DraftError as exc:
            return _error(str(exc), exc.status)


@app.page("/api/customers")
class Customers(View):
    """POST one customer (object) or up to 1,000 (array), fields as in the import files."""

    async def post(self, request: Request) -> Response:
        _, denied = _who(request, "customers")
        if denied:
            return denied
        try:
            body = json.loads(await request.read())
        except (json.JSONDecodeError, UnicodeDecodeError):
            return _error("body is not valid JSON", 400)
        items = body if isinstance(body, list) else [body]
        if not items or len(items) > MAX_CUSTOMERS_PER_REQUEST:
            return _error(f"send 1 to {MAX_CUSTOMERS_PER_REQUEST} customers", 400)
        parsed: list[CustomerIn] = []
        errors: list[dict[str, Any]] = []
        for index, item in enumerate(items):
            try:
                if not isinstance(item, dict):
                    raise ValueError("not a JSON object")
                parsed.append(from_flat(item))
            except ValidationError as exc:
                errors.append({"index": index, "error": describe(exc)})
            except ValueError as exc:
                errors.append({"index": index, "error": str(exc)})
        if errors:
            return self.json({"error": errors[0]["error"], "errors": errors}, status=400)
        count = await asyncio.to_thread(upsert, resources.engine(), customers=parsed, now=utcnow())
        return self.json({"upserted": count})


@app.page("/api/outbox")
class Outbox(View):
    """Outbox rows per channel and status: failures (dead, pending retries) are visible."""

    async def get(self, request: Request) -> Response:
        _, denied = _who(request, "read")
        if denied:
            return denied
        return self.json({"channels": await asyncio.to_thread(channel_health, resources.engine())})


@app.page("/slack/interactions")
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
            return _error("invalid Slack signature", 401)
        submission = parse_submission(body)
        if submission is not None:
            return await self._submit(submission)
        action = parse_action(body)
        if action is not None:
            task = asyncio.create_task(_decide(action))
            _background.add(task)
            task.add_done_callback(_background.discard)
        return self.text("", status=200)

    async def _submit(self, submission: EditSubmission) -> Response:
        """The edit modal was saved: apply it now (Slack waits up to 3 s for errors)."""
        if submission.user_id not in _slack_approvers():
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


def _modal_error(message: str) -> dict[str, Any]:
    return {"response_action": "errors", "errors": {"text": message[:150]}}


def _slack_approvers() -> set[str]:
    return {u.strip() for u in get_settings().slack_approvers.split(",") if u.strip()}


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
    if action.user_id not in _slack_approvers():
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


@app.page("/api/sms/inbound")
class SmsInbound(View):
    """Twilio's incoming-message webhook: a STOP reply withdraws SMS consent."""

    async def post(self, request: Request) -> Response:
        settings = get_settings()
        form = {k: str(v) for k, v in (await request.post()).items()}
        token = settings.sms_auth_token
        url = playbook_setup().public_url.rstrip("/") + "/api/sms/inbound"
        expected = request_signature(token.get_secret_value(), url, form) if token else ""
        given = request.headers.get("X-Twilio-Signature", "")
        if not expected or not hmac.compare_digest(given, expected):
            return _error("invalid Twilio signature", 403)
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
                )
                if changed:
                    await asyncio.to_thread(_audit_opt_out, customer_id, "sms")
        return self.text("<Response/>", content_type="text/xml")


@app.page("/unsubscribe")
class Unsubscribe(View):
    """The link in every email and SMS (GET), and one-click List-Unsubscribe-Post (POST)."""

    async def get(self, request: Request) -> Response:
        return await self._unsubscribe(request)

    async def post(self, request: Request) -> Response:
        return await self._unsubscribe(request)

    async def _unsubscribe(self, request: Request) -> Response:
        customer, channel = request.query.get("c", ""), request.query.get("ch", "")
        token = request.query.get("t", "")
        secret = playbook_setup().unsubscribe_secret
        if not customer.isdigit() or not hmac.compare_digest(
            token, unsubscribe_token(secret, int(customer), channel)
        ):
            return self.html("<p>This unsubscribe link is not valid.</p>", status=400)
        engine, now = resources.engine(), utcnow()
        changed = await asyncio.to_thread(
            revoke, engine, customer_id=int(customer), channel=channel, now=now
        )
        if changed:
            await asyncio.to_thread(_audit_opt_out, int(customer), channel)
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
