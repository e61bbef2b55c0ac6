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
import asyncio
import json
import random
import re
import secrets
import shutil
import sys
import tempfile
import threading
import time
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import yaml
from pydantic import SecretStr
from sqlalchemy import Engine, case, distinct, func, or_, select
from sqlmodel import Session

from monitor.settings import Settings, shipped_config_dir
from monitor.shell.service import Service, pick_web_port
from monitor.storage.db import make_engine
from monitor.storage.models import IngestProgress, Mention, SeriesWindow
from streams.replay import replay

SERIES_COUNTS = (1_000, 10_000, 50_000)
SOAK_MENTIONS = 1_000_000
# Ingest may pause this long at most for a series count to count as held.
STALL_LIMIT_S = 10.0
# A run is abandoned when nothing is stored, or no due window closes, for this long.
GIVE_UP_S = 180.0
POLL_S = 0.25
NAMESPACE = "benchmem"
# Event time starts here: in the past, so only the watermark closes windows (no live clock).
EVENT_START = datetime(2026, 3, 2, 8, 0, tzinfo=UTC)
SOURCES = ("appstore", "twitter", "reddit", "email")
_VOCABULARY = (
    "app crashes when I open it again today after the update please fix this now "
    "checkout page slow payment failed card declined refund still missing support never "
    "answered my ticket great service thanks team love the new design dark mode works "
    "login broken password reset email not arriving order delivered late package damaged "
    "billing charged twice invoice wrong subscription cancelled without notice account "
    "locked out two factor code expired search results empty sync lost my notes export "
    "to csv fails battery drain notifications spam ads everywhere price went up again "
    "customer care was helpful quick reply solved it in minutes five stars would recommend "
    "terrible experience waited an hour on hold chat bot useless human agent finally helped"
)
_WORDS = _VOCABULARY.split()


class BenchError(RuntimeError):
    """The benchmark could not run or did not finish; one readable line (or a log excerpt)."""


# --- process memory -------------------------------------------------------------------------


def rss_kb(pid: int | None) -> int | None:
    """Resident memory of ``pid`` in KB (VmRSS), None if it is gone or unreadable."""
    if pid is None:
        return None
    try:
        with open(f"/proc/{pid}/status", encoding="ascii") as status:
            for line in status:
                if line.startswith("VmRSS:"):
                    return int(line.split()[1])
    except (OSError, ValueError, IndexError):
        return None
    return None


def descendants(pid: int) -> list[int]:
    """Every process below ``pid`` (children's children too), from /proc."""
    found: list[int] = []
    todo = [pid]
    while todo:
        parent = todo.pop()
        try:
            tasks = list(Path(f"/proc/{parent}/task").iterdir())
        except OSError:
            continue
        for task in tasks:
            try:
                children = [int(c) for c in (task / "children").read_text().split()]
            except (OSError, ValueError):
                continue
            found.extend(children)
            todo.extend(children)
    return found


@dataclass(frozen=True, slots=True)
class Memory:
    """Resident memory of the worker process, of each process it started (its detect process
    and scoring processes, largest first), and of the broker, in KB."""

    worker_kb: int | None
    children_kb: tuple[int, ...]
    broker_kb: int | None

    @classmethod
    def of(cls, service: Service) -> Memory:
        worker = service.worker.pid if service.worker is not None else None
        broker = service.broker.pid if service.broker is not None else None
        children: list[int] = []
        if worker is not None:
            sizes = [rss_kb(pid) for pid in descendants(worker)]
            children = sorted((size for size in sizes if size is not None), reverse=True)
        return cls(rss_kb(worker), tuple(children), rss_kb(broker))

    @property
    def total_kb(self) -> int | None:
        """The worker and everything it started: what one worker costs the machine."""
        return None if self.worker_kb is None else self.worker_kb + sum(self.children_kb)

    def as_dict(self) -> dict[str, Any]:
        return {
            "worker_total_rss_mb": _mb(self.total_kb),
            "worker_rss_mb": _mb(self.worker_kb),
            "worker_children_rss_mb": [_mb(kb) for kb in self.children_kb],
            "broker_rss_mb": _mb(self.broker_kb),
        }


