"""Shared by the benchmarks: a throwaway service, databases, progress probes, machine facts."""

from __future__ import annotations

import json
import os
import platform
import secrets
import subprocess
import tempfile
import time
import urllib.error
import urllib.request
import uuid
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

from pydantic import SecretStr
from sqlalchemy import Engine, func, select
from sqlalchemy.engine import make_url
from sqlalchemy.exc import SQLAlchemyError
from sqlmodel import Session, col

from monitor.settings import Settings
from monitor.shell.service import Service, pick_web_port
from monitor.storage.db import make_engine
from monitor.storage.models import IngestProgress, Mention, SeriesWindow

# Where benchmark databases are created (one fresh database per run, dropped afterwards).
POSTGRES_ADMIN_URL = os.environ.get(
    "CRISISMON_BENCH_POSTGRES", "postgresql://postgres@127.0.0.1:5432/postgres"
)


# POST /api/mentions needs a token of role responder: every benchmark's service (its worker
# inherits this environment) accepts this one, and the load generators send it.
BENCH_TOKEN = secrets.token_urlsafe(24)
os.environ["CRISISMON_API_TOKENS"] = f"{BENCH_TOKEN}=bench:responder"
INTAKE_HEADERS = {"Content-Type": "application/json", "Authorization": f"Bearer {BENCH_TOKEN}"}


class BenchError(RuntimeError):
    """A benchmark could not run or did not finish; one readable line."""


@contextmanager
def embedded_service(
    namespace: str = "bench",
    *,
    database_url: str | None = None,
    config_dir: Path | None = None,
    extra_env: dict[str, str] | None = None,
) -> Iterator[Service]:
    """A service on a temporary data dir; SQLite there unless ``database_url`` is given.

    ``config_dir`` replaces the shipped ``config/``; ``extra_env`` goes to the worker.
    """
    with tempfile.TemporaryDirectory() as tmp:
        os.environ["CRISISMON_NAMESPACE"] = namespace
        # The scenario carries authors, which must be pseudonymised: a throwaway key.
        settings = Settings(
            data_dir=Path(tmp),
            namespace=namespace,
            pseudonym_key=SecretStr(secrets.token_hex(32)),
            database_url=SecretStr(database_url) if database_url else None,
        )
        if config_dir is not None:
            settings.config_dir = config_dir
        service = Service(
            settings,
            web_port=pick_web_port(),
            worker_log=Path(tmp) / "w.log",
            extra_env=extra_env,
        )
        try:
            yield service
        finally:
            service.stop()


@contextmanager
def postgres_database(prefix: str = "bench") -> Iterator[str]:
    """A fresh, empty PostgreSQL database for one run, dropped afterwards; yields its URL."""
    import psycopg

    name = f"{prefix}_{os.getpid()}_{uuid.uuid4().hex[:8]}"
    try:
        admin = psycopg.connect(POSTGRES_ADMIN_URL, autocommit=True, connect_timeout=5)
    except psycopg.OperationalError as exc:
        first = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
        raise BenchError(f"PostgreSQL at {POSTGRES_ADMIN_URL} unreachable: {first}") from exc
    try:
        admin.execute(f'CREATE DATABASE "{name}"')
        url = make_url(POSTGRES_ADMIN_URL).set(database=name)
        yield url.render_as_string(hide_password=False)
    finally:
        admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        admin.close()


@contextmanager
def database(backend: str) -> Iterator[str | None]:
    """``sqlite``: None (the service's own file); ``postgres``: a fresh database's URL."""
    if backend == "sqlite":
        yield None
    elif backend == "postgres":
        with postgres_database() as url:
            yield url
    else:
        raise ValueError(f"unknown backend {backend!r}")


def readiness(web_url: str) -> tuple[bool, dict[str, str]]:
    """Whether ``/readyz`` answers 200, and its checks."""
    try:
        with urllib.request.urlopen(f"{web_url}/readyz", timeout=2) as response:
            return response.status == 200, json.loads(response.read()).get("checks", {})
    except urllib.error.HTTPError as exc:
        try:
            return False, json.loads(exc.read()).get("checks", {})
        except ValueError:
            return False, {}
    except (urllib.error.URLError, OSError, ValueError):
        return False, {}


