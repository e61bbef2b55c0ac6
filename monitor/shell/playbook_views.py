"""Web API for drafts, customers and the outbox; roles come from bearer tokens."""

from __future__ import annotations

import asyncio
import logging
from typing import Any

from faust.web import Request, Response, View
from pydantic import ValidationError

from monitor.app import app
from monitor.incidents.acknowledge import UnknownIncident, acknowledge
from monitor.settings import API_ROLES, get_settings
from monitor.shell import resources
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
from streams.cleaning import BadJson, parse_id, parse_json, same_secret

log = logging.getLogger(__name__)
MAX_CUSTOMERS_PER_REQUEST = 1000


def tokens() -> dict[str, tuple[str, str]]:
    """CRISISMON_API_TOKENS 'TOKEN=NAME:ROLE,…' as {token: (name, role)}; the settings refused
    a malformed one at start."""
    return get_settings().api_token_roles


def _who(request: Request, needs: str) -> tuple[str | None, Response | None]:
    """The token's owner, or the 401/403 to answer. Only ``Authorization: Bearer TOKEN``
    counts: a bare token (or any other scheme) is refused, as RFC 6750 says."""
    scheme, _, given = request.headers.get("Authorization", "").strip().partition(" ")
    given = given.strip() if scheme.lower() == "bearer" else ""
    for token, (name, role) in tokens().items():
        if same_secret(given, token):
            if needs not in API_ROLES[role]:
                return None, error_response(f"role {role} may not {needs}", 403)
            return name, None
    return None, error_response("send Authorization: Bearer TOKEN (see CRISISMON_API_TOKENS)", 401)


def error_response(message: str, status: int) -> Response:
    return app.web.json({"error": message}, status=status)


def _public(draft: Draft) -> dict[str, Any]:
    return draft.model_dump(mode="json")


async def _body(request: Request) -> dict[str, Any]:
    """The JSON object of the body ({} when empty); `BadJson` when it is not JSON."""
    raw = await request.read()
    if not raw:
        return {}
    value = parse_json(raw)
    return value if isinstance(value, dict) else {}


@app.page("/api/drafts")
class Drafts(View):
    async def get(self, request: Request) -> Response:
        _, denied = _who(request, "read")
        if denied:
            return denied
        rows = await asyncio.to_thread(
            list_drafts, resources.engine(), incident_id=parse_id(request.query.get("incident"))
        )
        return self.json({"drafts": [_public(d) for d in rows]})


@app.page("/api/drafts/{draft_id}/{action}")
class DraftDecision(View):
    """POST approve {content_hash?}, reject {reason?}, edit {subject?, text?, html?}."""

    async def post(self, request: Request, draft_id: str, action: str) -> Response:
        number = parse_id(draft_id)
        if action not in ("approve", "reject", "edit") or number is None:
            return error_response("use /api/drafts/ID/approve, /reject or /edit", 404)
        actor, denied = _who(request, action)
        if denied:
            return denied
        try:
            body = await _body(request)
        except BadJson as exc:
            return error_response(f"body is not valid JSON: {exc}", 400)
        for field in ("content_hash", "reason", "subject", "text", "html"):
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


@app.page("/api/customers")
class Customers(View):
    """POST one customer (object) or up to 1,000 (array), fields as in the import files."""

    async def post(self, request: Request) -> Response:
        actor, denied = _who(request, "customers")
        if denied:
            return denied
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


@app.page("/api/outbox")
class Outbox(View):
    """Outbox rows per channel and status: failures (dead, pending retries) are visible."""

    async def get(self, request: Request) -> Response:
        _, denied = _who(request, "read")
        if denied:
            return denied
        return self.json({"channels": await asyncio.to_thread(channel_health, resources.engine())})


@app.page("/api/incidents/{incident_id}/ack")
class IncidentAck(View):
    """POST: the token's owner takes the incident; escalation steps stand down."""

    async def post(self, request: Request, incident_id: str) -> Response:
        number = parse_id(incident_id)
        if number is None:
            return error_response("use /api/incidents/ID/ack with a numeric id", 404)
        actor, denied = _who(request, "acknowledge")
        if denied:
            return denied
        try:
            done = await asyncio.to_thread(
                acknowledge,
                resources.engine(),
                incident_id=number,
                who=f"web:{actor}",
                now=utcnow(),
            )
        except UnknownIncident as exc:
            return error_response(str(exc), 404)
        return self.json(
            {
                "incident": done.incident_id,
                "acknowledged_by": done.by,
                "acknowledged_at": done.at.isoformat(),
                "already": not done.first,
            }
        )


@app.page("/api/status")
class StatusPageJson(View):
    """The status page as JSON, for widgets and other sites."""

    async def get(self, request: Request) -> Response:
        page = await asyncio.to_thread(read_page, resources.engine())
        return self.json(as_json(page))
