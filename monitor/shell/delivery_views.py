"""GET /api/deliveries/ID/explain: why a customer got a message (roles approver and admin).

ID is the delivery's id or its idempotency key (``incident:customer:step``).
"""

from __future__ import annotations

import asyncio
from typing import Any

from faust.web import Request, Response, View

from monitor.app import app
from monitor.shell import resources
from monitor.shell.playbook_resources import playbook_setup
from monitor.shell.playbook_views import error_response, tokens
from playbooks.explain import UnknownDelivery, explain, find_delivery
from playbooks.service import utcnow
from streams.cleaning import same_secret

# The chain names the customer and quotes the approval: people who decide on messages only.
EXPLAIN_ROLES = frozenset({"approver", "admin"})


def _allowed(request: Request) -> Response | None:
    """None for a bearer token of an allowed role, else the 401 or 403 to answer."""
    scheme, _, given = request.headers.get("Authorization", "").strip().partition(" ")
    given = given.strip() if scheme.lower() == "bearer" else ""
    for token, (_name, role) in tokens().items():
        if same_secret(given, token):
            if role not in EXPLAIN_ROLES:
                return error_response(f"role {role} may not explain deliveries", 403)
            return None
    return error_response("send Authorization: Bearer TOKEN (see CRISISMON_API_TOKENS)", 401)


@app.page("/api/deliveries/{delivery_id}/explain")
class DeliveryExplain(View):
    """The incident, playbook step, segment rule, approval and consent behind one delivery."""

    async def get(self, request: Request, delivery_id: str) -> Response:
        denied = _allowed(request)
        if denied:
            return denied
        try:
            chain = await asyncio.to_thread(_explain, delivery_id[:200])
        except UnknownDelivery as exc:
            return error_response(str(exc), 404)
        return self.json(chain)


def _explain(reference: str) -> dict[str, Any]:
    engine = resources.engine()
    number = find_delivery(engine, reference)
    return explain(engine, setup=playbook_setup(), delivery_id=number, now=utcnow())
