"""End to end: mentions replayed into a running service until every window is scored.

The same N mentions as `bench.pipeline` (back-to-back outage scenarios; tickets from 2,000
imported customers, so the segment fan-out is part of the cost) are replayed with
`streams.replay.replay` into a running embedded service. The clock stops when

* all N mentions are stored, and
* no window that the watermark has passed is still open: no ``series_windows`` row with
  ``closed = false`` ends at or before the watermark, so detection has caught up with ingest.
  The watermark is event time − ``allowed_lateness_seconds`` (config/detection.yaml), with
  event time as the engine advances it: the lowest of the per-partition highest event times
  (``ingest_progress``), which trails the newest mention when a partition's last records are
  older. Windows in that tail close only when later mentions (or, live, the clock) move every
  partition on; the result says how long the tail was and how many windows it held.
  ``--strict`` waits for those too (up to the newest event time − lateness), and so stalls.

The reference is measured in the same run on the same broker, just before: the Faust
pass-through agent of `bench.passthrough` moving the same N mention payloads from topic A to
topic B. The ratio pipeline / pass-through is the figure; absolute rates move with the machine.

Run: ``python -m bench.e2e [N] [--backend sqlite|postgres] [--workers 1|2] [--strict]``.
"""

from __future__ import annotations

import argparse
import asyncio
import shutil
import signal
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from contextlib import ExitStack, contextmanager
from pathlib import Path
from typing import Any

from bench import passthrough
from bench.common import (
    BenchError,
    Progress,
    database,
    embedded_service,
    extra_worker,
    ratio,
)
from bench.pipeline import import_customers, mentions
from detectors.config import load_detection_config
from monitor.shell.service import Service
from streams.replay import replay
from streams.scenario import write_jsonl


def timeout_for(n: int) -> float:
    """Generous: a pipeline ten times slower than today's still finishes."""
    return max(120.0, n / 50)


def allowed_lateness(service: Service) -> float:
    config = service.settings.config_dir / "detection.yaml"
    return float(load_detection_config(config).allowed_lateness_seconds)


def run_replay(
    service: Service, path: Path, n: int, lateness: float, *, strict: bool = False
) -> dict[str, Any]:
    """Replay ``path`` into ``service`` and wait until stored and scored; the timings."""
    settings = service.settings
    progress = Progress.open(settings.resolved_database_url, n, lateness, strict=strict)
    try:
        started = time.monotonic()
        report = asyncio.run(
            replay(
                path,
                broker_url=service.broker_url,
                mentions_topic=settings.topic_name("mentions.raw"),
                dead_letter_topic=settings.topic_name("dead-letter"),
                privacy=settings.privacy,
            )
        )
        if report.rejected:
            raise BenchError(f"replay rejected {report.rejected} mentions: {report.rejections}")
        published = time.monotonic() - started
        done = progress.wait(started, timeout_for(n))
    finally:
        progress.close()
    return {
        "mentions": n,
        "published_s": round(published, 3),
        "stored_s": round(done.stored_s, 3),
        "seconds": round(done.scored_s, 3),
        "rate": round(n / done.scored_s, 1),
        "watermark_lag_s": None if done.watermark_lag_s is None else round(done.watermark_lag_s),
        "tail_windows_open": done.tail_windows_open,
    }