def _hm(value: datetime | str | None) -> str:
    """A window start as HH:MM (SQLite may hand back text in an aggregate)."""
    if value is None:
        return "never"
    if isinstance(value, str):
        value = datetime.fromisoformat(value)
    return f"{value:%H:%M}"


def _mb(kb: int | None) -> float | None:
    return None if kb is None else round(kb / 1024, 1)


def slope_kb_per_1k(points: Sequence[tuple[int, int | None]], warmup: float = 0.2) -> float | None:
    """Least-squares slope of (mentions, KB) after the first ``warmup`` share, per 1,000.

    >>> slope_kb_per_1k([(0, 900), (100_000, 1_000), (200_000, 1_100), (300_000, 1_200)])
    1.0
    >>> slope_kb_per_1k([(10, 5)]) is None
    True
    """
    known = [(x, y) for x, y in points if y is not None]
    if not known:
        return None
    last = max(x for x, _ in known)
    kept = [(x, y) for x, y in known if x >= warmup * last]
    if len(kept) < 2:
        return None
    mean_x = sum(x for x, _ in kept) / len(kept)
    mean_y = sum(y for _, y in kept) / len(kept)
    spread = sum((x - mean_x) ** 2 for x, _ in kept)
    if spread == 0:
        return None
    slope = sum((x - mean_x) * (y - mean_y) for x, y in kept) / spread
    return round(slope * 1000, 3)


# --- workload -------------------------------------------------------------------------------


def product_name(index: int) -> str:
    return f"prod-{index:05d}"


def _text(rng: random.Random) -> str:
    return " ".join(rng.choice(_WORDS) for _ in range(rng.randint(6, 22)))


def _mention(rng: random.Random, uid: str, at: datetime, product: int) -> dict[str, object]:
    return {
        "source": SOURCES[product % len(SOURCES)],
        "external_id": uid,
        "text": _text(rng),
        "event_time": at.isoformat(),
        "product": product_name(product),
    }


def series_mentions(
    products: int, per_series: int, minutes: int, *, seed: int = 1
) -> list[dict[str, object]]:
    """``per_series`` mentions for each product at random seconds of ``minutes`` of event time,
    in event-time order (as a live stream would deliver them)."""
    rng = random.Random(seed)
    span = minutes * 60
    timed = sorted(
        (rng.uniform(0, span), product) for product in range(products) for _ in range(per_series)
    )
    return [
        _mention(rng, f"s{products}-{i}", EVENT_START + timedelta(seconds=at), product)
        for i, (at, product) in enumerate(timed)
    ]


def soak_chunks(
    total: int, products: int, minutes: int, chunk: int, *, seed: int = 2
) -> Iterator[list[dict[str, object]]]:
    """``total`` mentions evenly over ``minutes`` of event time, each for a random product."""
    rng = random.Random(seed)
    step = minutes * 60 / total
    for first in range(0, total, chunk):
        yield [
            _mention(
                rng, f"soak-{i}", EVENT_START + timedelta(seconds=i * step), rng.randrange(products)
            )
            for i in range(first, min(first + chunk, total))
        ]


def write_config(directory: Path, products: int) -> Path:
    """The shipped config with ``products`` products (and the shipped topics) in topics.yaml."""
    shutil.copytree(shipped_config_dir(), directory)
    path = directory / "topics.yaml"
    shipped = yaml.safe_load(path.read_text(encoding="utf-8")) or {}
    topics = {
        "topics": shipped.get("topics", {}),
        "products": {product_name(i): [product_name(i)] for i in range(products)},
    }
    path.write_text(yaml.safe_dump(topics, sort_keys=False), encoding="utf-8")
    return directory


# --- the service and what it stored ---------------------------------------------------------


@dataclass(slots=True)
class Scratch:
    """A temporary directory for one run: config, data dir, worker log, replay files."""

    root: Path

    @property
    def worker_log(self) -> Path:
        return self.root / "worker.log"


