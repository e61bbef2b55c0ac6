"""`crisismon web` serves every view a worker serves, and registers no agent, timer or crontab
(they would run outside the consumer group)."""

from __future__ import annotations

import json
import subprocess
import sys
from typing import Any

from tests.conftest import REPO

# Run in a fresh interpreter: in this one, other tests may have imported the agent modules.
REGISTERED = """
import importlib, json, sys
from monitor.shell import api_server, worker
for name in getattr({module}, sys.argv[1]):
    importlib.import_module(name)
from monitor.app import app
print(json.dumps({{
    "views": sorted(app.web.views),
    "agents": sorted(app.agents),
    # Faust wraps a timer's function in around_timer and a crontab's in cron_starter.
    "tasks": sorted(task.__wrapped__.__code__.co_name for task in app._app_tasks),
}}))
"""


def registered(module: str, modules: str) -> dict[str, Any]:
    script = REGISTERED.format(module=module)
    out = subprocess.run(
        [sys.executable, "-c", script, modules], capture_output=True, text=True, cwd=REPO
    )
    assert out.returncode == 0, out.stderr[-2000:]
    found: dict[str, Any] = json.loads(out.stdout.splitlines()[-1])
    return found


def test_web_serves_every_view_and_runs_no_agent_or_timer() -> None:
    web = registered("api_server", "WEB_MODULES")
    worker = registered("worker", "AGENT_MODULES")
    assert web["views"] == worker["views"]
    assert "/api/mentions" in web["views"] and "/unsubscribe" in web["views"]
    assert web["agents"] == []
    assert "around_timer" in worker["tasks"]  # what the check below looks for is there to find
    assert not {"around_timer", "cron_starter"} & set(web["tasks"])
