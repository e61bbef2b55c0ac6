"""RSS and Atom feeds (news, status pages), fetched with aiohttp and parsed by feedparser.

aiohttp does the network (one pooled session, a timeout, conditional GET, a body size cap);
feedparser only ever parses the bytes we fetched, so it never opens a connection itself.
Each entry's id is its GUID, or a hash of its link and title when it has none.

>>> entry_id({"link": "https://x.example/a", "title": "Down"}) == entry_id(
...     {"link": "https://x.example/a", "title": "Down"})
True
>>> entry_id({"id": "tag:x,2005:1", "link": "https://x.example/a"})
'tag:x,2005:1'
"""

from __future__ import annotations

import calendar
import hashlib
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

import aiohttp
import feedparser

from streams.replay import Unusable
from streams.sources.polling import FetchError, PollResult, PollState, read_capped


def entry_id(entry: Mapping[str, Any]) -> str | None:
    guid = entry.get("id")
    if isinstance(guid, str) and guid.strip():
        return guid.strip()[:300]
    link, title = entry.get("link") or "", entry.get("title") or ""
    if not link and not title:
        return None
    return "lt:" + hashlib.sha256(f"{link}\x1f{title}".encode()).hexdigest()[:32]


def _entry_time(entry: Mapping[str, Any], received: datetime) -> datetime:
    for key in ("published_parsed", "updated_parsed", "created_parsed"):
        parsed = entry.get(key)
        if parsed:
            return datetime.fromtimestamp(calendar.timegm(parsed), tz=UTC)
    return received


def _entry_text(entry: Mapping[str, Any]) -> str:
    title = (entry.get("title") or "").strip()
    body = ""
    content = entry.get("content")
    if isinstance(content, list) and content and isinstance(content[0], Mapping):
        body = str(content[0].get("value") or "")
    body = body or str(entry.get("summary") or "")
    return " — ".join(part for part in (title, body.strip()) if part)


def parse_feed(body: bytes, *, source: str, received: datetime) -> tuple[list[Any], str | None]:
    """Entries as mention dicts (or `Unusable`), and a warning when the document is malformed.

    A document with no entries that feedparser also calls malformed is not a feed at all:
    `FetchError`. A malformed document that still yields entries is used, with a warning.
    """
    parsed = feedparser.parse(body)
    problem = None
    if parsed.bozo:
        problem = f"malformed feed: {type(parsed.bozo_exception).__name__}: {parsed.bozo_exception}"
        if not parsed.entries:
            raise FetchError(f"not an RSS or Atom feed ({problem})", payload=body)
    items: list[Any] = []
    for entry in parsed.entries:
        external_id = entry_id(entry)
        text = _entry_text(entry)
        if external_id is None or not text:
            items.append(Unusable("feed entry has no title or text", dict(entry)))
            continue
        items.append(
            {
                "source": source,
                "external_id": external_id,
                "text": text,
                "event_time": _entry_time(entry, received).isoformat(),
                "url": entry.get("link") or None,
                "lang": parsed.feed.get("language") or None,
                "tags": [t.get("term") for t in entry.get("tags", []) if t.get("term")] or None,
            }
        )
    return [_drop_none(i) for i in items], problem


def _drop_none(item: Any) -> Any:
    return {k: v for k, v in item.items() if v is not None} if isinstance(item, dict) else item


@dataclass(frozen=True, slots=True)
class FeedSource:
    """One RSS or Atom feed from ``sources.yaml``."""

    name: str
    url: str
    interval_seconds: float = 300.0
    timeout_seconds: float = 20.0
    max_body_bytes: int = 2048 * 1024
    kind: str = "feed"
    needs_pseudonym_key: bool = False  # entries carry no people's ids we keep

    async def poll(
        self, http: aiohttp.ClientSession, state: PollState, *, now: datetime
    ) -> PollResult:
        headers = {"Accept": "application/atom+xml, application/rss+xml, application/xml;q=0.9"}
        if state.etag:
            headers["If-None-Match"] = state.etag
        if state.last_modified:
            headers["If-Modified-Since"] = state.last_modified
        timeout = aiohttp.ClientTimeout(total=self.timeout_seconds)
        try:
            async with http.get(self.url, headers=headers, timeout=timeout) as response:
                if response.status == 304:
                    return PollResult(items=[], state=state, not_modified=True)
                if response.status >= 400:
                    raise FetchError(f"HTTP {response.status} from {self.url}")
                body = await read_capped(response, self.max_body_bytes)
                new_state = PollState(
                    etag=response.headers.get("ETag") or state.etag,
                    last_modified=response.headers.get("Last-Modified") or state.last_modified,
                    cursor=state.cursor,
                )
        except TimeoutError as exc:
            raise FetchError(
                f"no answer from {self.url} within {self.timeout_seconds:.0f}s"
            ) from exc
        except aiohttp.ClientError as exc:
            raise FetchError(f"cannot fetch {self.url}: {exc}") from exc
        items, warning = parse_feed(body, source=self.name, received=now)
        return PollResult(items=items, state=new_state, warning=warning, body=body)
