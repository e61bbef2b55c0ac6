"""Real parts only: a Tansu broker, PostgreSQL on 127.0.0.1:5432, SQLite files, a local Slack.

A fixture that cannot get its real dependency fails the test with the reason; nothing skips.
"""

from __future__ import annotations

import asyncio
import json
import os
import signal
import subprocess
import sys
import threading
import time
import urllib.request
import uuid
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import psycopg
import pytest
from aiohttp import web
from sqlalchemy import Engine

from monitor.broker import BrokerError, EmbeddedBroker, free_loopback_port
from monitor.storage.db import make_engine
from monitor.storage.migrate import upgrade

PG_ADMIN_DSN = os.environ.get(
    "CRISISMON_TEST_PG_ADMIN", "postgresql://postgres@127.0.0.1:5432/postgres"
)
REPO = Path(__file__).resolve().parent.parent
# The pseudonym key every test worker and test publisher shares (tests only, never a real key).
TEST_PSEUDONYM_KEY = "test-pseudonym-key-0123456789"


@pytest.fixture(scope="session")
def tansu() -> Iterator[str]:
    """One embedded Tansu broker for the whole session; tests isolate by namespace."""
    broker = EmbeddedBroker()
    try:
        url = broker.start()
    except BrokerError as exc:
        pytest.fail(f"the tests need the embedded Tansu broker: {exc}", pytrace=False)
    yield url
    broker.stop()


class PostgresDatabases:
    """Creates throwaway databases on the machine's PostgreSQL and drops them afterwards."""

    def __init__(self) -> None:
        self.created: list[str] = []
        try:
            with psycopg.connect(PG_ADMIN_DSN, autocommit=True, connect_timeout=5) as conn:
                conn.execute("SELECT 1")
        except psycopg.Error as exc:
            pytest.fail(
                f"the tests need PostgreSQL at {PG_ADMIN_DSN} (trust auth): {exc}", pytrace=False
            )

    def create(self) -> str:
        name = f"crisismon_test_{uuid.uuid4().hex[:12]}"
        with psycopg.connect(PG_ADMIN_DSN, autocommit=True) as conn:
            conn.execute(f'CREATE DATABASE "{name}"')
        self.created.append(name)
        return PG_ADMIN_DSN.rsplit("/", 1)[0] + f"/{name}"

    def drop_all(self) -> None:
        with psycopg.connect(PG_ADMIN_DSN, autocommit=True) as conn:
            for name in self.created:
                conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


@pytest.fixture(scope="session")
def postgres() -> Iterator[PostgresDatabases]:
    databases = PostgresDatabases()
    yield databases
    databases.drop_all()


@pytest.fixture(params=["sqlite", "postgresql"])
def database_url(request: pytest.FixtureRequest, tmp_path: Path) -> str:
    """A fresh, empty database of each kind (the test runs once per backend)."""
    if request.param == "sqlite":
        return f"sqlite:///{tmp_path / 'crisismon.db'}"
    databases: PostgresDatabases = request.getfixturevalue("postgres")
    return databases.create()


@pytest.fixture
def engine(database_url: str) -> Iterator[Engine]:
    """A migrated engine on a fresh database, once per backend."""
    from monitor.settings import Settings

    url = Settings(database_url=database_url).resolved_database_url
    eng = make_engine(url)
    upgrade(eng)
    yield eng
    eng.dispose()


@dataclass
class FakeSlack:
    """A local stand-in for Slack's Web API that records what the real client sent."""

    url: str
    posts: list[dict[str, Any]] = field(default_factory=list)
    fail_next: list[int] = field(default_factory=list)
    updates: list[dict[str, Any]] = field(default_factory=list)  # chat.update calls
    ephemerals: list[dict[str, Any]] = field(default_factory=list)  # chat.postEphemeral calls

    def texts(self) -> list[str]:
        return [str(p.get("text", "")) for p in self.posts]


