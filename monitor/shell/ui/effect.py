"""Did our message help? /incidents/ID/effect: each messaged segment's negative share and volume
around each send, a chart per segment with a marker per send, and the hour before against the
hour after in a table. The data is ``playbooks.effect``, as ``GET /api/incidents/ID/effect``."""

from __future__ import annotations

import asyncio

from faust.web import Request, Response, View

from monitor.shell.access import Access, page
from monitor.shell.approval_views import incident_effect
from monitor.shell.ui import page_html, render
from playbooks.effect import UnknownIncident
from streams.cleaning import parse_id


@page("/incidents/{incident_id}/effect", Access.VIEWER)
class IncidentEffectPage(View):
    """Each messaged segment before and after each send of the incident."""

    async def get(self, request: Request, incident_id: str) -> Response:
        number = parse_id(incident_id)
        try:
            if number is None:
                raise UnknownIncident(f"no incident {incident_id[:40]}")
            effect = await asyncio.to_thread(incident_effect, number)
        except UnknownIncident as exc:
            page = render("error.html", request, status=404, message=str(exc))
            return self.html(page, status=404)
        return page_html(self, request, "effect.html", active="incidents", effect=effect)
