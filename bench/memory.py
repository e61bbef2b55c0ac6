"""Memory and series capacity: how many live series one worker holds, and whether memory creeps.

Two measurements, each on a fresh embedded service (Tansu, SQLite in a temporary directory,
one `crisismon worker`):

* **Series.** For each N, N products are configured in ``topics.yaml`` (a product only becomes
  a ``product:`` series when it is configured) and a stream of ``per_series`` mentions per
  product, tagged with it (``product`` field), spread over ``event_minutes`` minutes of event
  time, is replayed as fast as possible. Measured: ingest's longest stall (the longest
  wall-clock gap between two increases of the stored mention count while mentions were still
  pending), the closing work (from the last mention stored until every window the watermark
  passed is closed), worker and Tansu resident memory then, and the live series. The worker
  does not publish `SeriesDetectors.live_series`, so it is counted from outside: distinct
  series with a window within ``idle_series_seconds`` of the newest event (nothing is evicted
  in a run this short, so it is what the detect stage holds). ``series_max_live`` is the
  largest N whose ingest never stalled longer than ``stall_limit_s`` and whose detection
  caught up. Caught up means every series has closed every window through the last one that
  ends by the final watermark (empty windows get their row only when they close, so open rows
  alone would not tell); windows that hold mentions but stay open behind a series' last closed
  window are counted apart (``orphaned_open_windows``): they are never scored. A stall is
  measured between increases of the count, so it is at least one ingest batch's time (a batch
  of replayed bundles holds up to 10,000 mentions: ``largest_step_mentions``).
* **Soak.** ``soak_mentions`` mentions over ``soak_products`` products, a continuous event-time
  stream, published in chunks kept at most two chunks ahead of ingest; worker and Tansu memory
  are sampled each time another ``sample_every`` mentions are stored. The slopes (KB per 1,000
  mentions) are least-squares fits over the samples after the first 20 % (warm-up). If the
  service can recycle its broker (`Service.maybe_recycle_broker`, ``CRISISMON_BROKER_MEMORY_MB``)
  the soak asks it between chunks, as `crisismon run` does on its own timer; the count of
  recycles is reported.

Memory is read from ``/proc`` (VmRSS), so this runs on Linux. Worker memory is the worker and
every process it started (its detect process, ``CRISISMON_DETECT_PROCESS``, and its scoring
processes, ``CRISISMON_SCORING_PROCESSES``): ``rss_slope_kb_per_1k_mentions`` is fitted to that
total. The worker process alone and each child (largest first) are reported too.

Run: ``python -m bench.memory [--series 1000,10000,50000] [--soak 1000000] [--json]``.
`bench.run_all` imports `measure`.
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

from bench.memory_printout import print_result, series_line
from bench.memory_process import slope_kb_per_1k
from bench.memory_run import run_stream
from bench.memory_service import BenchError
from bench.memory_workload import series_mentions, soak_chunks
from monitor.shell.service import Service

SERIES_COUNTS = (1_000, 10_000, 50_000)
SOAK_MENTIONS = 1_000_000
# Ingest may pause this long at most for a series count to count as held.
STALL_LIMIT_S = 10.0


def measure_series(
    n: int,
    *,
    per_series: int = 4,
    event_minutes: int = 30,
    timeout: float = 1200.0,
    keep_failed: Path | None = None,
    on_step: Callable[[str], None] = lambda _msg: None,
) -> dict[str, Any]:
    """One series count: a fresh service, ``n`` products, ``per_series`` mentions each."""
    items = series_mentions(n, per_series, event_minutes)
    chunk = 25_000
    chunks = iter([items[i : i + chunk] for i in range(0, len(items), chunk)])
    result = run_stream(
        products=n, chunks=chunks, expected=len(items), timeout=timeout, on_step=on_step
    )
    return {"series": n, "per_series": per_series, "event_minutes": event_minutes, **result}


def measure_soak(
    mentions: int,
    *,
    products: int = 5_000,
    event_minutes: int | None = None,
    sample_every: int = 50_000,
    recycle: bool = True,
    timeout: float = 3600.0,
    keep_failed: Path | None = None,
    on_step: Callable[[str], None] = lambda _msg: None,
) -> dict[str, Any]:
    """``mentions`` over ``products`` products; memory every ``sample_every`` stored."""
    # About one mention per product and minute, so every series speaks about once a minute.
    minutes = event_minutes or max(10, mentions // products)
    chunk = min(sample_every, mentions)
    result = run_stream(
        products=products,
        chunks=soak_chunks(mentions, products, minutes, chunk),
        expected=mentions,
        timeout=timeout,
        sample_every=sample_every,
        gate_lead=1,
        chunk_size=chunk,
        recycle=recycle,
        keep=keep_failed,
        name=f"soak-{mentions}",
        on_step=on_step,
    )
    samples = result["samples"]
    total = [(s["mentions_stored"], s.pop("_total_kb")) for s in samples]
    worker = [(s["mentions_stored"], s.pop("_worker_kb")) for s in samples]
    broker = [(s["mentions_stored"], s.pop("_broker_kb")) for s in samples]
    return {
        "event_minutes": minutes,
        "sample_every": sample_every,
        "broker_recycle": (
            "off"
            if not recycle
            else "asked between chunks"
            if hasattr(Service, "maybe_recycle_broker")
            else "not available in this checkout"
        ),
        **result,
        "rss_slope_kb_per_1k_mentions": slope_kb_per_1k(total),
        # A recycle restarts the worker, so its memory starts again: the fit since the last one.
        "rss_slope_since_last_recycle_kb_per_1k_mentions": (
            slope_kb_per_1k(
                [(x, y) for x, y in total if x > result["broker_recycled_at_stored"][-1]],
                warmup=0.0,
            )
            if result["broker_recycled_at_stored"]
            else None
        ),
        "worker_process_rss_slope_kb_per_1k_mentions": slope_kb_per_1k(worker),
        "broker_rss_slope_kb_per_1k_mentions": slope_kb_per_1k(broker),
    }


def measure(
    series_counts: Sequence[int] = SERIES_COUNTS,
    soak_mentions: int = SOAK_MENTIONS,
    *,
    per_series: int = 4,
    event_minutes: int = 30,
    soak_products: int = 5_000,
    sample_every: int = 50_000,
    stall_limit_s: float = STALL_LIMIT_S,
    recycle: bool = True,
    keep_failed: Path | None = None,
    on_step: Callable[[str], None] = lambda _msg: None,
) -> dict[str, Any]:
    """Series capacity for each count, then a soak; ``soak_mentions`` 0 skips the soak.

    A series count that fails (a timeout, a worker crash) is reported with its error; larger
    counts are then skipped, since they would only fail slower."""
    runs: list[dict[str, Any]] = []
    failed = False
    for n in sorted(series_counts):
        if failed:
            runs.append({"series": n, "ok": False, "error": "skipped: a smaller count failed"})
            continue
        on_step(f"series: {n:,} products x {per_series} mentions over {event_minutes} min")
        try:
            run = measure_series(
                n,
                per_series=per_series,
                event_minutes=event_minutes,
                keep_failed=keep_failed,
                on_step=on_step,
            )
        except BenchError as exc:
            failed = True
            runs.append({"series": n, "ok": False, "error": str(exc)})
            on_step(f"series {n:,} failed: {exc}")
            continue
        run["ok"] = run["caught_up"] and run["longest_stall_s"] <= stall_limit_s
        runs.append(run)
        on_step(series_line(run))
    held = [r["series"] for r in runs if r.get("ok")]
    result: dict[str, Any] = {
        "stall_limit_s": stall_limit_s,
        "series": runs,
        "series_max_live": max(held) if held else None,
    }
    if soak_mentions:
        on_step(f"soak: {soak_mentions:,} mentions over {soak_products:,} products")
        try:
            result["soak"] = measure_soak(
                soak_mentions,
                products=soak_products,
                sample_every=sample_every,
                recycle=recycle,
                keep_failed=keep_failed,
                on_step=on_step,
            )
            result["rss_slope_kb_per_1k_mentions"] = result["soak"]["rss_slope_kb_per_1k_mentions"]
            result["broker_rss_slope_kb_per_1k_mentions"] = result["soak"][
                "broker_rss_slope_kb_per_1k_mentions"
            ]
        except BenchError as exc:
            on_step(f"soak failed: {exc}")
            result["soak"] = {"mentions": soak_mentions, "ok": False, "error": str(exc)}
            result["rss_slope_kb_per_1k_mentions"] = None
            result["broker_rss_slope_kb_per_1k_mentions"] = None
    return result


def _counts(text: str) -> list[int]:
    return [int(part.replace("_", "")) for part in text.split(",") if part.strip()]


def main(argv: Sequence[str] | None = None) -> None:
    parser = argparse.ArgumentParser(prog="python -m bench.memory", description=__doc__)
    parser.add_argument("--series", type=_counts, default=list(SERIES_COUNTS))
    parser.add_argument("--soak", type=int, default=SOAK_MENTIONS, help="0 skips the soak")
    parser.add_argument("--per-series", type=int, default=4)
    parser.add_argument("--event-minutes", type=int, default=30)
    parser.add_argument("--soak-products", type=int, default=5_000)
    parser.add_argument("--sample-every", type=int, default=50_000)
    parser.add_argument(
        "--no-recycle", action="store_true", help="never recycle the broker in the soak"
    )
    parser.add_argument(
        "--keep-failed",
        type=Path,
        metavar="DIR",
        help="copy a failed run's worker log and database here before its directory is removed",
    )
    parser.add_argument("--json", action="store_true", help="print the result as JSON")
    args = parser.parse_args(argv)

    def step(message: str) -> None:
        print(f"[{time.strftime('%H:%M:%S')}] {message}", file=sys.stderr, flush=True)

    result = measure(
        args.series,
        args.soak,
        per_series=args.per_series,
        event_minutes=args.event_minutes,
        soak_products=args.soak_products,
        sample_every=args.sample_every,
        recycle=not args.no_recycle,
        keep_failed=args.keep_failed,
        on_step=step,
    )
    if args.json:
        print(json.dumps(result, indent=2, default=str))
    else:
        print_result(result)


if __name__ == "__main__":
    main()
