"""GET /api/deliveries/ID/explain: why a customer got a message (roles approver and admin).

ID is the delivery's id or its idempotency key (``incident:customer:step``).
"""

from __future__ import annotations

import asyncio
from typing import Any

from faust.web import Request, Response, View

from monitor.shell import resources
from monitor.shell.access import Access, page
from monitor.shell.playbook_resources import playbook_setup
from monitor.shell.playbook_views import error_response
from playbooks.explain import UnknownDelivery, explain, find_delivery
from playbooks.service import utcnow


# The chain names the customer and quotes the approval: people who decide on messages only.
@page("/api/deliveries/{delivery_id}/explain", Access.APPROVER)
class DeliveryExplain(View):
    """The incident, playbook step, segment rule, approval and consent behind one delivery."""

    async def get(self, request: Request, delivery_id: str) -> Response:
        try:
            chain = await asyncio.to_thread(_explain, delivery_id[:200])
        except UnknownDelivery as exc:
            return error_response(str(exc), 404)
        return self.json(chain)


def _explain(reference: str) -> dict[str, Any]:
    engine = resources.engine()
    number = find_delivery(engine, reference)
    return explain(engine, setup=playbook_setup(), delivery_id=number, now=utcnow())