@contextmanager
def running_service(scratch: Scratch, config_dir: Path) -> Iterator[Service]:
    """A fresh embedded service on ``scratch``; stopped (worker, then broker) afterwards."""
    settings = Settings(
        broker="embedded",
        data_dir=scratch.root / "data",
        config_dir=config_dir,
        namespace=NAMESPACE,
        database_url=None,
        pseudonym_key=SecretStr(secrets.token_hex(32)),
    )
    service = Service(settings, web_port=pick_web_port(), worker_log=scratch.worker_log)
    try:
        try:
            service.start()
        except Exception as exc:
            raise BenchError(f"service did not start: {exc}{log_excerpt(scratch)}") from exc
        yield service
    finally:
        service.stop()


def log_excerpt(scratch: Scratch, lines: int = 25) -> str:
    """The end of the worker log, to quote in an error before the directory is removed."""
    try:
        tail = scratch.worker_log.read_text(encoding="utf-8", errors="replace").splitlines()
    except OSError:
        return ""
    return "\n--- worker log (last lines) ---\n" + "\n".join(tail[-lines:]) if tail else ""


def log_problems(scratch: Scratch, limit: int = 12) -> list[str]:
    """Lines of the worker log that report an error, a warning of lag, or a traceback."""
    try:
        text = scratch.worker_log.read_text(encoding="utf-8", errors="replace")
    except OSError:
        return []
    markers = ("Traceback", "ERROR", "CRITICAL", "Error:", "Timed out", "lagging", "MemoryError")
    found = [line.strip()[:300] for line in text.splitlines() if any(m in line for m in markers)]
    return found[:limit] + ([f"... and {len(found) - limit} more"] if len(found) > limit else [])


def timer_drift(scratch: Scratch) -> dict[str, float | int]:
    """Faust's "woke up too late" lines: how long the worker's event loop was held up."""
    try:
        text = scratch.worker_log.read_text(encoding="utf-8", errors="replace")
    except OSError:
        return {"late_timers": 0, "max_timer_drift_s": 0.0}
    drifts = [float(found) for found in _DRIFT.findall(text)]
    return {"late_timers": len(drifts), "max_timer_drift_s": round(max(drifts, default=0.0), 2)}


_DRIFT = re.compile(r"woke up too late, with a drift of \+([0-9.]+)")


