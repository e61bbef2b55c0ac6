"""`crisismon demo --full` from start to the messages at its local receivers."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

from tests.conftest import REPO


def test_demo_full_sends_approved_messages_to_local_receivers(tmp_path: Path):
    env = {k: v for k, v in os.environ.items() if not k.startswith("CRISISMON_")}
    env["CRISISMON_DATA_DIR"] = str(tmp_path / "data")
    result = subprocess.run(
        [sys.executable, "-m", "monitor", "demo", "--full", "--timeout", "120"],
        env=env,
        cwd=REPO,
        capture_output=True,
        text=True,
        timeout=220,
        check=False,
    )
    assert result.returncode == 0, result.stdout[-3000:] + result.stderr[-3000:]
    out = result.stdout
    assert "draft(s) waiting for approval" in out
    received = out.split("What the local receivers got:")[1]
    assert "vip@example.com" in received and "we are on it" in received
    assert "nouveau@example.com" in received and "ce n'est pas vous" in received
    assert "ops@partner.example" in received and "service disruption" in received
    assert "gone@example.com" not in received and "never@example.com" not in received
    assert "/status) after approving draft #" in out
    assert "investigating · web app · Service disruption" in out
