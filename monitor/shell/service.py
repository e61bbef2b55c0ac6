"""The embedded service: broker, database and worker as one process tree.

`Service` starts Tansu (unless a Kafka URL is configured), then a `crisismon worker` child
pointed at it, and waits until the worker's ``/readyz`` says broker, database and partitions
are all there. Both children die with this process even if it is SIGKILLed; on a normal stop
the worker goes first, so it never talks to a broker that is already gone.

While `wait` runs, the embedded broker is recycled when it passes ``CRISISMON_BROKER_MEMORY_MB``
or ``CRISISMON_BROKER_RECYCLE_HOURS`` (see `monitor.broker_recycle`): the worker stops, a new
broker takes over the records it has not processed, and the worker starts again on it.
"""

from __future__ import annotations

import asyncio
import json
import os
import signal
import subprocess
import sys
import time
import urllib.error
import urllib.request
from collections.abc import Callable
from pathlib import Path
from typing import IO

from aiokafka.errors import KafkaError

from monitor.broker import BrokerError, EmbeddedBroker, free_loopback_port
from monitor.broker_recycle import RecyclePolicy, backlog, recycle
from monitor.processes import spawn_tied, stop_process
from monitor.settings import Settings
from monitor.shell.runtime import RuntimeInfo, clear_runtime, write_runtime

WORKER_STOP_GRACE = 20.0
# A worker whose broker died has nothing left to finish: it gets less time to stop.
ORPHAN_WORKER_GRACE = 5.0
# How often `wait` looks at its children: a dead broker is noticed within this.
SUPERVISE_SECONDS = 1.0
# More broker deaths than this within BROKER_DEATH_WINDOW: stop rather than loop.
MAX_BROKER_RESTARTS = 3
BROKER_DEATH_WINDOW = 600.0
# A worker that crashed is started again, unless it crashes more often than this in 10 minutes;
# one that cannot start (its database away) is tried again for this long.
MAX_WORKER_RESTARTS = 5
WORKER_START_PATIENCE = 120.0
# `crisismon run` exits with this when its broker died and could not be brought back.
EXIT_BROKER_LOST = 3
# How often `wait` looks at the embedded broker's memory and age.
RECYCLE_CHECK_SECONDS = 15.0


class ServiceError(RuntimeError):
    """The service could not start; one readable line."""


