"""Start-up: seconds from launching the embedded service to the first mention stored.

Target (issue #3): at most 10 s on the embedded broker. Run: ``python -m bench.startup``.
"""

from __future__ import annotations

import json
import time
import urllib.request

from bench.common import embedded_service, stored_mentions, wait_for

TARGET_SECONDS = 10.0


def main() -> None:
    with embedded_service("startup") as service:
        launched = time.monotonic()
        service.start()
        ready = time.monotonic() - launched
        body = json.dumps({"source": "bench", "text": "is it up?", "external_id": "1"}).encode()
        request = urllib.request.Request(
            f"{service.web_url}/api/mentions", data=body, method="POST"
        )
        with urllib.request.urlopen(request, timeout=20) as response:
            assert response.status == 202
        wait_for(lambda: stored_mentions(service.settings.resolved_database_url)() == 1, 30)
        first = time.monotonic() - launched
    print(f"service ready (broker + worker + web): {ready:.2f}s")
    print(
        f"launch to first mention stored:       {first:.2f}s  (target <= {TARGET_SECONDS:.0f}s,"
        f" {'met' if first <= TARGET_SECONDS else 'MISSED'})"
    )


if __name__ == "__main__":
    main()