class Store:
    """Read-only questions to the service's database."""

    def __init__(self, engine: Engine) -> None:
        self.engine = engine
        self._w = SeriesWindow.__table__.c  # type: ignore[attr-defined]

    def close(self) -> None:
        self.engine.dispose()

    def stored(self) -> int:
        with Session(self.engine) as session:
            return int(session.execute(select(func.count()).select_from(Mention)).scalar_one())

    def newest_event(self) -> datetime | None:
        with Session(self.engine) as session:
            return session.execute(select(func.max(Mention.event_time))).scalar()

    def high_water(self) -> datetime | None:
        """The engine's event time: the lowest per-partition highest event time stored."""
        with Session(self.engine) as session:
            return session.execute(select(func.min(IngestProgress.max_event_time))).scalar()

    def open_due(self, last_due: datetime) -> int:
        """Open windows that start by ``last_due``: after catching up, each is one that was
        left behind (only windows with mentions have a row before they close)."""
        w = self._w
        with Session(self.engine) as session:
            query = select(func.count()).where(w.closed.is_(False), w.window_start <= last_due)
            return int(session.execute(query).scalar_one())

    def lagging_series(self, last_due: datetime) -> int:
        """Series with a window due by ``last_due`` whose closed windows do not reach it yet.

        Empty windows get their row only when they close, so a series behind on its empty
        windows shows no open row: this compares each series' last closed window instead."""
        w = self._w
        per_series = (
            select(
                func.min(w.window_start).label("first"),
                func.max(case((w.closed.is_(True), w.window_start))).label("last_closed"),
            )
            .group_by(w.series)
            .subquery()
        )
        query = (
            select(func.count())
            .select_from(per_series)
            .where(
                per_series.c.first <= last_due,
                or_(per_series.c.last_closed.is_(None), per_series.c.last_closed < last_due),
            )
        )
        with Session(self.engine) as session:
            return int(session.execute(query).scalar_one())

    def stuck(self, last_due: datetime, limit: int = 5) -> list[str]:
        """For an error message: series with open windows due by ``last_due`` (their earliest
        open window, how many are open, and their last closed window)."""
        w = self._w
        query = (
            select(
                w.series,
                func.min(case((w.closed.is_(False), w.window_start))),
                func.sum(case((w.closed.is_(False), 1), else_=0)),
                func.max(case((w.closed.is_(True), w.window_start))),
            )
            .group_by(w.series)
            .having(func.min(case((w.closed.is_(False), w.window_start))) <= last_due)
            .limit(limit)
        )
        with Session(self.engine) as session:
            rows = session.execute(query).all()
        return [
            f"{series}: open from {_hm(first)} ({n} open), last closed {_hm(last)}"
            for series, first, n, last in rows
        ]

    def lagging(self, last_due: datetime, limit: int = 5) -> list[str]:
        """For an error message: series whose closed windows do not reach ``last_due``."""
        w = self._w
        last_closed = func.max(case((w.closed.is_(True), w.window_start)))
        query = (
            select(
                w.series,
                func.min(w.window_start),
                func.max(w.window_start),
                func.count(),
                func.sum(case((w.closed.is_(False), 1), else_=0)),
                last_closed,
            )
            .group_by(w.series)
            .having(
                func.min(w.window_start) <= last_due,
                or_(last_closed.is_(None), last_closed < last_due),
            )
            .limit(limit)
        )
        with Session(self.engine) as session:
            rows = session.execute(query).all()
        return [
            f"{series}: windows {_hm(first)}-{_hm(last)} ({n} rows, {n_open} open), "
            f"last closed {_hm(closed)}"
            for series, first, last, n, n_open, closed in rows
        ]

    def live_series(self, since: datetime) -> int:
        w = self._w
        with Session(self.engine) as session:
            query = select(func.count(distinct(w.series))).where(w.window_start >= since)
            return int(session.execute(query).scalar_one())

    def closed_windows(self) -> int:
        w = self._w
        with Session(self.engine) as session:
            query = select(func.count()).where(w.closed.is_(True))
            return int(session.execute(query).scalar_one())


# --- watching a run -------------------------------------------------------------------------


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


def _window_settings(config_dir: Path) -> tuple[int, int, int]:
    data = yaml.safe_load((config_dir / "detection.yaml").read_text(encoding="utf-8")) or {}
    return (
        int(data.get("window_seconds", 60)),
        int(data.get("allowed_lateness_seconds", 5)),
        int(data.get("idle_series_seconds", 21600)),
    )


@contextmanager
def _scratch(keep: Path | None = None, name: str = "run") -> Iterator[Scratch]:
    """A temporary directory, removed afterwards; if the run fails and ``keep`` is given, its
    worker log, broker log and database are copied to ``keep/name`` first (the service has
    stopped by then, so the database is whole)."""
    with tempfile.TemporaryDirectory(prefix="crisismon-bench-memory-") as tmp:
        scratch = Scratch(Path(tmp))
        try:
            yield scratch
        except BenchError:
            if keep is not None:
                _keep(scratch, keep / name)
            raise


def _keep(scratch: Scratch, target: Path) -> None:
    target.mkdir(parents=True, exist_ok=True)
    data = scratch.root / "data"
    for path in [scratch.worker_log, *data.glob("crisismon.db*"), *data.glob("logs/*.log")]:
        if path.is_file():
            shutil.copy2(path, target / path.name)


def _run(
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
    with _scratch(keep, name) as scratch:
        config_dir = write_config(scratch.root / "config", products)
        window_s, lateness_s, idle_s = _window_settings(config_dir)
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
                        _keep(scratch, keep / name)
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
            "peak_worker_total_rss_mb": _mb(watch.peak.get("total_kb")),
            "peak_worker_rss_mb": _mb(watch.peak.get("worker_kb")),
            "peak_broker_rss_mb": _mb(watch.peak.get("broker_kb")),
            "worker_log_problems": problems,
            **drift,
        }
        if sample_every:
            result["samples"] = watch.samples
            result["broker_recycles"] = publisher.recycles
            result["broker_recycled_at_stored"] = watch.recycled_at
        return result


