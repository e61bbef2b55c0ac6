"""Web API for drafts, customers and the outbox (acknowledging an incident is
monitor/shell/incident_views.py); the access middleware checks each route's
role (monitor/shell/access.py) before the view runs."""

from __future__ import annotations

import asyncio
import logging
from typing import Any

from faust.web import Request, Response, View
from pydantic import BaseModel, Field, ValidationError

from monitor.app import app
from monitor.shell import resources
from monitor.shell.access import Access, page
from monitor.shell.auth import principal
from monitor.shell.playbook_resources import playbook_setup
from playbooks.approvals import approve, edit, reject
from playbooks.customers import (
    CustomerIn,
    describe,
    from_flat,
    upsert,
)
from playbooks.flows import channel_health
from playbooks.models import Draft
from playbooks.service import DraftError, list_drafts, utcnow
from playbooks.status_page import as_json, read_page
from streams.cleaning import BadJson, parse_id, parse_json

log = logging.getLogger(__name__)
MAX_CUSTOMERS_PER_REQUEST = 1000


def actor_name(request: Request) -> str:
    """The caller's name (a user or a token) for the audit log; the middleware let only callers
    with the route's role through."""
    who = principal(request)
    assert who is not None, "a route that needs a role was called by no one"
    return who.name


def _who(request: Request, needs: str) -> tuple[str | None, Response | None]:
    """For views not yet registered with ``access.page`` (the middleware refuses those with 403
    until they declare a rule): the caller's name, or the 401 to answer. ``needs`` is unused:
    the route's declared role is what counts."""
    who = principal(request)
    if who is None:
        return None, error_response("sign in or send Authorization: Bearer TOKEN", 401)
    return who.name, None


def error_response(message: str, status: int) -> Response:
    return app.web.json({"error": message}, status=status)


def _public(draft: Draft) -> dict[str, Any]:
    """A draft for any viewer: without its stored preview, which was rendered for a real
    recipient (their external id, their signed unsubscribe link that works). ``GET
    /api/drafts/ID`` has a preview named by pseudonym, with an inert link."""
    return draft.model_dump(mode="json", exclude={"preview"})


async def _body(request: Request) -> dict[str, Any]:
    """The JSON object of the body ({} when empty); `BadJson` when it is not JSON."""
    raw = await request.read()
    if not raw:
        return {}
    value = parse_json(raw)
    return value if isinstance(value, dict) else {}


@page("/api/drafts", Access.VIEWER)
class Drafts(View):
    """The drafts, newest first (?incident=ID for one incident's)."""

    async def get(self, request: Request) -> Response:
        rows = await asyncio.to_thread(
            list_drafts, resources.engine(), incident_id=parse_id(request.query.get("incident"))
        )
        return self.json({"drafts": [_public(d) for d in rows]})


class DraftDecisionBody(BaseModel):
    """The JSON body of POST /api/drafts/ID/ACTION; each action reads its own fields."""

    content_hash: str | None = Field(
        None, description="approve: the content hash you reviewed; refused if it changed since"
    )
    reason: str | None = Field(None, description="reject: why, for the audit log")
    subject: str | None = Field(None, description="edit: the new subject")
    text: str | None = Field(None, description="edit: the new text")
    html: str | None = Field(None, description="edit: the new HTML part")


@page("/api/drafts/{draft_id}/{action}", Access.APPROVER)
class DraftDecision(View):
    """POST approve {content_hash?}, reject {reason?}, edit {subject?, text?, html?}."""

    body_models = {"POST": DraftDecisionBody}  # documents the body (GET /api/openapi.json)

    async def post(self, request: Request, draft_id: str, action: str) -> Response:
        number = parse_id(draft_id)
        if action not in ("approve", "reject", "edit") or number is None:
            return error_response("use /api/drafts/ID/approve, /reject or /edit", 404)
        actor = actor_name(request)
        try:
            body = await _body(request)
        except BadJson as exc:
            return error_response(f"body is not valid JSON: {exc}", 400)
        for field in DraftDecisionBody.model_fields:
            if body.get(field) is not None and not isinstance(body[field], str):
                return error_response(f"{field} must be a string", 400)
        engine, setup, now = resources.engine(), playbook_setup(), utcnow()
        try:
            if action == "approve":
                rows = await asyncio.to_thread(
                    approve,
                    engine,
                    setup=setup,
                    draft_id=number,
                    actor=f"web:{actor}",
                    expected_hash=body.get("content_hash"),
                    now=now,
                )
                return self.json({"approved": number, "outbox_rows": rows})
            if action == "reject":
                await asyncio.to_thread(
                    reject,
                    engine,
                    draft_id=number,
                    actor=f"web:{actor}",
                    reason=str(body.get("reason", "")),
                    now=now,
                )
                return self.json({"rejected": number})
            draft = await asyncio.to_thread(
                edit,
                engine,
                setup=setup,
                draft_id=number,
                actor=f"web:{actor}",
                subject=body.get("subject"),
                text=body.get("text"),
                html=body.get("html"),
                now=now,
            )
            return self.json({"draft": _public(draft)})
        except DraftError as exc:
            return error_response(str(exc), exc.status)


@page("/api/customers", Access.RESPONDER)
class Customers(View):
    """POST one customer (object) or up to 1,000 (array), fields as in the import files."""

    async def post(self, request: Request) -> Response:
        actor = actor_name(request)
        try:
            body = parse_json(await request.read())
        except BadJson as exc:
            return error_response(f"body is not valid JSON: {exc}", 400)
        items = body if isinstance(body, list) else [body]
        if not items or len(items) > MAX_CUSTOMERS_PER_REQUEST:
            return error_response(f"send 1 to {MAX_CUSTOMERS_PER_REQUEST} customers", 400)
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
        count = await asyncio.to_thread(
            upsert,
            resources.engine(),
            customers=parsed,
            now=utcnow(),
            pseudonymiser=resources.privacy().pseudonymiser,
            how="api",
            who=f"web:{actor}",
        )
        return self.json({"upserted": count})


@page("/api/outbox", Access.VIEWER)
class Outbox(View):
    """Outbox rows per channel and status: failures (dead, pending retries) are visible."""

    async def get(self, request: Request) -> Response:
        return self.json({"channels": await asyncio.to_thread(channel_health, resources.engine())})


@page("/api/status", Access.PUBLIC)
class StatusPageJson(View):
    """The status page as JSON, for widgets and other sites."""

    async def get(self, request: Request) -> Response:
        page = await asyncio.to_thread(read_page, resources.engine())
        return self.json(as_json(page))