@pytest.fixture
def fake_slack() -> Iterator[FakeSlack]:
    port = free_loopback_port()
    slack = FakeSlack(url=f"http://127.0.0.1:{port}/api/")
    loop = asyncio.new_event_loop()
    ready = threading.Event()
    runner_box: dict[str, web.AppRunner] = {}

    async def body_of(request: web.Request) -> dict[str, Any]:
        if request.content_type == "application/json":
            return dict(await request.json())
        body = dict(await request.post())
        if isinstance(body.get("blocks"), str):
            body["blocks"] = json.loads(body["blocks"])
        return body

    async def update_message(request: web.Request) -> web.Response:
        if request.headers.get("Authorization", "") != "Bearer xoxb-test-token":
            return web.json_response({"ok": False, "error": "invalid_auth"})
        body = await body_of(request)
        slack.updates.append(body)
        return web.json_response({"ok": True, "channel": body.get("channel"), "ts": body.get("ts")})

    async def post_ephemeral(request: web.Request) -> web.Response:
        if request.headers.get("Authorization", "") != "Bearer xoxb-test-token":
            return web.json_response({"ok": False, "error": "invalid_auth"})
        slack.ephemerals.append(await body_of(request))
        return web.json_response({"ok": True, "message_ts": f"{time.time():.6f}"})

    async def post_message(request: web.Request) -> web.Response:
        if request.headers.get("Authorization", "") != "Bearer xoxb-test-token":
            return web.json_response({"ok": False, "error": "invalid_auth"})
        if slack.fail_next:
            status = slack.fail_next.pop(0)
            return web.json_response(
                {"ok": False, "error": "ratelimited"}, status=status, headers={"Retry-After": "0"}
            )
        if request.content_type == "application/json":
            body = await request.json()
        else:
            body = dict(await request.post())
            if isinstance(body.get("blocks"), str):
                body["blocks"] = json.loads(body["blocks"])
        slack.posts.append(body)
        return web.json_response(
            {"ok": True, "channel": body.get("channel"), "ts": f"{time.time():.6f}"}
        )

    async def start() -> None:
        app = web.Application()
        app.router.add_post("/api/chat.postMessage", post_message)
        app.router.add_post("/api/chat.update", update_message)
        app.router.add_post("/api/chat.postEphemeral", post_ephemeral)
        runner = web.AppRunner(app)
        await runner.setup()
        await web.TCPSite(runner, "127.0.0.1", port).start()
        runner_box["runner"] = runner
        ready.set()

    thread = threading.Thread(
        target=lambda: (loop.run_until_complete(start()), loop.run_forever()), daemon=True
    )
    thread.start()
    assert ready.wait(10), "fake Slack did not start"
    yield slack
    asyncio.run_coroutine_threadsafe(runner_box["runner"].cleanup(), loop).result(10)
    loop.call_soon_threadsafe(loop.stop)
    thread.join(10)


@dataclass
class WorkerProcess:
    proc: subprocess.Popen[bytes]
    web_url: str
    log_path: Path
    env: dict[str, str]

    def log(self) -> str:
        return self.log_path.read_text(errors="replace")

    def stop(self) -> None:
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(30)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait(10)

    def kill(self) -> None:
        self.proc.send_signal(signal.SIGKILL)
        self.proc.wait(10)


def wait_until(
    predicate: Callable[[], bool], timeout: float, what: str, interval: float = 0.2
) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if predicate():
            return
        time.sleep(interval)
    raise AssertionError(f"timed out after {timeout:.0f}s waiting for {what}")


# POST /api/mentions needs a token of role responder or above: service_env's environment has
# this one (a test that sets CRISISMON_API_TOKENS itself adds INTAKE_TOKENS to its own).
INTAKE_TOKEN = "tests-intake-token-0123456789"
INTAKE_TOKENS = f"{INTAKE_TOKEN}=tests:responder"
INTAKE_HEADERS = {"Authorization": f"Bearer {INTAKE_TOKEN}"}