# --- the two measurements -------------------------------------------------------------------


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
    result = _run(products=n, chunks=chunks, expected=len(items), timeout=timeout, on_step=on_step)
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
    result = _run(
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
        on_step(_series_line(run))
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


# --- command line ---------------------------------------------------------------------------


def _series_line(run: dict[str, Any]) -> str:
    return (
        f"series {run['series']:>6,}: {run['mentions']:>8,} mentions, ingest "
        f"{run['ingest_s']:>6.1f} s, longest stall {run['longest_stall_s']:>5.1f} s, closing "
        f"{run['closing_s']:>6.1f} s, live series {run['live_series']:>6,}, worker "
        f"{run['worker_total_rss_mb']} MB (main {run['worker_rss_mb']}, children "
        f"{run['worker_children_rss_mb']}), broker {run['broker_rss_mb']} MB"
    )


def _print(result: dict[str, Any]) -> None:
    print(
        f"{'series':>7} {'mentions':>9} {'ingest s':>9} {'1st s':>6} {'stall s':>8} "
        f"{'closing s':>10} {'live':>7} {'orphans':>8} {'worker MB':>10} {'main MB':>8} "
        f"{'broker MB':>10}  ok"
    )
    for run in result["series"]:
        if "error" in run:
            print(f"{run['series']:>7,}  failed: {run['error'].splitlines()[0]}")
            continue
        print(
            f"{run['series']:>7,} {run['mentions']:>9,} {run['ingest_s']:>9.1f} "
            f"{run['first_stored_s']!s:>6} {run['longest_stall_s']:>8.2f} "
            f"{run['closing_s']:>10.1f} {run['live_series']:>7,} "
            f"{run['orphaned_open_windows']:>8,} {run['worker_total_rss_mb']!s:>10} "
            f"{run['worker_rss_mb']!s:>8} {run['broker_rss_mb']!s:>10}  "
            f"{'yes' if run['ok'] else 'no'}"
        )
    print(
        f"series_max_live (stall <= {result['stall_limit_s']:.0f} s): {result['series_max_live']}"
        "\n(worker MB: the worker and its detect and scoring processes; main MB: the worker alone)"
    )
    for run in result["series"]:
        for line in run.get("orphaned_examples", []):
            print(f"  left open ({run['series']:,} series): {line}")
        for line in run.get("worker_log_problems", []):
            print(f"  worker log ({run['series']:,} series): {line}")
    soak = result.get("soak")
    if not soak:
        return
    if "error" in soak:
        print(f"soak failed: {soak['error']}")
        return
    print(
        f"\nsoak: {soak['mentions']:,} mentions, {soak['products']:,} products, "
        f"{soak['event_minutes']} min of event time; ingest {soak['ingest_s']} s, longest stall "
        f"{soak['longest_stall_s']} s, closing {soak['closing_s']} s, broker recycles "
        f"{soak['broker_recycles']} ({soak['broker_recycle']}; at "
        f"{soak['broker_recycled_at_stored']} mentions stored)"
    )
    print(
        f"{'stored':>9} {'published':>10} {'elapsed s':>10} {'worker MB':>10} {'main MB':>8} "
        f"{'broker MB':>10}"
    )
    for s in soak["samples"]:
        print(
            f"{s['mentions_stored']:>9,} {s['mentions_published']:>10,} {s['elapsed_s']:>10} "
            f"{s['worker_total_rss_mb']!s:>10} {s['worker_rss_mb']!s:>8} "
            f"{s['broker_rss_mb']!s:>10}"
        )
    print(
        f"worker RSS slope: {soak['rss_slope_kb_per_1k_mentions']} KB per 1,000 mentions "
        f"(main process alone {soak['worker_process_rss_slope_kb_per_1k_mentions']}); broker: "
        f"{soak['broker_rss_slope_kb_per_1k_mentions']} KB per 1,000 mentions (after 20 % warm-up)"
    )
    for line in soak.get("worker_log_problems", []):
        print(f"  worker log (soak): {line}")


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
        _print(result)


if __name__ == "__main__":
    main()
