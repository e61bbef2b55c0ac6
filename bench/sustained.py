"""Ingest during a sustained HTTP load: is what is accepted also stored while the load lasts?

`bench.intake` posts a fixed number of mentions and compares two rates over the whole run. This
one holds the load for ``seconds``: ``concurrency`` clients POST JSON arrays of ``per_request``
mentions to a running embedded service (SQLite unless ``--postgres``) as fast as it answers, and
a client that gets a 503 (the service holds intake while ingest is behind, see
`monitor.shell.intake_gate`) waits a second and sends the same batch again, as a careful
client does.
While the load lasts:

* accepted: mentions that got their 202, per second;
* stored: mentions that reached the ``mentions`` table, per second;
* stored / accepted: 1.0 when ingest keeps pace; the goal is at least 0.9;
* request latency (p50, p99) and the 503s.

After the load: how long until every accepted mention is stored (the backlog left).

Run: ``python -m bench.sustained [--seconds 60] [--per-request 100] [--concurrency 20]``.
"""

from __future__ import annotations

import argparse
import asyncio
import itertools
import json
import threading
import time
from datetime import UTC, datetime
from typing import Any

import aiohttp

from bench.common import (
    INTAKE_HEADERS,
    BenchError,
    database,
    embedded_service,
    ratio,
    stored_mentions,
)
from bench.pipeline import import_customers, mentions


