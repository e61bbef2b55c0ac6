"""Watching a memory bench run: stored count, stalls and memory samples; the publisher."""

from __future__ import annotations

import asyncio
import json
import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from bench.memory_process import Memory
from bench.memory_service import BenchError, Scratch, log_excerpt
from bench.memory_store import Store
from bench.memory_workload import EVENT_START
from monitor.shell.service import Service
from streams.replay import replay

# A run is abandoned when nothing is stored, or no due window closes, for this long.
GIVE_UP_S = 180.0
POLL_S = 0.25


@dataclass(slots=True)
class Watch:
    """Polls the stored count and memory; notes stalls, samples and the worker's health."""

    service: Service
    store: Store
    scratch: Scratch
    expected: int
    sample_every: int | None = None
    published: int = 0  # mentions the broker acknowledged so far (the publisher adds)
    pending_since: float | None = None  # monotonic time of the first acknowledgement
    stored: int = 0
    last_increase: float = 0.0
    longest_stall_s: float = 0.0
    first_stored_s: float | None = None
    # The longest gaps: (seconds, at elapsed s, stored before, stored after).
    stalls: list[tuple[float, float, int, int]] = field(default_factory=list)
    largest_step: int = 0  # most mentions one increase of the count added (one ingest batch)
    stall_at: int = 0  # stored count when the longest stall ended
    peak: dict[str, int] = field(default_factory=dict)
    samples: list[dict[str, Any]] = field(default_factory=list)
    lock: threading.Lock = field(default_factory=threading.Lock)
    started: float = field(default_factory=time.monotonic)
    recycling: threading.Event = field(default_factory=threading.Event)
    recycled_at: list[int] = field(default_factory=list)  # mentions stored at each recycle

    def acknowledged(self, n: int) -> None:
        with self.lock:
            self.published += n
            if self.pending_since is None:
                self.pending_since = time.monotonic()
                if self.stored == 0:
                    self.last_increase = self.pending_since

    def poll(self) -> None:
        """One look: stored count, stall bookkeeping, memory peaks and due samples."""
        self.check_worker()
        now = time.monotonic()
        stored = self.store.stored()
        with self.lock:
            pending = self.pending_since is not None and self.stored < self.expected
            if stored > self.stored:
                gap = now - self.last_increase
                if self.stored == 0:
                    # From the first acknowledgement to the first mention stored: the worker's
                    # first fetch and batch, reported apart (it is not between two increases).
                    self.first_stored_s = gap if pending else 0.0
                elif pending:
                    if gap > self.longest_stall_s:
                        self.longest_stall_s, self.stall_at = gap, stored
                    self.stalls.append((gap, now - self.started, self.stored, stored))
                    self.stalls = sorted(self.stalls, reverse=True)[:3]
                self.largest_step = max(self.largest_step, stored - self.stored)
                self.last_increase = now
                self.stored = stored
            elif pending and now - self.last_increase > GIVE_UP_S:
                raise BenchError(
                    f"ingest stopped: {stored:,} of {self.expected:,} mentions stored, none in "
                    f"the last {GIVE_UP_S:.0f} s{log_excerpt(self.scratch)}"
                )
        memory = Memory.of(self.service)
        for key, value in (
            ("worker_kb", memory.worker_kb),
            ("total_kb", memory.total_kb),
            ("broker_kb", memory.broker_kb),
        ):
            if value is not None and value > self.peak.get(key, 0):
                self.peak[key] = value
        every = self.sample_every
        if every and stored >= (len(self.samples) + 1) * every:
            self.samples.append(
                {
                    "mentions_stored": stored,
                    "mentions_published": self.published,
                    "elapsed_s": round(now - self.started, 1),
                    **memory.as_dict(),
                    "_worker_kb": memory.worker_kb,
                    "_total_kb": memory.total_kb,
                    "_broker_kb": memory.broker_kb,
                }
            )

    def check_worker(self) -> None:
        worker = self.service.worker
        if self.recycling.is_set():
            return
        if worker is not None and worker.poll() is not None:
            raise BenchError(
                f"the worker exited with code {worker.returncode}{log_excerpt(self.scratch)}"
            )

    def until_stored(self, timeout: float, publisher: Publisher) -> float:
        """Poll until every mention is stored; the monotonic time the last one was seen."""
        deadline = time.monotonic() + timeout
        while True:
            publisher.check()
            publisher.serve_recycle()
            self.poll()
            if self.stored >= self.expected:
                return self.last_increase
            if time.monotonic() > deadline:
                raise BenchError(
                    f"only {self.stored:,} of {self.expected:,} mentions stored after "
                    f"{timeout:.0f} s{log_excerpt(self.scratch)}"
                )
            time.sleep(POLL_S)

    def last_due(self, window_seconds: int, lateness_s: int) -> datetime:
        """The start of the last window that ends by the engine's final watermark."""
        high_water = self.store.high_water()
        if high_water is None:
            raise BenchError("no ingest progress stored")
        watermark = high_water - timedelta(seconds=lateness_s)
        step = timedelta(seconds=window_seconds)
        return EVENT_START + step * ((watermark - EVENT_START) // step) - step

    def until_caught_up(
        self, timeout: float, window_seconds: int, lateness_s: int
    ) -> tuple[int, datetime]:
        """Poll until every series has closed every window the final watermark passed.

        Returns the windows per series that were due, and the start of the last due one. A
        window left open behind a series' last closed window (never to be closed) does not hold
        this up; `Store.open_due` counts those afterwards."""
        last_due = self.last_due(window_seconds, lateness_s)
        step = timedelta(seconds=window_seconds)
        deadline = time.monotonic() + timeout
        changed, before = time.monotonic(), -1
        while True:
            self.check_worker()
            asked = time.monotonic()
            remaining = self.store.lagging_series(last_due)
            # The check reads every window; on a large table, ask less often than it takes.
            pause = max(1.0, 2 * (time.monotonic() - asked))
            if remaining == 0:
                return int((last_due - EVENT_START) / step) + 1, last_due
            now = time.monotonic()
            if remaining != before:
                changed, before = now, remaining
            if now > deadline or now - changed > GIVE_UP_S:
                stuck = "; ".join(self.store.lagging(last_due))
                raise BenchError(
                    f"detection did not catch up: {remaining:,} series have not closed every "
                    f"window through {last_due:%H:%M} (the last to end by the watermark), none "
                    f"caught up in {now - changed:.0f} s (e.g. {stuck or '-'})"
                    f"{log_excerpt(self.scratch)}"
                )
            time.sleep(pause)


class Publisher(threading.Thread):
    """Replays chunks of mentions onto the service's broker, each chunk once ``gate`` allows.

    Between chunks (nothing in flight) it lets the service recycle its broker if asked to."""

    def __init__(
        self,
        service: Service,
        scratch: Scratch,
        chunks: Iterator[list[dict[str, object]]],
        watch: Watch,
        *,
        gate: Callable[[int], bool] = lambda _index: True,
        recycle: bool = False,
        on_step: Callable[[str], None] = lambda _msg: None,
    ) -> None:
        super().__init__(name="bench-memory-publisher", daemon=True)
        self.service = service
        self.scratch = scratch
        self.chunks = chunks
        self.watch = watch
        self.gate = gate
        self.recycle = recycle
        self.on_step = on_step
        self.error: BaseException | None = None
        self.stopping = threading.Event()
        self.wants_recycle = threading.Event()
        self.recycle_checked = threading.Event()
        self.recycles = 0

    def run(self) -> None:
        try:
            for index, chunk in enumerate(self.chunks):
                while not self.gate(index):
                    if self.stopping.wait(POLL_S):
                        return
                if self.recycle and not self._recycle_checked():
                    return
                path = self.scratch.root / "replay.jsonl"
                path.write_text("".join(json.dumps(m) + "\n" for m in chunk), encoding="utf-8")
                settings = self.service.settings
                report = asyncio.run(
                    replay(
                        path,
                        broker_url=self.service.broker_url,
                        mentions_topic=settings.topic_name("mentions.raw"),
                        dead_letter_topic=settings.topic_name("dead-letter"),
                        privacy=settings.privacy,
                        on_progress=self.watch.acknowledged,
                    )
                )
                if report.rejected:
                    raise BenchError(f"replay rejected {report.rejected}: {report.rejections[:3]}")
                if self.stopping.is_set():
                    return
        except BaseException as exc:
            self.error = exc

    def _recycle_checked(self) -> bool:
        """Ask the main thread to recycle the broker if due, and wait; False when stopping.

        The main thread does it because the worker and broker are started with a parent-death
        signal, which Linux sends when the *thread* that started them ends: started from
        this thread, they would be killed once the last chunk is out."""
        self.wants_recycle.set()
        while not self.recycle_checked.wait(POLL_S):
            if self.stopping.is_set():
                return False
        self.recycle_checked.clear()
        return True

    def serve_recycle(self) -> None:
        """In the main thread: the recycle check the publisher asked for, between two chunks."""
        if not self.wants_recycle.is_set():
            return
        self.wants_recycle.clear()
        try:
            self._maybe_recycle()
        finally:
            self.recycle_checked.set()

    def _maybe_recycle(self) -> None:
        maybe = getattr(self.service, "maybe_recycle_broker", None)
        if maybe is None:
            return
        before = getattr(self.service, "recycles", 0)
        self.watch.recycling.set()  # the worker is stopped and started again: not a crash
        try:
            maybe(self.on_step)
        finally:
            self.watch.recycling.clear()
        if getattr(self.service, "recycles", 0) > before:
            self.recycles += 1
            self.watch.recycled_at.append(self.watch.stored)

    def check(self) -> None:
        if self.error is not None:
            raise BenchError(f"publishing failed: {self.error}") from self.error

    def stop(self) -> None:
        self.stopping.set()
        self.join(timeout=60)