class Service:
    def __init__(
        self,
        settings: Settings,
        *,
        web_port: int | None = None,
        worker_log: Path | None = None,
        ready_timeout: float = 60.0,
        extra_env: dict[str, str] | None = None,
        recycle_policy: RecyclePolicy | None = None,
        recycle_check_seconds: float = RECYCLE_CHECK_SECONDS,
    ) -> None:
        self.settings = settings
        self.extra_env = extra_env or {}
        self.web_port = web_port or settings.web_port
        self.worker_log = worker_log
        self.ready_timeout = ready_timeout
        self.broker: EmbeddedBroker | None = None
        self.broker_url = settings.broker
        self.worker: subprocess.Popen[bytes] | None = None
        self._log_handle: IO[bytes] | None = None
        self.recycle_policy = recycle_policy or policy_from(settings)
        self.recycle_check_seconds = recycle_check_seconds
        self.recycles = 0
        self._recycle_not_before = 0.0  # monotonic; after a failed or deferred attempt
        self._deferred = False  # a recycle is waiting for the worker to catch up
        # When the running broker started empty (not a recycle, which carries records over):
        # the next worker republishes inbox entries from before then (`streams.inbox`).
        self._lost_before: float | None = None
        self._broker_deaths: list[float] = []  # monotonic
        self.broker_restarts = 0
        self._worker_deaths: list[float] = []  # monotonic
        self.worker_restarts = 0

    @property
    def web_url(self) -> str:
        return f"http://127.0.0.1:{self.web_port}"

    def start(self, on_step: Callable[[str], None] = lambda _msg: None) -> None:
        data_dir = Path(self.settings.data_dir)
        data_dir.mkdir(parents=True, exist_ok=True)
        if self.settings.uses_embedded_broker:
            started = time.monotonic()
            self.broker = EmbeddedBroker(log_path=self._broker_log)
            self.broker_url = self.broker.start()
            self._lost_before = time.time()
            on_step(
                f"broker (Tansu, in memory) ready at {self.broker_url} "
                f"in {time.monotonic() - started:.2f}s"
            )
        _check_port_free(self.web_port)
        started = time.monotonic()
        self._spawn_worker()
        self._wait_ready()
        on_step(
            f"worker ready, web at {self.web_url} in {time.monotonic() - started:.1f}s "
            f"(database {_display_db(self.settings)})"
        )

    @property
    def _broker_log(self) -> Path:
        return Path(self.settings.data_dir) / "logs" / "broker.log"

    def _spawn_worker(self) -> None:
        # runtime.json first: `replay` reads it to find the broker, and it may run the moment
        # /readyz answers 200, which the worker can do before this process would get to it.
        write_runtime(
            self.settings.runtime_file, RuntimeInfo(self.broker_url, self.web_url, os.getpid())
        )
        env = dict(os.environ)
        env.update(
            {
                "CRISISMON_BROKER": self.settings.broker,
                "CRISISMON_EMBEDDED_BROKER_URL": self.broker_url if self.broker else "",
                "CRISISMON_WEB_PORT": str(self.web_port),
                "CRISISMON_DATA_DIR": str(self.settings.data_dir),
                "CRISISMON_DATABASE_URL": self.settings.resolved_database_url,
                "CRISISMON_CONFIG_DIR": str(self.settings.config_dir),
                "CRISISMON_INBOX": "true" if self.settings.use_inbox else "false",
                "CRISISMON_NAMESPACE": self.settings.namespace,
                **self.extra_env,
            }
        )
        env.pop("CRISISMON_INBOX_LOST_BEFORE", None)
        if self._lost_before is not None:
            env["CRISISMON_INBOX_LOST_BEFORE"] = f"{self._lost_before:.6f}"
        if self.settings.pseudonym_key is not None:
            env["CRISISMON_PSEUDONYM_KEY"] = self.settings.pseudonym_key.get_secret_value()
        if self.worker_log is not None:
            self.worker_log.parent.mkdir(parents=True, exist_ok=True)
            if self._log_handle is not None:
                self._log_handle.close()
            self._log_handle = self.worker_log.open("ab")
        self.worker = spawn_tied(
            [sys.executable, "-m", "monitor", "worker"],
            env=env,
            stdout=self._log_handle,
            stderr=subprocess.STDOUT if self._log_handle else None,
        )

    def _wait_ready(self) -> None:
        assert self.worker is not None
        deadline = time.monotonic() + self.ready_timeout
        last = "no answer yet"
        while time.monotonic() < deadline:
            code = self.worker.poll()
            if code is not None:
                hint = f"; see {self.worker_log}" if self.worker_log else ""
                raise ServiceError(f"worker exited with code {code} while starting{hint}")
            try:
                with urllib.request.urlopen(f"{self.web_url}/readyz", timeout=2) as response:
                    if response.status == 200:
                        return
            except urllib.error.HTTPError as exc:
                last = _readiness_reason(exc)
            except (urllib.error.URLError, OSError) as exc:
                last = str(getattr(exc, "reason", exc))
            time.sleep(0.2)
        raise ServiceError(f"worker not ready within {self.ready_timeout:.0f}s: {last}")

    def wait(self, on_step: Callable[[str], None] = lambda _msg: None) -> int:
        """Block until the worker exits, or the broker dies and cannot be restarted; the exit
        code. Restarts a broker that died and recycles one that is due."""
        next_recycle_check = time.monotonic() + self.recycle_check_seconds
        while True:
            assert self.worker is not None
            try:
                code = self.worker.wait(timeout=SUPERVISE_SECONDS)
            except subprocess.TimeoutExpired:
                code = None
            # The broker first: a worker that exits because its broker vanished is a broker
            # problem, and the fix is a new broker.
            broker_code = self.broker.exit_code() if self.broker is not None else None
            if broker_code is not None:
                if not self.restart_broker(broker_code, on_step):
                    return EXIT_BROKER_LOST
                continue
            if code is not None:
                if code in (0, -signal.SIGINT, -signal.SIGTERM) or not self.restart_worker(
                    code, on_step
                ):
                    return code
                continue
            if time.monotonic() >= next_recycle_check:
                next_recycle_check = time.monotonic() + self.recycle_check_seconds
                self.maybe_recycle_broker(on_step)

    def restart_worker(self, code: int, on_step: Callable[[str], None]) -> bool:
        """The worker crashed with ``code`` (an agent or timer that failed for good, a database
        outage it did not ride out, the kernel's OOM killer): start it again on the same
        broker, which still holds everything not yet processed.

        While it cannot start (the database still away), it is tried again with growing pauses
        for up to WORKER_START_PATIENCE seconds. False, after one line, when it keeps crashing
        (more than MAX_WORKER_RESTARTS times in 10 minutes) or never starts.
        """
        now = time.monotonic()
        self._worker_deaths = [t for t in self._worker_deaths if now - t < BROKER_DEATH_WINDOW]
        self._worker_deaths.append(now)
        self.worker = None
        if len(self._worker_deaths) > MAX_WORKER_RESTARTS:
            on_step(
                f"the worker exited with code {code}, its {len(self._worker_deaths)}th crash "
                f"in {BROKER_DEATH_WINDOW / 60:.0f} minutes; stopping"
                + (f". See {self.worker_log}" if self.worker_log else "")
            )
            return False
        on_step(f"the worker exited with code {code}; starting it again")
        started, pause = time.monotonic(), 1.0
        while True:
            self._spawn_worker()
            try:
                self._wait_ready()
            except ServiceError as exc:
                if self.worker is not None and self.worker.poll() is None:
                    stop_process(self.worker, grace=ORPHAN_WORKER_GRACE)
                self.worker = None
                if time.monotonic() - started > WORKER_START_PATIENCE:
                    on_step(f"the worker did not start again: {exc}; stopping")
                    return False
                time.sleep(pause)
                pause = min(pause * 2, 10.0)
                continue
            self.worker_restarts += 1
            on_step(f"worker ready again after {time.monotonic() - started:.1f}s")
            return True

    def restart_broker(self, code: int, on_step: Callable[[str], None]) -> bool:
        """The embedded broker exited with ``code``: start a new one and a worker on it.

        Whatever the dead broker held is gone; the new worker republishes it from the SQL
        inbox. False, after one line saying why, when the broker cannot be brought back (it
        will not start, or it keeps dying); the caller then stops everything.
        """
        assert self.broker is not None
        now = time.monotonic()
        self._broker_deaths = [t for t in self._broker_deaths if now - t < BROKER_DEATH_WINDOW]
        self._broker_deaths.append(now)
        # Said before the worker is stopped, which can take seconds: this is the notice.
        give_up = len(self._broker_deaths) > MAX_BROKER_RESTARTS
        if give_up:
            on_step(
                f"the broker (Tansu) exited with code {code}, its {len(self._broker_deaths)}th "
                f"death in {BROKER_DEATH_WINDOW / 60:.0f} minutes; stopping. "
                f"See {self._broker_log}"
            )
        else:
            on_step(
                f"the broker (Tansu) exited with code {code}; starting a new one "
                "(accepted mentions are republished from the SQL inbox)"
            )
        if self.worker is not None:
            stop_process(self.worker, grace=ORPHAN_WORKER_GRACE)
            self.worker = None
        self.broker.stop()
        if give_up:
            return False
        started = time.monotonic()
        self.broker = EmbeddedBroker(log_path=self._broker_log)
        try:
            self.broker_url = self.broker.start()
        except BrokerError as exc:
            on_step(f"the broker could not be restarted: {exc}; stopping")
            return False
        self._lost_before = time.time()
        self.broker_restarts += 1
        self._deferred = False
        self._spawn_worker()
        try:
            self._wait_ready()
        except ServiceError as exc:
            on_step(f"the worker did not come back on the new broker: {exc}; stopping")
            return False
        on_step(f"broker and worker ready again after {time.monotonic() - started:.1f}s")
        return True

    def maybe_recycle_broker(self, on_step: Callable[[str], None]) -> bool:
        """Recycle the embedded broker if it is due and the worker is nearly caught up."""
        broker = self.broker
        if broker is None or time.monotonic() < self._recycle_not_before:
            return False
        policy = self.recycle_policy
        reason = policy.reason(rss_bytes=broker.rss_bytes(), age_seconds=broker.age_seconds())
        if reason is None:
            return False
        try:
            unread = asyncio.run(backlog(broker.url))
        except (KafkaError, OSError, BrokerError, TimeoutError) as exc:
            on_step(f"broker recycle postponed ({reason}): cannot read the group offsets: {exc}")
            self._recycle_not_before = time.monotonic() + policy.min_interval_seconds
            return False
        if not unread.allows(policy):
            if not self._deferred:  # say it once per broker, not every check
                on_step(
                    f"broker recycle waits for the worker to catch up ({reason}): "
                    f"{unread.describe()}"
                )
                self._deferred = True
            return False
        self.recycle_broker(reason, on_step)
        return True

    def recycle_broker(self, reason: str, on_step: Callable[[str], None]) -> None:
        """Stop the worker, move to a new broker with the unprocessed records, start it again.

        If the new broker cannot take over, the worker starts again on the old one, which still
        has everything, and the next attempt waits ``min_interval_seconds``.
        """
        assert self.broker is not None and self.worker is not None
        started = time.monotonic()
        on_step(f"recycling the broker: {reason}")
        stop_process(self.worker, grace=WORKER_STOP_GRACE)
        self.worker = None
        try:
            outcome = recycle(self.broker, log_path=self._broker_log, on_step=on_step)
        except BrokerError as exc:
            on_step(str(exc))
            self._recycle_not_before = time.monotonic() + self.recycle_policy.min_interval_seconds
        else:
            self.broker = outcome.broker
            self.broker_url = outcome.broker.url
            self._lost_before = None  # the new broker carries the unprocessed records
            self.recycles += 1
            self._deferred = False
        self._spawn_worker()
        self._wait_ready()
        on_step(f"worker ready again after {time.monotonic() - started:.1f}s")

    def stop(self) -> None:
        """Worker first (bounded), then the broker; safe to call twice."""
        if self.worker is not None:
            stop_process(self.worker, grace=WORKER_STOP_GRACE)
            self.worker = None
        if self.broker is not None:
            self.broker.stop()
            self.broker = None
        if self._log_handle is not None:
            self._log_handle.close()
            self._log_handle = None
        clear_runtime(self.settings.runtime_file, os.getpid())