async def _load(
    url: str, bodies: list[tuple[int, bytes]], seconds: float, concurrency: int
) -> dict[str, Any]:
    """POST ``bodies`` for ``seconds``; the accepted count, latencies and 503s."""
    queue = list(reversed(bodies))
    accepted = 0
    latencies: list[float] = []
    held = 0
    stop_at = time.monotonic() + seconds
    headers = INTAKE_HEADERS
    async with aiohttp.ClientSession(timeout=aiohttp.ClientTimeout(total=120)) as session:

        async def client() -> None:
            nonlocal accepted, held
            while queue and time.monotonic() < stop_at:
                size, body = queue.pop()
                while True:
                    started = time.monotonic()
                    async with session.post(url, data=body, headers=headers) as response:
                        text = await response.text()
                    latencies.append(time.monotonic() - started)
                    if response.status == 202:
                        accepted += size
                        break
                    if response.status != 503:
                        raise BenchError(f"POST {url}: HTTP {response.status}: {text[:300]}")
                    held += 1
                    await asyncio.sleep(1.0)

        await asyncio.gather(*(client() for _ in range(concurrency)))
    if not queue:
        raise BenchError("ran out of mentions before the load ended: raise the mention count")
    latencies.sort()
    return {
        "accepted": accepted,
        "p50_s": round(latencies[len(latencies) // 2], 3),
        "p99_s": round(latencies[int(len(latencies) * 0.99)], 3),
        "held_503": held,
    }


LIVE_TEXTS = (
    "Does anyone know how to export my data to a spreadsheet?",
    "Just renewed my plan, all good so far",
    "How do I change the email on my account?",
    "The new dashboard layout takes some getting used to",
)


async def live_load(
    url: str, stop: threading.Event, *, concurrency: int = 20, per_request: int = 100
) -> dict[str, int]:
    """Steady background traffic until ``stop``: JSON arrays of ``per_request`` ordinary
    mentions stamped with the current time, ``concurrency`` requests in flight, a 503 retried
    after 1 s. What was accepted and how many answers were 503."""
    counts = {"accepted": 0, "held_503": 0}
    serial = itertools.count()
    headers = INTAKE_HEADERS

    def batch() -> bytes:
        now = datetime.now(UTC).isoformat()
        return json.dumps(
            [
                {
                    "source": "background",
                    "external_id": f"bg-{n}",
                    "text": LIVE_TEXTS[n % len(LIVE_TEXTS)],
                    "event_time": now,
                    "lang": "en",
                }
                for n in itertools.islice(serial, per_request)
            ]
        ).encode()

    async with aiohttp.ClientSession(timeout=aiohttp.ClientTimeout(total=120)) as session:

        async def client() -> None:
            while not stop.is_set():
                async with session.post(url, data=batch(), headers=headers) as response:
                    await response.read()
                if response.status == 202:
                    counts["accepted"] += per_request
                elif response.status == 503:
                    counts["held_503"] += 1
                    await asyncio.sleep(1.0)
                else:
                    raise BenchError(f"background POST: HTTP {response.status}")

        await asyncio.gather(*(client() for _ in range(concurrency)))
    return counts


def measure(
    seconds: float = 60.0,
    *,
    per_request: int = 100,
    concurrency: int = 20,
    backend: str = "sqlite",
    extra_env: dict[str, str] | None = None,
) -> dict[str, Any]:
    """Accepted and stored rates of one fresh service under ``seconds`` of load."""
    items = mentions(int(seconds * 4_000))  # more than one worker accepts
    bodies = [
        (len(part), json.dumps(part).encode())
        for i in range(0, len(items), per_request)
        if (part := items[i : i + per_request])
    ]
    with (
        database(backend) as database_url,
        embedded_service("sustained", database_url=database_url, extra_env=extra_env) as service,
    ):
        service.start()
        import_customers(service.settings)
        stored = stored_mentions(service.settings.resolved_database_url)
        before = stored()
        started = time.monotonic()
        load = asyncio.run(_load(f"{service.web_url}/api/mentions", bodies, seconds, concurrency))
        load_s = time.monotonic() - started
        during = stored() - before
        deadline = time.monotonic() + 600
        while stored() - before < load["accepted"]:
            if time.monotonic() > deadline:
                raise BenchError("accepted mentions were not all stored within 10 minutes")
            time.sleep(0.5)
        drain_s = time.monotonic() - started - load_s
    accepted_rate, stored_rate = load["accepted"] / load_s, during / load_s
    return {
        "backend": backend,
        "seconds": round(load_s, 1),
        "per_request": per_request,
        "concurrency": concurrency,
        "accepted_rate": round(accepted_rate, 1),
        "stored_rate": round(stored_rate, 1),
        "ratio": ratio(stored_rate, accepted_rate),
        "stored_vs_accepted_sustained": ratio(stored_rate, accepted_rate),
        "drain_s": round(drain_s, 1),
        **load,
    }


def describe(result: dict[str, Any]) -> str:
    return "\n".join(
        [
            f"{result['seconds']:.0f} s of HTTP load on {result['backend']}: "
            f"{result['concurrency']} clients, {result['per_request']} mentions per request",
            f"  accepted (202):   {result['accepted_rate']:>8,.0f} mentions/s "
            f"(p50 {result['p50_s']:.2f} s, p99 {result['p99_s']:.2f} s, "
            f"{result['held_503']} answers 503)",
            f"  stored meanwhile: {result['stored_rate']:>8,.0f} mentions/s",
            f"  stored / accepted: {result['ratio']:.2f}; the rest stored "
            f"{result['drain_s']:.1f} s after the load",
        ]
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seconds", type=float, default=60.0, help="how long the load lasts")
    parser.add_argument("--per-request", type=int, default=100, help="mentions per POST")
    parser.add_argument("--concurrency", type=int, default=20, help="requests in flight")
    parser.add_argument(
        "--postgres", action="store_true", help="a throwaway PostgreSQL database, not SQLite"
    )
    parser.add_argument(
        "--no-gate",
        action="store_true",
        help="CRISISMON_INTAKE_BACKLOG_LIMIT=0: intake is not held (the behaviour before)",
    )
    args = parser.parse_args()
    result = measure(
        args.seconds,
        per_request=args.per_request,
        concurrency=args.concurrency,
        backend="postgres" if args.postgres else "sqlite",
        extra_env={"CRISISMON_INTAKE_BACKLOG_LIMIT": "0"} if args.no_gate else None,
    )
    print(describe(result))


if __name__ == "__main__":
    main()
