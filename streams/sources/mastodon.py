"""Mastodon: public posts with given hashtags or keywords, through the public REST API.

- Each hashtag is read from ``GET /api/v1/timelines/tag/:hashtag``.
- Keywords: Mastodon's full-text search needs an account, so keywords are matched here
  against ``GET /api/v1/timelines/public`` (the instance's federated timeline).

Paging uses ``since_id``: a poll asks for posts newer than the last one seen; when a full page
comes back there may be more, so it pages back with ``max_id`` (keeping ``since_id``) until a
short page, at most `MAX_PAGES` pages. The newest id of each timeline is the cursor, moved only
once the posts are acknowledged. A first poll takes only the newest page: no backfill.
A boost is the boosted post (same ``uri``, so it is stored once).
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any
from urllib.parse import quote

import aiohttp

from streams.mention_text import html_to_text
from streams.replay import Unusable
from streams.sources.polling import FetchError, PollResult, PollState, read_capped

MAX_PAGES = 10
MAX_BODY = 4 * 1024 * 1024


def status_to_mention(status: Mapping[str, Any], *, source: str) -> Any:
    """One status (or the post it boosts) as a mention dict, or `Unusable`."""
    post = status.get("reblog") if isinstance(status.get("reblog"), Mapping) else status
    assert isinstance(post, Mapping)
    uri = post.get("uri") or post.get("url")
    content = post.get("content")
    if not isinstance(uri, str) or not isinstance(content, str):
        return Unusable("status without uri or content", dict(status))
    spoiler = post.get("spoiler_text")
    text = html_to_text(content)
    if isinstance(spoiler, str) and spoiler.strip():
        text = f"{spoiler.strip()} — {text}"
    account = post.get("account") if isinstance(post.get("account"), Mapping) else {}
    assert isinstance(account, Mapping)
    tags = [t.get("name") for t in post.get("tags") or [] if isinstance(t, Mapping)]
    mention = {
        "source": source,
        "external_id": uri[:300],
        "text": text,
        "event_time": post.get("created_at"),
        "author": account.get("acct") or account.get("id"),
        "url": post.get("url") if isinstance(post.get("url"), str) else None,
        "lang": post.get("language") if isinstance(post.get("language"), str) else None,
        "network": "mastodon",
        "tags": [t for t in tags if isinstance(t, str)] or None,
    }
    return {k: v for k, v in mention.items() if v is not None}


def _newer(a: str | None, b: str) -> str:
    """The larger of two Mastodon ids (numeric strings, compared as numbers when they are)."""
    if a is None:
        return b
    if a.isdigit() and b.isdigit():
        return a if int(a) >= int(b) else b
    return max(a, b)


@dataclass(frozen=True, slots=True)
class MastodonSource:
    name: str
    instance: str
    hashtags: tuple[str, ...] = ()
    keywords: tuple[str, ...] = ()
    interval_seconds: float = 60.0
    timeout_seconds: float = 20.0
    page_limit: int = 40
    access_token: str | None = field(default=None, repr=False)
    kind: str = "mastodon"
    needs_pseudonym_key: bool = True

    def timelines(self) -> dict[str, str]:
        """Cursor key → API path, one per hashtag, plus the public timeline for keywords."""
        paths = {f"tag:{t}": f"/api/v1/timelines/tag/{quote(t, safe='')}" for t in self.hashtags}
        if self.keywords:
            paths["public"] = "/api/v1/timelines/public"
        return paths

    async def poll(
        self, http: aiohttp.ClientSession, state: PollState, *, now: datetime
    ) -> PollResult:
        cursors: dict[str, str] = json.loads(state.cursor) if state.cursor else {}
        items: list[Any] = []
        seen: set[str] = set()
        for key, path in self.timelines().items():
            statuses, newest = await self._read_timeline(http, path, cursors.get(key))
            if newest is not None:
                cursors[key] = newest
            for status in statuses:
                if key == "public" and not self._matches(status):
                    continue
                item = status_to_mention(status, source=self.name)
                if isinstance(item, dict):
                    if item["external_id"] in seen:
                        continue
                    seen.add(item["external_id"])
                items.append(item)
        return PollResult(items=items, state=PollState(cursor=json.dumps(cursors, sort_keys=True)))

    def _matches(self, status: Mapping[str, Any]) -> bool:
        post = status.get("reblog") if isinstance(status.get("reblog"), Mapping) else status
        assert isinstance(post, Mapping)
        text = html_to_text(str(post.get("content") or "")).casefold()
        return any(keyword.casefold() in text for keyword in self.keywords)

    async def _read_timeline(
        self, http: aiohttp.ClientSession, path: str, since_id: str | None
    ) -> tuple[list[Mapping[str, Any]], str | None]:
        statuses: list[Mapping[str, Any]] = []
        newest: str | None = None
        max_id: str | None = None
        for _ in range(MAX_PAGES):
            params = {"limit": str(self.page_limit)}
            if since_id:
                params["since_id"] = since_id
            if max_id:
                params["max_id"] = max_id
            page = await self._get(http, path, params)
            ids = [str(s["id"]) for s in page]
            for status_id in ids:
                newest = _newer(newest, status_id)
            statuses.extend(page)
            # A first poll takes the newest page only; a short page means nothing is left.
            if since_id is None or len(page) < self.page_limit:
                break
            max_id = min(ids, key=lambda i: int(i) if i.isdigit() else 0)
        return statuses, newest

    async def _get(
        self, http: aiohttp.ClientSession, path: str, params: dict[str, str]
    ) -> list[Mapping[str, Any]]:
        headers = {"Accept": "application/json"}
        if self.access_token:
            headers["Authorization"] = f"Bearer {self.access_token}"
        url = self.instance + path
        try:
            async with http.get(
                url,
                params=params,
                headers=headers,
                timeout=aiohttp.ClientTimeout(total=self.timeout_seconds),
            ) as response:
                if response.status == 429:
                    raise FetchError(f"rate limited by {self.instance} (HTTP 429)")
                if response.status >= 400:
                    raise FetchError(f"HTTP {response.status} from {url}")
                body = await read_capped(response, MAX_BODY)
        except TimeoutError as exc:
            raise FetchError(f"no answer from {url} within {self.timeout_seconds:.0f}s") from exc
        except aiohttp.ClientError as exc:
            raise FetchError(f"cannot fetch {url}: {exc}") from exc
        try:
            page = json.loads(body)
        except (UnicodeDecodeError, json.JSONDecodeError) as exc:
            raise FetchError(f"{url} did not answer JSON: {exc}", payload=body) from exc
        if not isinstance(page, list) or not all(
            isinstance(s, Mapping) and "id" in s for s in page
        ):
            raise FetchError(f"{url} did not answer a list of statuses", payload=body)
        return page
