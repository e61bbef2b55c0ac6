"""`crisismon web` serves the API beside a worker: what it accepts, the worker stores; it takes
no partitions from the worker."""

from __future__ import annotations

import json
import subprocess
import sys
import urllib.request
from pathlib import Path

from monitor.broker import free_loopback_port
from tests.conftest import (
    REPO,
    PostgresDatabases,
    WorkerProcess,
    service_env,
    unique_namespace,
    wait_until,
)
from tests.integration.helpers import engine_for, mention_count
from tests.integration.test_web import get, post


def start_api_server(env: dict[str, str], log_path: Path) -> WorkerProcess:
    port = free_loopback_port()
    env = {**env, "CRISISMON_WEB_PORT": str(port)}
    with log_path.open("wb") as log:
        proc = subprocess.Popen(
            [sys.executable, "-m", "monitor", "web"],
            env=env,
            stdout=log,
            stderr=subprocess.STDOUT,
            cwd=REPO,
        )
    return WorkerProcess(proc, f"http://127.0.0.1:{port}", log_path, env)


def ready(process: WorkerProcess) -> bool:
    if process.proc.poll() is not None:
        raise AssertionError(f"exited with {process.proc.returncode}:\n{process.log()[-3000:]}")
    try:
        with urllib.request.urlopen(f"{process.web_url}/readyz", timeout=2) as response:
            return bool(response.status == 200)
    except OSError:
        return False


def test_web_process_accepts_what_a_worker_stores(
    tansu: str, postgres: PostgresDatabases, start_worker, tmp_path: Path
) -> None:
    database_url = postgres.create()
    env = service_env(
        broker_url=tansu,
        database_url=database_url,
        data_dir=tmp_path / "data",
        namespace=unique_namespace(),
        slack=None,
    )
    worker = start_worker(env)
    _, before = get(f"{worker.web_url}/readyz")
    # Verbose: Faust logs each service it starts, so the log shows that no consumer did.
    api_server = start_api_server({**env, "CRISISMON_LOG_VERBOSE": "true"}, tmp_path / "web.log")
    try:
        wait_until(lambda: ready(api_server), 60, "`crisismon web` to report ready")
        status, body = get(f"{api_server.web_url}/readyz")
        assert status == 200
        assert body["checks"]["web"].startswith("ok")
        assert "worker" not in body["checks"]

        mention = {"source": "tickets", "text": "Charged twice", "external_id": "W-1"}
        status, body = post(f"{api_server.web_url}/api/mentions", json.dumps(mention).encode())
        assert status == 202 and body["accepted"] == 1

        # Its /metrics counts what it accepted (the workers' count only what they accepted).
        with urllib.request.urlopen(f"{api_server.web_url}/metrics", timeout=10) as response:
            metrics = response.read().decode()
        assert 'crisismon_mentions_received_total{source="",via="api"} 1.0' in metrics

        engine = engine_for(database_url)
        wait_until(lambda: mention_count(engine) == 1, 30, "the worker to store the mention")
        engine.dispose()
        # The web process joined no consumer group: the worker still holds every partition.
        _, after = get(f"{worker.web_url}/readyz")
        assert after["checks"]["worker"] == before["checks"]["worker"]
    finally:
        api_server.stop()
    assert api_server.proc.returncode == 0, api_server.log()[-3000:]
    assert "Producer]: Starting" in api_server.log()
    assert "Consumer]: Starting" not in api_server.log()
