"""The README's three pictures: `python -m tests.browser.screenshots` (or `make screenshots`).

Starts what the browser tests start (a Tansu broker, a worker on SQLite, the demo's receivers
and customers), replays the demo's outage scenario, approves the status page update over the
API as the demo does, signs in as an approver in Debian's chromium and saves the top of the
incident's page and of the approvals queue, and the public status page as a visitor sees it, to
docs/img/, quantised to a small palette so each stays under MAX_BYTES. Run it again when one
of those pages changes.
"""

from __future__ import annotations

import io
import json
import sys
import tempfile
import time
import urllib.request
from pathlib import Path
from typing import Any

from PIL import Image

from monitor.broker import EmbeddedBroker
from tests.browser.browser import CHART_DRAWN, chromium
from tests.browser.service import WebService, running_service
from tests.conftest import REPO
from tests.integration.web_login import PASSWORD, add_user

OUT = REPO / "docs" / "img"
MAX_BYTES = 150_000
WIDTH = 1200
# name, path, height of the part shown (the top of the page: what a person sees first)
SHOTS = (
    ("incident", "/incidents/{incident}", 1150),
    ("approval", "/approvals", 1000),
    ("status", "/status", 760),
)


def _api(service: WebService, path: str, body: dict[str, Any] | None = None) -> Any:
    request = urllib.request.Request(
        service.url + path,
        data=json.dumps(body).encode() if body is not None else None,
        headers={"Authorization": f"Bearer {service.demo.token}"},
        method="POST" if body is not None else "GET",
    )
    with urllib.request.urlopen(request, timeout=30) as response:
        return json.loads(response.read())


def _outage_drafts(service: WebService, timeout: float = 120) -> list[dict[str, Any]]:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        drafts = _api(service, "/api/drafts")["drafts"]
        if any(d["channel"] == "status_page" for d in drafts):
            return list(drafts)
        time.sleep(1)
    raise SystemExit("no status page draft within 120 s; see the worker log")


def small_png(png: bytes, colours: int = 64) -> bytes:
    """The picture with a palette of ``colours``: text and flat colours survive, bytes drop."""
    image = Image.open(io.BytesIO(png)).convert("RGB")
    out = io.BytesIO()
    image.quantize(colors=colours, method=Image.Quantize.MEDIANCUT).save(
        out, format="PNG", optimize=True
    )
    return out.getvalue()


def take(service: WebService) -> list[Path]:
    service.play_the_outage()
    drafts = _outage_drafts(service)
    update = next(d for d in drafts if d["channel"] == "status_page")
    _api(service, f"/api/drafts/{update['id']}/approve", {"content_hash": update["content_hash"]})
    add_user(service.database_url, "ana", "approver")
    saved = []
    with chromium() as browser:
        context = browser.new_context(viewport={"width": WIDTH, "height": 900})
        page = context.new_page()
        page.goto(f"{service.url}/login")
        page.get_by_label("User name").fill("ana")
        page.get_by_label("Password").fill(PASSWORD)
        page.get_by_role("button", name="Sign in").click()
        page.wait_for_load_state()
        public = browser.new_context(viewport={"width": WIDTH, "height": 900})
        for name, path, height in SHOTS:
            if name == "status":  # as the public sees it: signed out
                page = public.new_page()
            page.set_viewport_size({"width": WIDTH, "height": height})
            page.goto(service.url + path.format(incident=update["incident_id"]))
            if name == "incident":
                page.wait_for_function(CHART_DRAWN, timeout=15_000)
                page.wait_for_timeout(1_000)  # Chart.js's entry animation
            png = small_png(page.screenshot())
            if len(png) > MAX_BYTES:
                png = small_png(page.screenshot(), colours=32)
            target = OUT / f"{name}.png"
            target.parent.mkdir(parents=True, exist_ok=True)
            target.write_bytes(png)
            saved.append(target)
            print(f"{target.relative_to(REPO)}: {len(png):,} bytes")
        context.close()
        public.close()
    return saved


def main() -> int:
    broker = EmbeddedBroker()
    try:
        url = broker.start()
        with tempfile.TemporaryDirectory() as tmp, running_service(url, Path(tmp)) as service:
            saved = take(service)
    finally:
        broker.stop()
    too_big = [p for p in saved if p.stat().st_size > MAX_BYTES]
    if too_big:
        print(f"over {MAX_BYTES:,} bytes: {', '.join(map(str, too_big))}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
