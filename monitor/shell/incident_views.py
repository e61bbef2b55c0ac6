"""The JSON twins of the incident pages and the overview: GET /api/incidents, GET
/api/incidents/ID (with each series' chart data), POST /api/incidents/ID/ACTION, GET
/api/series and GET /api/series/keys."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime

from faust.web import Request, Response, View
from pydantic import BaseModel, ConfigDict, Field, ValidationError

from monitor.incidents.actions import ACTIONS, ActionError, act
from monitor.incidents.overview import UnknownSeries, series_keys
from monitor.incidents.views import RECENT, list_summaries
from monitor.shell import resources
from monitor.shell.access import Access, page
from monitor.shell.ui.incidents import web_actor
from monitor.shell.ui.overview import SeriesQuery, history, parse_query
from playbooks.incident_timeline import incident_page_with_messages
from streams.cleaning import parse_id


class IncidentListQuery(BaseModel):
    """How many resolved incidents to list after the open ones."""

    model_config = ConfigDict(extra="ignore")

    limit: int = Field(default=RECENT, ge=1, le=500, description="resolved incidents to list")


@page("/api/incidents", Access.VIEWER)
class IncidentsApi(View):
    """Open incidents, then recent resolved ones, newest first, each with why it fired.

    ``why`` holds the alert's "Why it fired" lines, word for word as Slack shows them.
    """

    query_models = {"GET": IncidentListQuery}

    async def get(self, request: Request) -> Response:
        try:
            query = IncidentListQuery.model_validate(dict(request.query))
        except ValidationError as exc:
            return self.json({"error": f"limit: {exc.errors()[0]['msg']}"}, status=400)
        rows = await asyncio.to_thread(list_summaries, resources.engine(), limit=query.limit)
        return self.json({"incidents": [row.as_json() for row in rows]})


@page("/api/incidents/{incident_id}", Access.VIEWER)
class IncidentApi(View):
    """One incident: the alert text, a chart per series (each window's count, expected count and
    band, anomalous metrics), the anomalies' figures, example mentions, the timeline."""

    async def get(self, request: Request, incident_id: str) -> Response:
        number = parse_id(incident_id)
        found = None
        if number is not None:
            found = await asyncio.to_thread(
                incident_page_with_messages, resources.engine(), incident_id=number
            )
        if found is None:
            return self.json({"error": f"no incident {incident_id[:40]}"}, status=404)
        return self.json(found.as_json())


@page("/api/incidents/{incident_id}/{action}", {"POST": Access.RESPONDER})
class IncidentActionApi(View):
    """Act on an incident as the web page's buttons and Slack's do: ack, resolve, false-alarm,
    confirm. Written to the audit log with the caller's name; acknowledging twice keeps the
    first (``already``: true)."""

    async def post(self, request: Request, incident_id: str, action: str) -> Response:
        number = parse_id(incident_id)
        if action not in ACTIONS or number is None:
            return self.json(
                {"error": f"use /api/incidents/ID/{{{','.join(ACTIONS)}}} with a numeric id"},
                status=404,
            )
        who = web_actor(request)
        if who is None:
            return self.json({"error": "sign in or send a bearer token"}, status=401)
        try:
            done = await asyncio.to_thread(
                act,
                resources.engine(),
                incident_id=number,
                action=action,
                who=who,
                settings=resources.detection_config().detector,
                now=datetime.now(UTC),
            )
        except ActionError as exc:
            return self.json({"error": str(exc)}, status=exc.status)
        return self.json(done.as_json())


@page("/api/series", Access.VIEWER)
class SeriesApi(View):
    """One series over the last hour, day or week: mentions, negative share and mean sentiment
    per bucket (a minute, ten minutes, an hour)."""

    query_models = {"GET": SeriesQuery}

    async def get(self, request: Request) -> Response:
        try:
            query = parse_query(request.query)
            shown = await asyncio.to_thread(history, query)
        except ValueError as exc:
            return self.json({"error": str(exc)}, status=400)
        except UnknownSeries as exc:
            return self.json({"error": str(exc)}, status=404)
        return self.json(shown.as_json())


@page("/api/series/keys", Access.VIEWER)
class SeriesKeysApi(View):
    """Every series with stored windows (`global` first), for the overview's picker."""

    async def get(self, request: Request) -> Response:
        keys = await asyncio.to_thread(series_keys, resources.engine())
        return self.json({"keys": keys})
