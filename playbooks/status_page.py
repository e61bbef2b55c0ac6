"""The built-in status page: what it shows, read from ``status_updates``, and its HTML.

Updates reach the table only through approved drafts (``StatusPageChannel``). The overall
status is the worst current status among components; a component whose latest update is
``resolved`` is operational.
"""

from __future__ import annotations

from dataclasses import dataclass
from html import escape
from typing import Any

from sqlalchemy import Engine
from sqlmodel import Session, col, select

from playbooks.models import StatusUpdate

# Worst first: the overall status is the first of these any component is in.
SEVERITY = ("investigating", "identified", "monitoring")
OPERATIONAL = "operational"
_LABEL = {
    "investigating": "Investigating",
    "identified": "Identified",
    "monitoring": "Monitoring",
    "resolved": "Resolved",
    OPERATIONAL: "All systems operational",
}


@dataclass(frozen=True)
class StatusPage:
    overall: str
    components: dict[str, str]  # component → its current status
    updates: list[StatusUpdate]  # newest first


def read_page(engine: Engine, *, limit: int = 50) -> StatusPage:
    """The latest updates and the current status of each component."""
    with Session(engine) as session:
        updates = list(
            session.exec(
                select(StatusUpdate)
                .order_by(col(StatusUpdate.posted_at).desc(), col(StatusUpdate.id).desc())
                .limit(limit)
            ).all()
        )
    components: dict[str, str] = {}
    for update in updates:  # newest first: the first seen per component is its current one
        components.setdefault(update.component, update.status)
    current = {c: (OPERATIONAL if s == "resolved" else s) for c, s in components.items()}
    overall = next((s for s in SEVERITY if s in current.values()), OPERATIONAL)
    return StatusPage(overall=overall, components=current, updates=updates)


def as_json(page: StatusPage) -> dict[str, Any]:
    return {
        "status": page.overall,
        "components": page.components,
        "updates": [
            {
                "id": u.id,
                "incident_id": u.incident_id,
                "component": u.component,
                "status": u.status,
                "title": u.title,
                "body": u.body,
                "posted_at": u.posted_at.isoformat(),
            }
            for u in page.updates
        ],
    }


def as_html(page: StatusPage, *, title: str = "Service status") -> str:
    """A small self-contained page; every stored text is escaped."""
    items = "\n".join(
        f'<article class="update {escape(u.status)}"><h2>{escape(u.title)}</h2>'
        f'<p class="meta">{escape(_LABEL.get(u.status, u.status))} · {escape(u.component)} · '
        f'{u.posted_at:%Y-%m-%d %H:%M} UTC</p><p class="body">{escape(u.body)}</p></article>'
        for u in page.updates
    )
    components = "".join(
        f"<li>{escape(name)}: {escape(_LABEL.get(status, status))}</li>"
        for name, status in sorted(page.components.items())
    )
    return (
        "<!doctype html>\n"
        f'<html lang="en"><head><meta charset="utf-8"><title>{escape(title)}</title>'
        '<meta name="viewport" content="width=device-width, initial-scale=1">'
        "<style>body{font-family:sans-serif;max-width:42rem;margin:2rem auto;padding:0 1rem}"
        ".overall{padding:1rem;border-radius:.5rem;background:#eee}"
        ".meta{color:#555;font-size:.9em}.body{white-space:pre-wrap}</style></head><body>"
        f"<h1>{escape(title)}</h1>"
        f'<p class="overall" id="overall">{escape(_LABEL.get(page.overall, page.overall))}</p>'
        f"<ul>{components}</ul>"
        f"{items or '<p>No incidents reported.</p>'}"
        "</body></html>\n"
    )
