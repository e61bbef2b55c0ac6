"""Cold start: seconds from launching the embedded service to ``/readyz`` 200, and to the first
mention stored.

Each round is a fresh service on a fresh data dir (broker, SQLite file, worker, web); the
figure is the median of the rounds. Target (issue #3): the first mention stored within 10 s on
the embedded broker. Run: ``python -m bench.startup [ROUNDS]``.
"""

from __future__ import annotations

import json
import statistics
import sys
import time
import urllib.request
from typing import Any

from bench.common import INTAKE_HEADERS, embedded_service, stored_mentions, wait_for

TARGET_SECONDS = 10.0


def measure_once() -> tuple[float, float]:
    """(launch to /readyz 200, launch to the first mention stored) in seconds."""
    with embedded_service("startup") as service:
        launched = time.monotonic()
        service.start()  # returns once /readyz answers 200
        ready = time.monotonic() - launched
        body = json.dumps({"source": "bench", "text": "is it up?", "external_id": "1"}).encode()
        request = urllib.request.Request(
            f"{service.web_url}/api/mentions", data=body, method="POST", headers=INTAKE_HEADERS
        )
        with urllib.request.urlopen(request, timeout=20) as response:
            assert response.status == 202
        wait_for(lambda: stored_mentions(service.settings.resolved_database_url)() == 1, 30)
        first = time.monotonic() - launched
    return ready, first


def measure(rounds: int = 3) -> dict[str, Any]:
    runs = [measure_once() for _ in range(rounds)]
    ready = statistics.median(r for r, _ in runs)
    first = statistics.median(f for _, f in runs)
    return {
        "rounds": rounds,
        "ready_s": round(ready, 2),
        "first_mention_s": round(first, 2),
        "ready_s_each": [round(r, 2) for r, _ in runs],
        "first_mention_s_each": [round(f, 2) for _, f in runs],
        "target_first_mention_s": TARGET_SECONDS,
    }


def main() -> None:
    result = measure(int(sys.argv[1]) if len(sys.argv) > 1 else 3)
    first = result["first_mention_s"]
    print(f"rounds: {result['rounds']} (median)")
    print(f"service ready (broker + worker + web): {result['ready_s']:.2f}s")
    print(
        f"launch to first mention stored:       {first:.2f}s  (target <= {TARGET_SECONDS:.0f}s,"
        f" {'met' if first <= TARGET_SECONDS else 'MISSED'})"
    )


if __name__ == "__main__":
    main()