def service_env(
    *, broker_url: str, database_url: str, data_dir: Path, namespace: str, slack: FakeSlack | None
) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("CRISISMON_")}
    env.update(
        {
            "CRISISMON_BROKER": broker_url,
            # Tansu standing in for a Kafka cluster: keep its group joins fast.
            "CRISISMON_BROKER_SESSION_TIMEOUT": "3",
            "CRISISMON_DATABASE_URL": database_url,
            "CRISISMON_DATA_DIR": str(data_dir),
            "CRISISMON_NAMESPACE": namespace,
            "CRISISMON_CONFIG_DIR": str(REPO / "config"),
            "CRISISMON_PSEUDONYM_KEY": TEST_PSEUDONYM_KEY,
            "CRISISMON_API_TOKENS": INTAKE_TOKENS,
            "PYTHONUNBUFFERED": "1",
        }
    )
    if slack is not None:
        env.update(
            {
                "CRISISMON_SLACK_BOT_TOKEN": "xoxb-test-token",
                "CRISISMON_SLACK_CHANNEL": "#crisis",
                "CRISISMON_SLACK_BASE_URL": slack.url,
            }
        )
    return env


@pytest.fixture
def start_worker(tmp_path: Path) -> Iterator[Callable[..., WorkerProcess]]:
    """Start `python -m monitor worker` subprocesses; all are stopped after the test."""
    started: list[WorkerProcess] = []

    def _start(env: dict[str, str], *, timeout: float = 60.0) -> WorkerProcess:
        port = free_loopback_port()
        env = {**env, "CRISISMON_WEB_PORT": str(port)}
        log_path = tmp_path / f"worker-{len(started)}.log"
        with log_path.open("wb") as log:
            proc = subprocess.Popen(
                [sys.executable, "-m", "monitor", "worker"],
                env=env,
                stdout=log,
                stderr=subprocess.STDOUT,
                cwd=REPO,
            )
        worker = WorkerProcess(proc, f"http://127.0.0.1:{port}", log_path, env)
        started.append(worker)

        def ready() -> bool:
            if proc.poll() is not None:
                raise AssertionError(
                    f"worker exited with {proc.returncode}:\n{worker.log()[-3000:]}"
                )
            try:
                with urllib.request.urlopen(f"{worker.web_url}/readyz", timeout=2) as response:
                    return bool(response.status == 200)
            except OSError:
                return False

        wait_until(ready, timeout, "the worker to report ready")
        return worker

    yield _start
    for worker in started:
        worker.stop()


def unique_namespace() -> str:
    return f"t{uuid.uuid4().hex[:10]}"


# The slowest test files, slowest first. pytest-xdist hands out whole files (--dist loadfile)
# in collection order; a slow file collected late would run alone at the end while the other
# worker waits. Measured with `make pytest PYTEST_ARGS=--junitxml=FILE` (time per file).
SLOW_FILES_FIRST = (
    "tests/unit/test_simulated_quiet_week.py",
    "tests/unit/test_simulated_crises.py",
    "tests/unit/test_eval_scenarios_cli.py",
    "tests/unit/test_backtest.py",
    "tests/integration/test_database_outage.py",
    "tests/integration/test_demo_full.py",
    "tests/browser/test_web_app.py",
    "tests/playbooks/test_erasure_cli.py",
    "tests/integration/test_readme_examples.py",
    "tests/integration/test_broker_death.py",
    "tests/integration/test_api_server.py",
    "tests/playbooks/test_consent_history.py",
    "tests/integration/test_retention_worker.py",
    "tests/integration/test_broker_recycle.py",
    "tests/integration/test_crash_recovery.py",
    "tests/integration/test_playbook_steps_e2e.py",
    "tests/unit/test_backtest_cli.py",
    "tests/playbooks/test_slack_and_policy.py",
    "tests/unit/test_pseudonym_key.py",
    "tests/playbooks/test_fairness.py",
    "tests/unit/test_terms.py",
    "tests/unit/test_crisis_scenarios.py",
    "tests/unit/test_config_at_start.py",
    "tests/unit/test_nab_corpus.py",
)


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    rank = {name: place for place, name in enumerate(SLOW_FILES_FIRST)}
    # A stable sort: files not listed keep their order after the listed ones.
    items.sort(key=lambda item: rank.get(item.path.relative_to(REPO).as_posix(), len(rank)))