@contextmanager
def py_spy(pid: int, out: Path) -> Iterator[Path]:
    """Sample ``pid`` and its child processes (all threads; `bench.hotspots` leaves the idle
    ones out) with py-spy while the block runs, into ``out`` (collapsed stacks, one entry per
    function)."""
    beside = Path(sys.executable).with_name("py-spy")
    binary = str(beside) if beside.exists() else shutil.which("py-spy")
    if binary is None:
        raise BenchError("py-spy is not installed (it is in the dev extras: make install)")
    argv = [
        binary, "record", "--pid", str(pid), "--subprocesses", "--format", "raw",
        "--function", "--rate", "100", "--output", str(out),
    ]  # fmt: skip
    log = out.with_suffix(".log")
    with log.open("wb") as handle:
        proc = subprocess.Popen(argv, stdout=handle, stderr=subprocess.STDOUT)
    time.sleep(0.5)  # let it attach before the work starts
    if proc.poll() is not None:
        raise BenchError(f"py-spy could not attach: {log.read_text().strip()[-300:]}")
    try:
        yield out
    finally:
        proc.send_signal(signal.SIGINT)
        try:
            proc.wait(timeout=60)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()
    if not out.exists():
        raise BenchError(f"py-spy wrote no profile: {log.read_text().strip()[-300:]}")


def measure(
    n: int,
    *,
    backend: str = "sqlite",
    workers: int = 1,
    reference: bool = True,
    profile_to: Path | None = None,
    strict: bool = False,
) -> dict[str, Any]:
    """One fresh service on ``backend``: the pass-through reference on its broker, then the
    pipeline (with ``workers`` workers). ``profile_to``: py-spy's raw samples of the first
    worker during the pipeline run are written there."""
    if workers not in (1, 2):
        raise ValueError("workers must be 1 or 2")
    items = mentions(n)
    with (
        tempfile.TemporaryDirectory() as tmp,
        database(backend) as url,
        embedded_service("bench", database_url=url) as service,
    ):
        service.start()
        lateness = allowed_lateness(service)
        import_customers(service.settings)
        path = write_jsonl(items, Path(tmp) / "bench.jsonl")
        ref: dict[str, Any] | None = None
        if reference:
            records = passthrough.mention_records(items, service.settings)
            ref = passthrough.measure(service.broker_url, records, settings=service.settings)
        with ExitStack() as stack:
            if workers == 2:
                stack.enter_context(extra_worker(service))
            if profile_to is not None:
                assert service.worker is not None
                stack.enter_context(py_spy(service.worker.pid, profile_to))
            result = run_replay(service, path, n, lateness, strict=strict)
    result.update(
        backend=backend,
        workers=workers,
        reference=ref,
        ratio=ratio(result["rate"], ref["rate"] if ref else None),
    )
    return result


def describe(result: dict[str, Any]) -> str:
    ref = result.get("reference")
    lines = [
        f"mentions: {result['mentions']:,} on {result['backend']}, {result['workers']} worker(s)",
        f"  replay published all in {result['published_s']:.2f} s, all stored at "
        f"{result['stored_s']:.2f} s, all scored at {result['seconds']:.2f} s",
        f"  crisismon end to end (stored and scored): {result['rate']:>9,.0f} mentions/s",
    ]
    if result.get("tail_windows_open"):
        lines.append(
            f"  (the engine's watermark trailed the newest mention by {result['watermark_lag_s']}"
            f" s of event time; {result['tail_windows_open']} windows in that tail stay open "
            "until later mentions)"
        )
    if ref:
        lines += [
            f"  Faust pass-through A -> B, same broker:   {ref['rate']:>9,.0f} records/s",
            f"  pipeline / pass-through: {result['ratio']:.2f}",
        ]
    return "\n".join(lines)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("n", nargs="?", type=int, default=20_000)
    parser.add_argument("--backend", choices=["sqlite", "postgres"], default="sqlite")
    parser.add_argument("--workers", type=int, choices=[1, 2], default=1)
    parser.add_argument("--no-reference", action="store_true")
    parser.add_argument(
        "--strict",
        action="store_true",
        help="wait for every window up to the newest event time − lateness, not only up to "
        "the engine's watermark (stalls when a partition trails)",
    )
    args = parser.parse_args()
    result = measure(
        args.n,
        backend=args.backend,
        workers=args.workers,
        reference=not args.no_reference,
        strict=args.strict,
    )
    print(describe(result))


if __name__ == "__main__":
    main()