def assigned_partitions(web_url: str) -> int:
    """Partitions this worker holds, as ``/readyz`` reports them (0 when not ready)."""
    ready, checks = readiness(web_url)
    worker = checks.get("worker", "")
    if not ready or "(" not in worker:
        return 0
    return int(worker.split("(", 1)[1].split()[0])


@contextmanager
def extra_worker(service: Service) -> Iterator[Service]:
    """A second `crisismon worker` on ``service``'s broker and database, until the group is
    balanced again: both workers ready and their partitions adding up to what one held."""
    alone = assigned_partitions(service.web_url)
    if alone == 0:
        raise BenchError("the first worker is not ready")
    second = Service(
        service.settings,
        web_port=pick_web_port(),
        worker_log=Path(service.settings.data_dir) / "w2.log",
        extra_env={"CRISISMON_EMBEDDED_BROKER_URL": service.broker_url},
    )
    # Service.start would launch a broker of its own; this worker joins the running one.
    second._spawn_worker()
    try:
        second._wait_ready()
        deadline = time.monotonic() + 60
        while True:
            held = [assigned_partitions(s.web_url) for s in (service, second)]
            if all(held) and sum(held) == alone:
                break
            if time.monotonic() > deadline:
                raise BenchError(f"two workers did not balance within 60 s: {held} of {alone}")
            time.sleep(0.25)
        yield second
    finally:
        second.stop()


def stored_mentions(database_url: str) -> Callable[[], int]:
    engine = make_engine(database_url)

    def count() -> int:
        with Session(engine) as session:
            return int(session.execute(select(func.count()).select_from(Mention)).scalar_one())

    return count


@dataclass(frozen=True, slots=True)
class CaughtUp:
    """When the pipeline had stored everything, and when detection had caught up."""

    stored_s: float
    scored_s: float
    # Event time: the newest mention, and the engine's watermark (the lowest per-partition
    # high-water mark of ``ingest_progress``; None where the engine keeps none) before lateness.
    newest_event: datetime
    engine_high_water: datetime | None
    # Windows that end by (newest − lateness) but not by the engine's watermark: the tail that
    # only later mentions (or, live, the clock) can close. Left open when the clock stopped.
    tail_windows_open: int

    @property
    def watermark_lag_s(self) -> float | None:
        if self.engine_high_water is None:
            return None
        return (self.newest_event - self.engine_high_water).total_seconds()


