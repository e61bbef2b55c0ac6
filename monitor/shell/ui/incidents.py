"""The incident pages: /incidents (open and recent, live) and /incidents/ID (the alert, a chart
per series, example mentions, the timeline and the responder's buttons).

The queries are `monitor.incidents.views` and `playbooks.incident_timeline`; the buttons call
`monitor.incidents.actions.act`, as the JSON API does.
"""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime
from typing import Any

from faust.web import Request, Response, View

from monitor.incidents.actions import ACTIONS, ActionError, act
from monitor.incidents.views import list_summaries
from monitor.shell import resources
from monitor.shell.access import Access, page, role_allows
from monitor.shell.auth import principal
from monitor.shell.ui import page_html
from playbooks.incident_timeline import incident_page_with_messages
from streams.cleaning import parse_id

# What each button says, and what the page says once it is done.
BUTTONS = {
    "ack": ("Acknowledge", "Acknowledged: you have it."),
    "resolve": ("Resolve", "Resolved."),
    "false-alarm": ("False alarm", "Marked a false alarm: its series alert a little less."),
    "confirm": ("Confirm", "Confirmed as a real crisis."),
}
assert set(BUTTONS) == set(ACTIONS)


def web_actor(request: Request) -> str | None:
    """Who is acting, as the audit log records people who act from the web app or its API."""
    who = principal(request)
    return f"web:{who.name}" if who is not None else None


@page("/incidents", Access.VIEWER)
class IncidentList(View):
    """Open and recent incidents; the list reloads itself when the live stream says one is new
    or changed (``?part=list`` is the list alone, for that reload)."""

    async def get(self, request: Request) -> Response:
        summaries = await asyncio.to_thread(list_summaries, resources.engine())
        template = "incident_list.html" if request.query.get("part") == "list" else "incidents.html"
        return page_html(self, request, template, active="incidents", incidents=summaries)


@page("/incidents/{incident_id}", {"GET": Access.VIEWER, "POST": Access.RESPONDER})
class IncidentDetailPage(View):
    """One incident; POST ``action`` (ack, resolve, false-alarm, confirm) from its buttons."""

    async def get(self, request: Request, incident_id: str) -> Response:
        return await self._show(request, incident_id, done=request.query.get("done", ""))

    async def post(self, request: Request, incident_id: str) -> Response:
        number = parse_id(incident_id)
        form = await request.post()
        action = str(form.get("action", ""))
        who = web_actor(request)
        if number is None:
            return await self._show(request, incident_id)
        if action not in ACTIONS or who is None:
            error = "Choose one of the buttons." if who else "Sign in first."
            return await self._show(request, incident_id, error=error, status=400)
        try:
            await asyncio.to_thread(
                act,
                resources.engine(),
                incident_id=number,
                action=action,
                who=who,
                settings=resources.detection_config().detector,
                now=datetime.now(UTC),
            )
        except ActionError as exc:
            return await self._show(request, incident_id, error=str(exc), status=exc.status)
        # Post/redirect/get: reloading the page does not act twice.
        return self.text("", status=303, headers={"Location": f"/incidents/{number}?done={action}"})

    async def _show(
        self,
        request: Request,
        incident_id: str,
        *,
        done: str = "",
        error: str = "",
        status: int = 200,
    ) -> Response:
        number = parse_id(incident_id)
        found = None
        if number is not None:
            found = await asyncio.to_thread(
                incident_page_with_messages, resources.engine(), incident_id=number
            )
        if found is None:
            return page_html(
                self,
                request,
                "incident_missing.html",
                status=404,
                active="incidents",
                incident_id=incident_id[:40],
            )
        who = principal(request)
        context: dict[str, Any] = {
            "active": "incidents",
            "incident": found,
            "charts": [chart.as_json() for chart in found.charts],
            "buttons": BUTTONS,
            "can_act": who is not None and role_allows(who.role, Access.RESPONDER),
            "done": BUTTONS[done][1] if done in BUTTONS else "",
            "error": error,
        }
        return page_html(self, request, "incident.html", status=status, **context)
