"""Access and erasure requests over the web API (role admin): one person's data out, or gone.

GET /api/customers/ID/export, and POST /api/customers/ID/erase (or DELETE /api/customers/ID);
ID is the customer's external id (or internal id), percent-encoded where it needs to be.
"""

from __future__ import annotations

import asyncio
import logging

from faust.web import Request, Response, View

from monitor.app import app
from monitor.privacy import PseudonymKeyError
from monitor.shell import resources
from monitor.shell.access import Access, page
from monitor.shell.playbook_resources import playbook_setup
from monitor.shell.playbook_views import actor_name, error_response
from playbooks.erasure import erase_person
from playbooks.export import export_person
from playbooks.person import PseudonymKeyNeeded, UnknownCustomer
from playbooks.service import utcnow

log = logging.getLogger(__name__)


async def _export(ref: str) -> Response:
    try:
        document = await asyncio.to_thread(
            export_person,
            resources.engine(),
            ref=ref,
            pseudonymiser=resources.privacy().pseudonymiser,
            setup=playbook_setup(),
            now=utcnow(),
        )
    except UnknownCustomer as exc:
        return error_response(str(exc), 404)
    except (PseudonymKeyNeeded, PseudonymKeyError) as exc:  # it would miss their mentions
        return error_response(str(exc), 409)
    return app.web.json(document)


async def _erase(ref: str, actor: str) -> Response:
    try:
        report = await asyncio.to_thread(
            erase_person,
            resources.engine(),
            ref=ref,
            pseudonymiser=resources.privacy().pseudonymiser,
            actor=f"web:{actor}",
            now=utcnow(),
        )
    except UnknownCustomer as exc:
        return error_response(str(exc), 404)
    except (PseudonymKeyNeeded, PseudonymKeyError) as exc:  # it would miss their mentions
        return error_response(str(exc), 409)
    log.info("customer %s erased by web:%s", report.customer_id, actor)
    return app.web.json({"erased": report.as_dict()})


@page("/api/customers/{customer}/{action}", Access.ADMIN)
class CustomerRequest(View):
    """GET .../export: everything held about them; POST .../erase: erase them."""

    async def get(self, request: Request, customer: str, action: str) -> Response:
        if action != "export":
            return error_response("use GET /api/customers/ID/export", 404)
        return await _export(customer)

    async def post(self, request: Request, customer: str, action: str) -> Response:
        if action != "erase":
            return error_response("use POST /api/customers/ID/erase", 404)
        return await _erase(customer, actor_name(request))


@page("/api/customers/{customer}", Access.ADMIN)
class CustomerErasure(View):
    """DELETE: erase them (the same as POST .../erase)."""

    async def delete(self, request: Request, customer: str) -> Response:
        return await _erase(customer, actor_name(request))
