"""The alert-latency bench's traffic: the time scale, steady mentions and the bursts."""

from __future__ import annotations

import http.client
import json
import random
import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any
from urllib.parse import urlsplit

from bench.common import INTAKE_HEADERS

WINDOW_SECONDS = 1
LATENESS_SECONDS = 1.0
# Overrides of config/detection.yaml (dotted keys); see the module docstring for why.
TIMESCALE: dict[str, Any] = {
    "window_seconds": WINDOW_SECONDS,
    "allowed_lateness_seconds": LATENESS_SECONDS,
    "detector.warmup_windows": 10,
    "detector.spike_span_windows": 1,
    "incidents.merge_gap_seconds": 0,
}
# Windows of steady traffic before the first burst (warm-up is 10 closed windows).
WARM_WINDOWS = 15
# A burst every this many windows: the windows in between are quiet, so incidents never touch;
# odd, so that successive deadlines alternate between the two phases of a 2 s timer.
PERIOD_WINDOWS = 5
BURST_SIZE = 30
# Steady traffic, mentions per second, and the share of it tagged with one of the products.
RATE = 4.0
PRODUCT_SHARE = 0.3
# How long after the last burst's window closes its alert may still arrive.
DRAIN_SECONDS = 20.0
# A burst goes out this long after its window starts (the send itself must land in the window).
BURST_OFFSET = 0.05


_CALM = (
    "just set up my new account, looks nice",
    "the weekly report arrived as usual",
    "thanks for the quick answer yesterday",
    "how do I change the colour of the dashboard",
    "my team likes the new layout",
    "is there a way to export this as a spreadsheet",
    "got the newsletter, interesting read",
    "can someone tell me where the settings page went",
    "works fine for me this morning",
    "what are your opening hours on Friday",
)
_ANGRY = (
    "this update broke everything for me, awful",
    "furious, it keeps crashing every few minutes",
    "terrible experience today, nothing I try helps",
    "worst release ever, I want it fixed now",
    "so annoyed, the new version is useless",
    "completely unusable since this morning, horrible",
)


def product_name(index: int) -> str:
    return f"bp{index:02d}"


class MentionSender:
    """``POST /api/mentions`` over one keep-alive connection; counts what was refused."""

    def __init__(self, web_url: str) -> None:
        parts = urlsplit(web_url)
        self._host, self._port = parts.hostname or "127.0.0.1", parts.port or 80
        self._conn: http.client.HTTPConnection | None = None
        self.failures: list[str] = []

    def send(self, mentions: list[dict[str, Any]]) -> bool:
        body = json.dumps(mentions).encode()
        error = ""
        for _attempt in range(2):
            try:
                if self._conn is None:
                    self._conn = http.client.HTTPConnection(self._host, self._port, timeout=30)
                self._conn.request("POST", "/api/mentions", body, INTAKE_HEADERS)
                response = self._conn.getresponse()
                answer = response.read()
                if response.status == 202:
                    return True
                self.failures.append(f"HTTP {response.status}: {answer[:200]!r}")
                return False
            except (OSError, http.client.HTTPException) as exc:
                self.close()
                error = f"{type(exc).__name__}: {exc}"
        self.failures.append(error)
        return False

    def close(self) -> None:
        if self._conn is not None:
            self._conn.close()
            self._conn = None


@dataclass
class Burst:
    index: int
    product: str
    planned: float  # wall clock at which it is due
    event_time: float | None = None  # what the mentions carried (None: not sent)
    accepted: bool = False

    @property
    def window_start(self) -> float | None:
        if self.event_time is None:
            return None
        whole = int(self.event_time)  # as the engine computes it (streams/windows.py)
        return float(whole - whole % WINDOW_SECONDS)

    @property
    def deadline(self) -> float | None:
        """The earliest wall-clock instant a correct engine could judge the burst's window."""
        start = self.window_start
        return None if start is None else start + WINDOW_SECONDS + LATENESS_SECONDS


def iso(epoch: float) -> str:
    return datetime.fromtimestamp(epoch, tz=UTC).isoformat()


def _mention(key: str, at: float, text: str, product: str | None) -> dict[str, Any]:
    item: dict[str, Any] = {
        "source": "bench",
        "external_id": key,
        "text": text,
        "event_time": iso(at),
        "lang": "en",
    }
    if product is not None:
        item["product"] = product
    return item


def run_traffic(
    sender: MentionSender,
    bursts: list[Burst],
    *,
    until: Callable[[float], bool],
    rng: random.Random,
    products: list[str],
) -> int:
    """Steady traffic until ``until(now)``, with each burst sent when due. Mentions sent."""
    sent = 0
    serial = 0
    now = time.time()
    # Every product is mentioned once at the start, so its series is live (and warming) early.
    intro = [_mention(f"intro-{p}", now, f"hello from the {p} team", p) for p in products]
    if sender.send(intro):
        sent += len(intro)
    next_calm = now + rng.expovariate(RATE)
    pending = sorted(bursts, key=lambda b: b.planned)
    while True:
        now = time.time()
        if not pending and until(now):
            return sent
        due = min(next_calm, pending[0].planned) if pending else next_calm
        if due > now:
            time.sleep(due - now)
            continue
        if pending and pending[0].planned <= now:
            burst = pending.pop(0)
            at = time.time()
            burst.event_time = at
            items = [
                _mention(
                    f"burst-{burst.index}-{i}",
                    at,
                    f"{rng.choice(_ANGRY)} ({burst.product} #{i})",
                    burst.product,
                )
                for i in range(BURST_SIZE)
            ]
            burst.accepted = sender.send(items)
            sent += len(items) if burst.accepted else 0
            continue
        serial += 1
        product = rng.choice(products) if rng.random() < PRODUCT_SHARE else None
        if sender.send([_mention(f"calm-{serial}", now, rng.choice(_CALM), product)]):
            sent += 1
        next_calm += rng.expovariate(RATE)
