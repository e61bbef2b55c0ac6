"""One memory bench run: a scratch directory, a service, one stream replayed and measured."""

from __future__ import annotations

import shutil
import tempfile
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import timedelta
from pathlib import Path
from typing import Any

import yaml

from bench.memory_process import Memory, mb
from bench.memory_service import BenchError, Scratch, log_problems, running_service, timer_drift
from bench.memory_store import Store
from bench.memory_watch import Publisher, Watch
from bench.memory_workload import write_config
from monitor.storage.db import make_engine


def window_settings(config_dir: Path) -> tuple[int, int, int]:
    data = yaml.safe_load((config_dir / "detection.yaml").read_text(encoding="utf-8")) or {}
    return (
        int(data.get("window_seconds", 60)),
        int(data.get("allowed_lateness_seconds", 5)),
        int(data.get("idle_series_seconds", 21600)),
    )


@contextmanager
def scratch_dir(keep: Path | None = None, name: str = "run") -> Iterator[Scratch]:
    """A temporary directory, removed afterwards; if the run fails and ``keep`` is given, its
    worker log, broker log and database are copied to ``keep/name`` first (the service has
    stopped by then, so the database is whole)."""
    with tempfile.TemporaryDirectory(prefix="crisismon-bench-memory-") as tmp:
        scratch = Scratch(Path(tmp))
        try:
            yield scratch
        except BenchError:
            if keep is not None:
                keep_run_files(scratch, keep / name)
            raise


def keep_run_files(scratch: Scratch, target: Path) -> None:
    target.mkdir(parents=True, exist_ok=True)
    data = scratch.root / "data"
    for path in [scratch.worker_log, *data.glob("crisismon.db*"), *data.glob("logs/*.log")]:
        if path.is_file():
            shutil.copy2(path, target / path.name)


def run_stream(
    *,
    products: int,
    chunks: Iterator[list[dict[str, object]]],
    expected: int,
    timeout: float,
    sample_every: int | None = None,
    gate_lead: int | None = None,
    chunk_size: int = 0,
    recycle: bool = False,
    keep: Path | None = None,
    name: str = "run",
    on_step: Callable[[str], None] = lambda _msg: None,
) -> dict[str, Any]:
    """One service, one stream: replay, wait until stored, wait until caught up, measure."""
    with scratch_dir(keep, name) as scratch:
        config_dir = write_config(scratch.root / "config", products)
        window_s, lateness_s, idle_s = window_settings(config_dir)
        with running_service(scratch, config_dir) as service:
            store = Store(make_engine(service.settings.resolved_database_url))
            watch = Watch(service, store, scratch, expected, sample_every)

            def gate(index: int) -> bool:
                if gate_lead is None:
                    return True
                return watch.stored >= (index - gate_lead) * chunk_size

            publisher = Publisher(
                service, scratch, chunks, watch, gate=gate, recycle=recycle, on_step=on_step
            )
            began = time.monotonic()
            publisher.start()
            try:
                last_stored = watch.until_stored(timeout, publisher)
                stored_s = last_stored - began
                closing_started = time.monotonic()
                catch_up_error: str | None = None
                try:
                    windows, last_due = watch.until_caught_up(
                        max(60.0, timeout - (closing_started - began)), window_s, lateness_s
                    )
                except BenchError as exc:
                    # Memory and the samples are still worth having; the run is marked failed.
                    catch_up_error = str(exc)
                    windows, last_due = 0, watch.last_due(window_s, lateness_s)
                    if keep is not None:
                        keep_run_files(scratch, keep / name)
                caught_up = time.monotonic()
                orphans = store.open_due(last_due)
                orphan_examples = store.stuck(last_due) if orphans else []
                memory = Memory.of(service)
                newest = store.newest_event()
                live = store.live_series(newest - timedelta(seconds=idle_s)) if newest else 0
                closed = store.closed_windows()
            finally:
                publisher.stop()
                store.close()
            problems = log_problems(scratch)
            drift = timer_drift(scratch)
        result: dict[str, Any] = {
            "mentions": expected,
            "products": products,
            "ingest_s": round(stored_s, 1),
            "ingest_rate_per_s": round(expected / stored_s) if stored_s > 0 else None,
            "longest_stall_s": round(watch.longest_stall_s, 2),
            "longest_stall_ended_at_stored": watch.stall_at,
            "longest_stalls": [
                {"s": round(g, 2), "at_s": round(at, 1), "stored_before": a, "stored_after": b}
                for g, at, a, b in watch.stalls
            ],
            "largest_step_mentions": watch.largest_step,
            "first_stored_s": None
            if watch.first_stored_s is None
            else round(watch.first_stored_s, 2),
            "caught_up": catch_up_error is None,
            "catch_up_error": catch_up_error,
            "closing_s": round(caught_up - last_stored, 1) if catch_up_error is None else None,
            "closing_wait_s": round(caught_up - closing_started, 1),
            "windows_per_series": windows,
            "windows_closed": closed,
            "live_series": live,
            # Windows with mentions that end by the watermark but stay open behind their
            # series' last closed window: never closed, so never scored (an engine problem).
            "orphaned_open_windows": orphans,
            "orphaned_examples": orphan_examples,
            **memory.as_dict(),
            "peak_worker_total_rss_mb": mb(watch.peak.get("total_kb")),
            "peak_worker_rss_mb": mb(watch.peak.get("worker_kb")),
            "peak_broker_rss_mb": mb(watch.peak.get("broker_kb")),
            "worker_log_problems": problems,
            **drift,
        }
        if sample_every:
            result["samples"] = watch.samples
            result["broker_recycles"] = publisher.recycles
            result["broker_recycled_at_stored"] = watch.recycled_at
        return result
