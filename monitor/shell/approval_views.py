"""JSON twins of the approvals and "Did our message help?" pages: GET /api/drafts/ID (what the
approvals page shows of a draft) and GET /api/incidents/ID/effect (each messaged segment before
and after each send). Deciding on a draft is ``POST /api/drafts/ID/ACTION``
(``monitor.shell.playbook_views``)."""

from __future__ import annotations

import asyncio
from datetime import timedelta

from faust.web import Request, Response, View

from monitor.shell import resources
from monitor.shell.access import Access, page
from monitor.shell.playbook_resources import reviewed
from playbooks.effect import UnknownIncident, effect_of
from playbooks.service import DraftError, utcnow
from streams.cleaning import parse_id


def _error(view: View, message: str, status: int) -> Response:
    return view.json({"error": message}, status=status)


@page("/api/drafts/{draft_id}", Access.VIEWER)
class DraftReviewJson(View):
    """One draft as the approvals page shows it.

    The preview rendered for its first recipient with consent, the recipient count and a
    pseudonymised sample, why its playbook matched, its content hash, and the diff against
    the approved copy (or the one before the last edit)."""

    async def get(self, request: Request, draft_id: str) -> Response:
        number = parse_id(draft_id)
        if number is None:
            return _error(self, "use /api/drafts/ID with a numeric id", 404)
        try:
            review = await reviewed(number)
        except DraftError as exc:
            return _error(self, str(exc), exc.status)
        return self.json(review.as_json())


@page("/api/incidents/{incident_id}/effect", Access.VIEWER)
class IncidentEffectJson(View):
    """Did our message help? Each messaged segment's negative share and volume around each send.

    For every send, the hour before against the hour after on closed ``segment:NAME`` windows;
    ``verdict`` says "too early to tell" until that hour has closed."""

    async def get(self, request: Request, incident_id: str) -> Response:
        number = parse_id(incident_id)
        if number is None:
            return _error(self, "use /api/incidents/ID/effect with a numeric id", 404)
        try:
            effect = await asyncio.to_thread(incident_effect, number)
        except UnknownIncident as exc:
            return _error(self, str(exc), 404)
        return self.json(effect)


def incident_effect(incident_id: int) -> dict[str, object]:
    """The effect as JSON-ready data; `UnknownIncident` when there is no such incident."""
    horizon = timedelta(seconds=resources.detection_config().live_horizon_seconds)
    effect = effect_of(
        resources.engine(), incident_id=incident_id, now=utcnow(), live_horizon=horizon
    )
    return effect.as_json()
