"""Search: full-text search over mentions with filters (GET /search, viewer), its CSV export
streamed (GET /search.csv) and its JSON twin (GET /api/search). The logic is
``streams.search``; a query it refuses answers 400 with its reason."""

from __future__ import annotations

import asyncio
import csv
import io
from datetime import UTC, datetime
from typing import Any, cast

from aiohttp import web
from faust.web import Request, Response, View
from pydantic import BaseModel, Field

from monitor.shell import resources
from monitor.shell.access import Access, page
from monitor.shell.ui import page_html
from monitor.storage.models import Mention
from streams.cleaning import parse_id
from streams.search import (
    CSV_COLUMNS,
    LABELS,
    MAX_QUERY,
    BadQuery,
    SearchPage,
    SearchQuery,
    batches,
    csv_row,
    search,
)

MAX_EXPORT = 100_000


class SearchParams(BaseModel):
    q: str = Field(max_length=MAX_QUERY, description='words and "quoted phrases"; all must occur')
    series: str | None = Field(default=None, description="a series key, such as topic:billing")
    since: str | None = Field(default=None, description="event time from (ISO 8601, UTC)")
    until: str | None = Field(default=None, description="event time before (ISO 8601, UTC)")
    label: str | None = Field(default=None, description="negative, neutral or positive")
    source: str | None = Field(default=None, description="a source name")
    page: int = Field(default=1, ge=1)


def _moment(name: str, value: str | None) -> datetime | None:
    if not value:
        return None
    try:
        moment = datetime.fromisoformat(value.strip().replace("Z", "+00:00"))
    except ValueError:
        example = "2026-01-05 or 2026-01-05T10:00"
        raise BadQuery(f"{name} must be a date or time such as {example}") from None
    try:  # an offset at the calendar's edge (year 1 at +01:00) has no UTC time
        return moment.astimezone(UTC) if moment.tzinfo else moment.replace(tzinfo=UTC)
    except OverflowError:
        raise BadQuery(f"{name} is outside the calendar once in UTC") from None


def _params(request: Request) -> dict[str, str]:
    keys = ("q", "series", "since", "until", "label", "source")
    return {key: request.query.get(key, "").strip() for key in keys}


def _query(params: dict[str, str]) -> SearchQuery:
    return SearchQuery(
        q=params["q"],
        series=params["series"] or None,
        since=_moment("since", params["since"]),
        until=_moment("until", params["until"]),
        label=params["label"] or None,
        source=params["source"] or None,
    )


def _page_number(request: Request) -> int:
    raw = request.query.get("page", "1")
    number = parse_id(raw)
    if number is None:
        raise BadQuery("page must be a whole number from 1")
    return number


@page("/search", Access.VIEWER)
class SearchPageView(View):
    """Full-text search over mentions, with filters and highlights."""

    async def get(self, request: Request) -> Response:
        params = _params(request)
        found: SearchPage | None = None
        error, status = "", 200
        if any(params.values()):
            try:
                query, number = _query(params), _page_number(request)
                found = await asyncio.to_thread(search, resources.engine(), query, page=number)
            except BadQuery as exc:
                error, status = str(exc), 400
        return page_html(
            self,
            request,
            "search.html",
            status=status,
            active="search",
            params=params,
            labels=LABELS,
            found=found,
            error=error,
            max_query=MAX_QUERY,
        )


@page("/api/search", Access.VIEWER)
class SearchJson(View):
    """Full-text search over mentions: one page of hits, newest first, with highlights."""

    query_models = {"GET": SearchParams}

    async def get(self, request: Request) -> Response:
        try:
            query, number = _query(_params(request)), _page_number(request)
            found = await asyncio.to_thread(search, resources.engine(), query, page=number)
        except BadQuery as exc:
            return self.json({"error": str(exc)}, status=400)
        return self.json(
            {
                "hits": [hit.as_json() for hit in found.hits],
                "page": found.page,
                "per_page": found.per_page,
                "more": found.more,
            }
        )


@page("/search.csv", Access.VIEWER)
class SearchCsv(View):
    """Every mention the search matches, as CSV, streamed (at most 100,000 rows)."""

    query_models = {"GET": SearchParams}

    async def get(self, request: Request) -> Any:
        try:
            query = _query(_params(request))
            rows = batches(resources.engine(), query)
            # The first batch before the 200: a bad query still gets its 400.
            first: list[Mention] = await asyncio.to_thread(next, rows, [])
        except BadQuery as exc:
            return self.json({"error": str(exc)}, status=400)
        raw = cast(web.Request, request)
        response = web.StreamResponse(
            headers={
                "Content-Type": "text/csv; charset=utf-8",
                "Content-Disposition": 'attachment; filename="mentions-search.csv"',
            }
        )
        await response.prepare(raw)
        await response.write(_csv([list(CSV_COLUMNS)]))
        written, batch = 0, first
        while batch and written < MAX_EXPORT:
            batch = batch[: MAX_EXPORT - written]
            await response.write(_csv([csv_row(m) for m in batch]))
            written += len(batch)
            batch = await asyncio.to_thread(next, rows, [])
        await response.write_eof()
        return response


def _csv(rows: list[list[str]]) -> bytes:
    buffer = io.StringIO()
    csv.writer(buffer).writerows(rows)
    return buffer.getvalue().encode("utf-8")
