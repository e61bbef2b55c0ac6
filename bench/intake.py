"""Ingest against HTTP intake: can the pipeline keep up with what ``POST /api/mentions`` accepts?

The bench mentions (`bench.pipeline.mentions`) are POSTed to a running embedded service (SQLite)
in JSON arrays of ``per_request`` mentions, ``concurrency`` requests in flight, as fast as the
service answers 202 (which it does once the broker acknowledged every mention and, on the
embedded broker, once they are in the SQL inbox). Two rates from the same run, both counted from
the first request:

* intake: N / seconds until the last 202;
* ingest: N / seconds until all N are stored and detection has caught up (as in `bench.e2e`).

ingest / intake is 1.0 when ingest keeps pace with intake; below 1.0 a backlog builds on the
broker while requests are accepted. The web server runs in the worker's process, so intake and
ingest share its event loop and CPU, as they do in production.

Run: ``python -m bench.intake [N] [--per-request K] [--concurrency C]``.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import time
from collections.abc import Sequence
from typing import Any

import aiohttp

from bench.common import INTAKE_HEADERS, BenchError, Progress, embedded_service, ratio
from bench.e2e import allowed_lateness, timeout_for
from bench.pipeline import import_customers, mentions


async def post_all(url: str, bodies: Sequence[bytes], concurrency: int) -> None:
    """POST every body (a JSON array) to ``url``, ``concurrency`` at a time; each must be 202."""
    queue: asyncio.Queue[bytes] = asyncio.Queue()
    for body in bodies:
        queue.put_nowait(body)
    headers = INTAKE_HEADERS
    timeout = aiohttp.ClientTimeout(total=120)
    async with aiohttp.ClientSession(timeout=timeout) as session:

        async def sender() -> None:
            while not queue.empty():
                body = queue.get_nowait()
                while True:
                    async with session.post(url, data=body, headers=headers) as response:
                        if response.status == 202:
                            break
                        text = (await response.text())[:300]
                        if response.status != 503:  # 503: held behind ingest, send it again
                            raise BenchError(f"POST {url}: HTTP {response.status}: {text}")
                    await asyncio.sleep(1.0)

        await asyncio.gather(*(sender() for _ in range(concurrency)))


def measure(n: int, *, per_request: int = 100, concurrency: int = 4) -> dict[str, Any]:
    """Intake and ingest rates of one fresh service for ``n`` mentions, and their ratio."""
    items = mentions(n)
    bodies = [json.dumps(items[i : i + per_request]).encode() for i in range(0, n, per_request)]
    with embedded_service("intake") as service:
        service.start()
        import_customers(service.settings)
        progress = Progress.open(
            service.settings.resolved_database_url, n, allowed_lateness(service)
        )
        try:
            started = time.monotonic()
            asyncio.run(post_all(f"{service.web_url}/api/mentions", bodies, concurrency))
            intake_s = time.monotonic() - started
            done = progress.wait(started, timeout_for(n))
        finally:
            progress.close()
    intake_rate, ingest_rate = n / intake_s, n / done.scored_s
    return {
        "mentions": n,
        "per_request": per_request,
        "concurrency": concurrency,
        "intake_s": round(intake_s, 3),
        "intake_rate": round(intake_rate, 1),
        "stored_s": round(done.stored_s, 3),
        "seconds": round(done.scored_s, 3),
        "rate": round(ingest_rate, 1),
        "ratio": ratio(ingest_rate, intake_rate),
    }


def describe(result: dict[str, Any]) -> str:
    return "\n".join(
        [
            f"mentions: {result['mentions']:,} over HTTP, {result['per_request']} per request, "
            f"{result['concurrency']} requests in flight",
            f"  HTTP intake (all 202):        {result['intake_rate']:>9,.0f} mentions/s",
            f"  stored:                       {result['mentions'] / result['stored_s']:>9,.0f}"
            " mentions/s",
            f"  ingested and scored:          {result['rate']:>9,.0f} mentions/s",
            f"  ingest / intake: {result['ratio']:.2f}",
        ]
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("n", nargs="?", type=int, default=20_000)
    parser.add_argument("--per-request", type=int, default=100)
    parser.add_argument("--concurrency", type=int, default=4)
    args = parser.parse_args()
    print(describe(measure(args.n, per_request=args.per_request, concurrency=args.concurrency)))


if __name__ == "__main__":
    main()