@dataclass(slots=True)
class Progress:
    """How far the pipeline is: mentions stored, then windows the watermark passed but still open.

    Detection has caught up when every mention is stored and no window that ends at or before
    the watermark is still open: every window the watermark has passed is closed and scored.
    The watermark is event time − ``allowed_lateness_seconds``, where event time is the one
    the engine advances to (the lowest of its per-partition highest event times, which are
    committed with the mentions, so they are final once all are stored), or, for an engine
    that keeps none, the newest stored event time. With ``strict``, always the newest.
    """

    engine: Engine
    expected: int
    lateness: timedelta
    strict: bool = False

    @classmethod
    def open(
        cls, database_url: str, expected: int, lateness_seconds: float, *, strict: bool = False
    ) -> Progress:
        return cls(make_engine(database_url), expected, timedelta(seconds=lateness_seconds), strict)

    def stored(self) -> int:
        with Session(self.engine) as session:
            return int(session.execute(select(func.count()).select_from(Mention)).scalar_one())

    def newest_event(self) -> datetime | None:
        with Session(self.engine) as session:
            return session.execute(select(func.max(col(Mention.event_time)))).scalar()

    def engine_high_water(self) -> datetime | None:
        try:
            with Session(self.engine) as session:
                return session.execute(
                    select(func.min(col(IngestProgress.max_event_time)))
                ).scalar()
        except SQLAlchemyError:
            return None

    def due_open(self, watermark: datetime) -> list[tuple[str, datetime]]:
        """Open windows that end at or before ``watermark``: (series, window start)."""
        with Session(self.engine) as session:
            rows = session.execute(
                select(
                    col(SeriesWindow.series),
                    col(SeriesWindow.window_start),
                    col(SeriesWindow.window_seconds),
                ).where(
                    col(SeriesWindow.closed).is_(False),
                    col(SeriesWindow.window_start) <= watermark,
                )
            ).all()
        return [
            (series, start)
            for series, start, seconds in rows
            if start + timedelta(seconds=seconds) <= watermark
        ]

    def wait(
        self, started: float, timeout: float, *, poll: float = 0.1, stall: float = 60.0
    ) -> CaughtUp:
        """Wait until all stored and caught up; seconds are counted from ``started`` (monotonic).

        Gives up after ``timeout``, or once all are stored but no due window has closed for
        ``stall`` seconds."""
        deadline = started + timeout
        while self.stored() < self.expected:
            if time.monotonic() > deadline:
                raise BenchError(
                    f"{self.stored():,} of {self.expected:,} mentions stored after {timeout:.0f} s"
                )
            time.sleep(poll)
        stored_at = time.monotonic() - started
        newest = self.newest_event()
        if newest is None:
            raise BenchError("no mention stored")
        high_water = self.engine_high_water()
        event_time = newest if self.strict or high_water is None else min(newest, high_water)
        watermark = event_time - self.lateness
        last_change, remaining = time.monotonic(), -1
        while due := self.due_open(watermark):
            now = time.monotonic()
            if len(due) != remaining:
                last_change, remaining = now, len(due)
            if now > deadline or now - last_change > stall:
                sample = ", ".join(f"{s}@{w:%Y-%m-%d %H:%M}" for s, w in due[:3])
                lag = (newest - high_water).total_seconds() if high_water else None
                raise BenchError(
                    f"detection did not catch up: {len(due)} windows that end by the "
                    f"watermark ({watermark:%H:%M:%S}) still open {now - started:.0f} s after "
                    f"the start, none closed in the last {now - last_change:.0f} s "
                    f"(e.g. {sample})"
                    + (f"; the engine's event time trails the newest by {lag:.0f} s" if lag else "")
                )
            time.sleep(poll)
        scored_at = time.monotonic() - started
        tail = len(self.due_open(newest - self.lateness))
        return CaughtUp(stored_at, scored_at, newest, high_water, tail)

    def close(self) -> None:
        self.engine.dispose()


def wait_for(predicate: Callable[[], bool], timeout: float) -> float:
    """Seconds until ``predicate`` holds; raises TimeoutError."""
    started = time.monotonic()
    while not predicate():
        if time.monotonic() - started > timeout:
            raise TimeoutError(f"not reached within {timeout}s")
        time.sleep(0.02)
    return time.monotonic() - started


def ratio(value: float | None, reference: float | None) -> float | None:
    if value is None or not reference:
        return None
    return round(value / reference, 3)


def machine_info() -> dict[str, Any]:
    """What the figures were measured on, so a reader can tell two machines apart."""
    import sqlite3

    import aiokafka
    import faust

    cpu = ""
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    except OSError:
        cpu = platform.processor()
    memory_gb: float | None = None
    try:
        for line in Path("/proc/meminfo").read_text().splitlines():
            if line.startswith("MemTotal:"):
                memory_gb = round(int(line.split()[1]) / 1024 / 1024, 1)
    except OSError:
        pass
    return {
        "platform": platform.platform(),
        "python": platform.python_version(),
        "cpu": cpu,
        "cpus": os.cpu_count(),
        "memory_gb": memory_gb,
        "load_average_at_start": [round(x, 2) for x in os.getloadavg()],
        "faust": getattr(faust, "__version__", "?"),
        "aiokafka": getattr(aiokafka, "__version__", "?"),
        "sqlite": sqlite3.sqlite_version,
        "postgres": _postgres_version(),
        "commit": _git("rev-parse", "--short", "HEAD"),
        "uncommitted_changes": bool(_git("status", "--porcelain", "--untracked-files=no")),
    }


def _postgres_version() -> str | None:
    try:
        import psycopg

        with psycopg.connect(POSTGRES_ADMIN_URL, connect_timeout=3) as conn:
            row = conn.execute("SHOW server_version").fetchone()
            return str(row[0]) if row else None
    except Exception:
        return None


def _git(*args: str) -> str:
    try:
        done = subprocess.run(
            ["git", *args], capture_output=True, text=True, timeout=10, check=False
        )
    except OSError:
        return ""
    return done.stdout.strip()
