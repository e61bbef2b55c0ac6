"""What the segment:, topic: and product: fan-out costs ingest, in one process, in one run.

The bench pipeline's mentions (tickets from 2,000 imported customers) go through
`ingest_raw_batch` in batches of 500 into a fresh SQLite file twice: without the fan-out (only
global, source:, lang:) and with it (topics.yaml, segments.yaml over the customers table, the
60 s cache starting cold). Rounds alternate, so machine load hits both alike.

Run: ``python -m bench.fanout [N] [ROUNDS]``. Prints both rates and their ratio.
"""

from __future__ import annotations

import json
import secrets
import sys
import tempfile
import time
from datetime import UTC, datetime
from pathlib import Path

from bench.pipeline import customers, mentions
from detectors.sentiment import build_scorer
from detectors.series import NO_FAN_OUT, FanOut
from detectors.topics import load_topics
from monitor.privacy import Privacy
from monitor.settings import shipped_config_dir
from monitor.storage.db import make_engine
from monitor.storage.migrate import upgrade
from playbooks.attribution import CustomerSegments
from playbooks.customers import upsert
from playbooks.segments import load_segments
from streams.ingest import ingest_raw_batch

BATCH = 500


def one_run(
    records: list[bytes], privacy: Privacy, *, with_fan_out: bool, directory: Path
) -> float:
    """Seconds to ingest every record into a fresh database."""
    engine = make_engine(f"sqlite:///{directory / f'{time.time_ns()}.db'}")
    upgrade(engine)
    upsert(
        engine, customers=customers(), now=datetime.now(UTC), pseudonymiser=privacy.pseudonymiser
    )
    config = shipped_config_dir()
    fan_out = (
        FanOut(
            load_topics(config / "topics.yaml"),
            CustomerSegments(
                engine, load_segments(config / "segments.yaml"), privacy.pseudonymiser
            ),
        )
        if with_fan_out
        else NO_FAN_OUT
    )
    scorer = build_scorer(config, None)
    started = time.monotonic()
    for start in range(0, len(records), BATCH):
        ingest_raw_batch(
            engine,
            scorer,
            [(0, r) for r in records[start : start + BATCH]],
            window_seconds=60,
            now=datetime.now(UTC),
            privacy=privacy,
            fan_out=fan_out,
        )
    seconds = time.monotonic() - started
    engine.dispose()
    return seconds


def main() -> None:
    n = int(sys.argv[1]) if len(sys.argv) > 1 else 10_000
    rounds = int(sys.argv[2]) if len(sys.argv) > 2 else 2
    privacy = Privacy.from_key(secrets.token_hex(32))
    records = [json.dumps(item).encode() for item in mentions(n)]
    without: list[float] = []
    with_it: list[float] = []
    with tempfile.TemporaryDirectory() as tmp:
        for _ in range(rounds):
            without.append(one_run(records, privacy, with_fan_out=False, directory=Path(tmp)))
            with_it.append(one_run(records, privacy, with_fan_out=True, directory=Path(tmp)))
    plain, fanned = n / min(without), n / min(with_it)
    print(f"mentions: {n:,} (best of {rounds} alternating rounds)")
    print(f"ingest without segment:/topic:/product: fan-out: {plain:,.0f}/s")
    print(f"ingest with the fan-out:                         {fanned:,.0f}/s")
    print(f"with / without: {fanned / plain:.2f}")


if __name__ == "__main__":
    main()
