"""The fairness report on the web: /reports/fairness and its JSON twin GET /api/reports/fairness.

The figures and flags are `playbooks.fairness.fairness_report`, laid out by
`playbooks.fairness_render`, the same functions as ``crisismon report fairness``. A viewer may
read it: it holds figures per segment and per language only, and a group with fewer than k
people (config/fairness.yaml) shows none.
"""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime
from typing import Any

from faust.web import Request, Response, View
from pydantic import BaseModel, ConfigDict, Field

from monitor.settings import get_settings
from monitor.shell import resources
from monitor.shell.access import Access, page
from monitor.shell.playbook_views import error_response
from monitor.shell.ui import page_html
from monitor.yamlfile import ConfigFileError
from playbooks.fairness import DEFAULT_DAYS, FairnessReport, fairness_report, report_since
from playbooks.fairness_config import load_fairness_config
from playbooks.fairness_render import (
    LABELS,
    SIZE_OF,
    TITLES,
    as_dict,
    family_of,
    figure_text,
    table_figures,
    table_rows,
)
from playbooks.segments import load_segments


class FairnessQuery(BaseModel):
    """Where the report starts."""

    model_config = ConfigDict(extra="ignore")

    since: str | None = Field(
        default=None,
        max_length=40,
        description=f"from this date (YYYY-MM-DD, or an ISO 8601 time; UTC); "
        f"default {DEFAULT_DAYS} days ago",
    )


class ReportError(Exception):
    """The report cannot be made: a bad ``since`` (400) or an unusable config file (500)."""

    def __init__(self, message: str, status: int) -> None:
        super().__init__(message)
        self.status = status


async def _report(request: Request) -> FairnessReport:
    try:
        since = report_since(request.query.get("since"), now=datetime.now(UTC))
    except ValueError as exc:
        raise ReportError(f"since: {exc}", 400) from None
    config_dir = get_settings().config_dir
    try:
        config = load_fairness_config(config_dir / "fairness.yaml")
        segments = load_segments(config_dir / "segments.yaml").names
    except ConfigFileError as exc:
        raise ReportError(f"the report cannot run: {exc}", 500) from None
    return await asyncio.to_thread(
        fairness_report, resources.engine(), since=since, segments=segments, config=config
    )


@page("/reports/fairness", Access.VIEWER)
class FairnessPage(View):
    """Alerts, sentiment, label accuracy and messages per segment and per language, against
    everyone; ``?since=YYYY-MM-DD``."""

    async def get(self, request: Request) -> Response:
        typed = request.query.get("since", "")[:40]
        try:
            report = await _report(request)
        except ReportError as exc:
            return page_html(
                self,
                request,
                "fairness.html",
                status=exc.status,
                active="fairness",
                report=None,
                error=str(exc),
                typed=typed,
            )
        families = [_family(report, family, title) for family, title in TITLES.items()]
        flags = [
            {"group": group, "flag": flag, "size_of": SIZE_OF[family_of(flag.figure)]}
            for group, flag in report.flags
        ]
        return page_html(
            self,
            request,
            "fairness.html",
            active="fairness",
            report=report,
            families=families,
            flags=flags,
            labels=LABELS,
            figure_text=figure_text,
            empty=not report.overall.sizes and not report.overall.suppressed,
            error="",
            typed=typed or f"{report.since:%Y-%m-%d}",
        )


def _family(report: FairnessReport, family: str, title: str) -> dict[str, Any]:
    """One family's table; groups with nothing in it are named under it, not given a row of
    dashes each (a phone shows every cell on its own line)."""
    rows, without = [], []
    for row in table_rows(report, family):
        group = row.group
        if family in group.sizes or family in group.suppressed:
            rows.append(row)
        elif group.kind != "overall":
            without.append(row.name)
    return {
        "title": title,
        "size": SIZE_OF[family],
        "noun": LABELS[SIZE_OF[family]],  # "labelled mentions", "customers messaged"
        "columns": [LABELS[f] for f in table_figures(family)],
        "rows": rows,
        "without": without,
    }


@page("/api/reports/fairness", Access.VIEWER)
class FairnessApi(View):
    """The fairness report: figures per segment and per language against everyone, the flags,
    and the groups too small to show (as ``crisismon report fairness --format json``)."""

    query_models = {"GET": FairnessQuery}

    async def get(self, request: Request) -> Response:
        try:
            report = await _report(request)
        except ReportError as exc:
            return error_response(str(exc), exc.status)
        return self.json(as_dict(report))
