"""A running worker for the browser tests and the README's screenshots: SQLite, the demo's
local receivers and customers. ``play_the_outage`` replays the demo's scenario (three calm hours
compressed into seconds, then the outage) while a page is open, as `crisismon demo` does.

The scenario is made when it is played, ending now: played in two parts (the calm hours first,
the outage later), the live timer would close the outage's minutes by wall clock as empty in
between, and the outage would arrive too late to be scored (seen on a loaded machine).
"""

from __future__ import annotations

import subprocess
import sys
import urllib.request
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

from sqlalchemy import Engine

from monitor.broker import free_loopback_port
from monitor.settings import Settings
from monitor.shell.cli.demo_full import FullDemo
from streams.scenario import outage_scenario
from tests.conftest import (
    REPO,
    WorkerProcess,
    service_env,
    unique_namespace,
    wait_until,
)
from tests.integration.helpers import engine_for, publish, write


@dataclass
class WebService:
    worker: WorkerProcess
    database_url: str
    engine: Engine
    demo: FullDemo  # the local SMTP/SMS/webhook receivers and an approver's API token
    broker_url: str
    namespace: str
    workdir: Path
    played: bool = False

    @property
    def url(self) -> str:
        return self.worker.web_url

    def log_tail(self, characters: int = 4000) -> str:
        """The end of the worker's log, for a failure message."""
        return f"\nthe worker's log ends:\n{self.worker.log()[-characters:]}"

    def artefact(self, name: str) -> Path:
        from tests.browser.browser import ARTEFACTS

        ARTEFACTS.mkdir(exist_ok=True)
        return ARTEFACTS / f"{name}.png"

    def play_the_outage(self) -> None:
        """Publish the demo's outage scenario, once; the incident follows within seconds."""
        if self.played:
            return
        self.played = True
        items = outage_scenario(end=datetime.now(UTC), run_id=f"web-{self.namespace}")
        # In a thread of its own: Playwright's sync API keeps an event loop running in this
        # one, and publishing runs its own (asyncio.run).
        with ThreadPoolExecutor(1) as pool:
            pool.submit(
                publish,
                write(items, self.workdir / "outage-scenario.jsonl"),
                broker_url=self.broker_url,
                namespace=self.namespace,
            ).result(timeout=120)


def _start_worker(env: dict[str, str], log_path: Path) -> WorkerProcess:
    port = free_loopback_port()
    env = {**env, "CRISISMON_WEB_PORT": str(port)}
    with log_path.open("wb") as log:
        proc = subprocess.Popen(
            [sys.executable, "-m", "monitor", "worker"],
            env=env,
            stdout=log,
            stderr=subprocess.STDOUT,
            cwd=REPO,
        )
    worker = WorkerProcess(proc, f"http://127.0.0.1:{port}", log_path, env)

    def ready() -> bool:
        if proc.poll() is not None:
            raise AssertionError(f"worker exited with {proc.returncode}:\n{worker.log()[-3000:]}")
        try:
            with urllib.request.urlopen(f"{worker.web_url}/readyz", timeout=2) as response:
                return bool(response.status == 200)
        except OSError:
            return False

    wait_until(ready, 90, "the worker to report ready")
    return worker


@contextmanager
def running_service(broker_url: str, workdir: Path) -> Iterator[WebService]:
    """A worker ready on a fresh database; stopped (with the receivers) afterwards."""
    database_url = f"sqlite:///{workdir / 'web.db'}"
    demo = FullDemo.prepare(Settings(config_dir=REPO / "config"), workdir)
    worker: WorkerProcess | None = None
    try:
        demo.import_customers(database_url)
        namespace = unique_namespace()
        env = service_env(
            broker_url=broker_url,
            database_url=database_url,
            data_dir=workdir / "data",
            namespace=namespace,
            slack=None,
        )
        env.update(demo.env())
        env["CRISISMON_CONFIG_DIR"] = str(workdir / "config")
        # Faust's and aiokafka's INFO lines too (rebalances, assignments): the tests quote the
        # log's end when an incident or its drafts do not come.
        env["CRISISMON_LOG_VERBOSE"] = "1"
        worker = _start_worker(env, workdir / "worker.log")
        engine = engine_for(database_url)
        yield WebService(
            worker=worker,
            database_url=database_url,
            engine=engine,
            demo=demo,
            broker_url=broker_url,
            namespace=namespace,
            workdir=workdir,
        )
    finally:
        if worker is not None:
            worker.stop()
        demo.stop()
