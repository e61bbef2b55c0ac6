"""/overview: volume, negative share and mean sentiment of `global` or any stored series over
the last hour, day or week; the charts refresh when the live stream says a window closed."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime
from typing import Literal

from faust.web import Request, Response, View
from pydantic import BaseModel, ConfigDict, Field, ValidationError

from detectors.series import GLOBAL
from monitor.incidents.overview import (
    RANGES,
    SeriesHistory,
    UnknownSeries,
    series_history,
    series_keys,
)
from monitor.shell import resources
from monitor.shell.access import Access, page
from monitor.shell.ui import page_html


class SeriesQuery(BaseModel):
    """Which series, over which range."""

    model_config = ConfigDict(extra="ignore")

    # No control characters: PostgreSQL refuses a NUL in a string, and no series has one.
    key: str = Field(
        default=GLOBAL,
        min_length=1,
        max_length=200,
        pattern=r"^[^\x00-\x1f\x7f]+$",
        description="a series key, as GET /api/series/keys lists them",
    )
    range: Literal["hour", "day", "week"] = Field(default="hour", description="how far back")


def parse_query(query: object) -> SeriesQuery:
    """The query string as a `SeriesQuery`; `ValueError` with one readable line when wrong."""
    try:
        return SeriesQuery.model_validate(dict(query))  # type: ignore[call-overload]
    except ValidationError as exc:
        problem = exc.errors()[0]
        where = ".".join(str(part) for part in problem["loc"])
        raise ValueError(f"{where}: {problem['msg']}") from None


def history(query: SeriesQuery) -> SeriesHistory:
    """The chart data; `UnknownSeries` when nothing was stored for the key."""
    return series_history(
        resources.engine(), series=query.key, range_name=query.range, now=datetime.now(UTC)
    )


@page("/overview", Access.VIEWER)
class Overview(View):
    """The live overview page (``?key=SERIES&range=hour|day|week``)."""

    async def get(self, request: Request) -> Response:
        keys = await asyncio.to_thread(series_keys, resources.engine())
        error = ""
        try:
            query = parse_query(request.query)
            shown = await asyncio.to_thread(history, query)
        except (ValueError, UnknownSeries) as exc:
            error = str(exc).strip("'\"")
            query = SeriesQuery()
            shown = await asyncio.to_thread(history, query)
        if query.key not in keys:
            keys = [query.key, *keys]
        return page_html(
            self,
            request,
            "overview.html",
            status=400 if error else 200,
            active="overview",
            keys=keys,
            query=query,
            ranges=list(RANGES),
            series=shown.as_json(),
            error=error,
        )
