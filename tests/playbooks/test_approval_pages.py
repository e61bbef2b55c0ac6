"""The approvals and effect templates on an empty database, and their strict-CSP hygiene."""

from __future__ import annotations

import re
from datetime import UTC, datetime

from monitor.privacy import Pseudonymiser
from monitor.shell.ui import TEMPLATES, render
from playbooks.approval_review import review_queue
from playbooks.effect import effect_of
from tests.playbooks.helpers import outage_incident, setup_for

NOW = datetime(2026, 11, 26, 12, 0, tzinfo=UTC)
OURS = ("approvals.html", "approval.html", "approval_parts.html", "effect.html")


def test_empty_database_shows_helpful_empty_states(engine):
    queue = review_queue(engine, setup=setup_for(), pseudonymiser=Pseudonymiser(None), now=NOW)
    page = render("approvals.html", None, active="approvals", queue=queue, can_decide=True, done="")
    assert "Nothing awaits approval" in page and "No draft has been approved" in page

    incident = outage_incident(engine)
    effect = effect_of(engine, incident_id=incident, now=NOW).as_json()
    page = render("effect.html", None, active="incidents", effect=effect)
    assert "No message about this incident has reached customers yet" in page
    assert '<script type="application/json" id="effect-data">' in page


def test_no_inline_script_style_or_handler():
    for name in OURS:
        source = (TEMPLATES / name).read_text()
        assert not re.search(r"\sstyle=|\son[a-z]+=|<style", source), name
        for tag in re.findall(r"<script[^>]*>", source):
            assert "src=" in tag or 'type="application/json"' in tag, (name, tag)