def policy_from(settings: Settings) -> RecyclePolicy:
    """The recycle limits ``CRISISMON_BROKER_MEMORY_MB`` and ``…_RECYCLE_HOURS`` ask for."""
    return RecyclePolicy(
        memory_limit_bytes=settings.broker_memory_mb * 1024 * 1024,
        max_age_seconds=settings.broker_recycle_hours * 3600.0,
    )


def _readiness_reason(exc: urllib.error.HTTPError) -> str:
    try:
        checks = json.loads(exc.read()).get("checks", {})
        return ", ".join(f"{k}: {v}" for k, v in checks.items() if not str(v).startswith("ok"))
    except (ValueError, AttributeError):
        return f"HTTP {exc.code}"


def _check_port_free(port: int) -> None:
    """Refuse early when another server listens on ``port``.

    With SO_REUSEADDR, as the web server itself binds: connections of a service that just
    crashed linger in TIME_WAIT for about a minute, and they must not block a restart.
    """
    import socket

    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            sock.bind(("127.0.0.1", port))
        except OSError as exc:
            raise ServiceError(
                f"web port {port} is in use; set CRISISMON_WEB_PORT to a free port"
            ) from exc


def _display_db(settings: Settings) -> str:
    from sqlalchemy.engine import make_url

    return make_url(settings.resolved_database_url).render_as_string(hide_password=True)


def pick_web_port() -> int:
    return free_loopback_port()
