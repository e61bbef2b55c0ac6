"""The labelling queue on the web: /labels lists the mentions most worth labelling now, and a
responder answers each with Negative, Neutral or Positive.

The selection, the day's cap and "the first label wins" are `detectors.sentiment.label_queue`,
the same functions as ``crisismon sentiment queue``, the Slack message and
``GET/POST /api/sentiment/queue``. The buttons are a plain form (post, then back to the list);
with htmx the answered item is replaced in place by what was recorded.
"""

from __future__ import annotations

import asyncio
import re
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from faust.web import Request, Response, View

from detectors.sentiment.label_queue import (
    INCIDENT,
    LEAST_SURE,
    AlreadyLabelled,
    QueueError,
    QueueItem,
    label_from_queue,
    offered_today,
    queue,
)
from monitor.shell import resources
from monitor.shell.access import Access, page, role_allows
from monitor.shell.auth import principal
from monitor.shell.label_views import queue_settings, show_label_in_slack
from monitor.shell.ui import page_html, render

PAGE_SIZE = 20
SURFACE = "web"
BUTTONS = (("negative", "Negative"), ("neutral", "Neutral"), ("positive", "Positive"))
_INCIDENT_REASON = re.compile(rf"{INCIDENT} #(\d+)")


@dataclass(frozen=True, slots=True)
class Queued:
    """One mention on the page, with the incident it drives (for the link), if any."""

    item: QueueItem
    incident_id: int | None


def _queued(item: QueueItem) -> Queued:
    found = _INCIDENT_REASON.fullmatch(item.reason)
    return Queued(item, int(found.group(1)) if found else None)


def _reason(value: str) -> str:
    """Why the mention was queued, as the form sends it back; only the queue's own words."""
    return value if value == LEAST_SURE or _INCIDENT_REASON.fullmatch(value) else "asked"


def _can_label(request: Request) -> bool:
    who = principal(request)
    return who is not None and role_allows(who.role, Access.RESPONDER)


@page("/labels", {"GET": Access.VIEWER, "POST": Access.RESPONDER})
class LabelQueuePage(View):
    """The mentions most worth labelling now, within today's cap; POST ``mention_id`` and
    ``label`` (negative, neutral or positive) to label one (responder or above)."""

    async def get(self, request: Request) -> Response:
        done = request.query.get("done", "")
        return await self._show(request, done=done if done in dict(BUTTONS) else "")

    async def post(self, request: Request) -> Response:
        form = await request.post()
        mention_id, label, reason = (_field(form, k) for k in ("mention_id", "label", "reason"))
        who = principal(request)
        assert who is not None, "the middleware lets only responders post"
        in_place = request.headers.get("HX-Request") == "true"
        if not mention_id or not label:
            return await self._refuse(request, "Choose a mention and a label.", 400, in_place)
        try:
            answer = await asyncio.to_thread(
                label_from_queue,
                resources.engine(),
                mention_id=mention_id,
                label=label,
                who=f"web:{who.name}",
                surface=SURFACE,
                now=datetime.now(UTC),
                reason=_reason(reason),
            )
        except AlreadyLabelled as exc:
            when = f" at {exc.at:%Y-%m-%d %H:%M} UTC" if exc.at else ""
            return await self._refuse(request, f"{exc}{when}.", 409, in_place)
        except QueueError as exc:
            return await self._refuse(request, str(exc), 400, in_place)
        if answer.slack_ref:
            show_label_in_slack(answer.slack_ref)
        if in_place:  # the answered item, and today's count out of band
            now = datetime.now(UTC)
            used = await asyncio.to_thread(offered_today, resources.engine(), now=now)
            cap = queue_settings().daily_cap
            fragment = render(
                "label_result.html", request, answer=answer, used=used, daily_cap=cap, oob=True
            )
            return self.html(fragment)
        # Post/redirect/get: reloading the page does not label twice.
        return self.text("", status=303, headers={"Location": f"/labels?done={answer.label}"})

    async def _refuse(self, request: Request, error: str, status: int, in_place: bool) -> Response:
        if in_place:  # htmx swaps only a 2xx answer: the item says why instead
            return self.html(render("label_result.html", request, answer=None, error=error))
        return await self._show(request, error=error, status=status)

    async def _show(
        self, request: Request, *, done: str = "", error: str = "", status: int = 200
    ) -> Response:
        engine, config, now = resources.engine(), queue_settings(), datetime.now(UTC)
        items = await asyncio.to_thread(queue, engine, settings=config, now=now, limit=PAGE_SIZE)
        used = await asyncio.to_thread(offered_today, engine, now=now)
        context: dict[str, Any] = {
            "active": "labels",
            "items": [_queued(item) for item in items],
            "daily_cap": config.daily_cap,
            "used": used,
            "cap_reached": used >= config.daily_cap,
            "can_label": _can_label(request),
            "buttons": BUTTONS,
            "done": done,
            "error": error,
        }
        return page_html(self, request, "labels.html", status=status, **context)


def _field(form: Any, key: str) -> str:
    value = form.get(key, "")
    return value.strip() if isinstance(value, str) else ""
