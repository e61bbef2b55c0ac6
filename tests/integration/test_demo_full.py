"""`crisismon demo --full` from start to the messages at its local receivers and the incident's
page it ends with (signed in as the demo's user, while --keep-running serves it), and no secret
of its configuration in any log line it wrote or any row it stored."""

from __future__ import annotations

import os
import re
import signal
import sqlite3
import subprocess
import sys
import threading
import urllib.request
from pathlib import Path

from playbooks.receivers import SMS_TOKEN, WEBHOOK_SECRET
from tests.conftest import REPO, FakeSlack
from tests.integration.web_login import login

# Every secret setting, with a value that cannot turn up by chance. The demo replaces the API
# tokens, unsubscribe secret, SMS token and webhook secret with its own for the worker; those
# it gives the worker are searched for too where they are known (the receivers' two).
SECRETS = {
    "CRISISMON_PSEUDONYM_KEY": "pk-7f3a9c2e-pseudonym-key-never-logged",
    "CRISISMON_API_TOKENS": "tok-5b8e1d4f-api-token=ops:approver",
    "CRISISMON_SLACK_BOT_TOKEN": "xoxb-test-token",
    "CRISISMON_SLACK_SIGNING_SECRET": "ss-2c6a8f0b-slack-signing-secret",
    "CRISISMON_SMTP_PASSWORD": "pw-9d1e7b3c-smtp-password",
    "CRISISMON_SMS_AUTH_TOKEN": "sms-4a2f6e8d-auth-token",
    "CRISISMON_WEBHOOK_SECRET": "wh-8b3d5f7a-webhook-secret",
    "CRISISMON_UNSUBSCRIBE_SECRET": "us-1f9c3e5b-unsubscribe-secret",
    "CRISISMON_AUDIT_KEY": "ak-6e4a2c8f-audit-chain-key",
}


def _secret_values() -> dict[str, str]:
    values = {name: value.split("=")[0] for name, value in SECRETS.items()}
    values["receivers' SMS token"] = SMS_TOKEN
    values["receivers' webhook secret"] = WEBHOOK_SECRET
    return values


def _stored_text(db_file: Path) -> str:
    """Every value of every column of every table, as text."""
    with sqlite3.connect(db_file) as conn:
        tables = [r[0] for r in conn.execute("SELECT name FROM sqlite_master WHERE type='table'")]
        rows = [repr(row) for t in tables for row in conn.execute(f'SELECT * FROM "{t}"')]
    return "\n".join(rows)


def test_demo_full_sends_approved_messages_and_leaks_no_secret(
    tmp_path: Path, fake_slack: FakeSlack
):
    env = {k: v for k, v in os.environ.items() if not k.startswith("CRISISMON_")}
    data = tmp_path / "data"
    env["CRISISMON_DATA_DIR"] = str(data)
    env.update(SECRETS)
    env["CRISISMON_SLACK_BASE_URL"] = fake_slack.url
    env["CRISISMON_SLACK_CHANNEL"] = "C0ALERTS"
    stderr_path = tmp_path / "demo.stderr"
    command = [sys.executable, "-m", "monitor", "demo", "--full", "--timeout", "120"]
    with stderr_path.open("w") as stderr:
        demo = subprocess.Popen(
            [*command, "--keep-running"],
            env=env,
            cwd=REPO,
            stdout=subprocess.PIPE,
            stderr=stderr,
            text=True,
        )
    watchdog = threading.Timer(220, demo.kill)
    watchdog.start()
    try:
        assert demo.stdout is not None
        printed = []
        for line in demo.stdout:  # up to the incident's page, while the demo keeps serving it
            printed.append(line)
            if line.strip().startswith("sign in as"):
                break
        page = re.search(r"The incident's page: (http://\S+)", "".join(printed))
        user = re.search(r"sign in as (\S+) with the password (\S+)", "".join(printed))
        assert page and user, "".join(printed)[-3000:] + stderr_path.read_text()[-3000:]
        # The printed address answers: the incident's page, to the demo's user once signed in.
        web_url = page.group(1).split("/incidents/")[0]
        me = login(web_url, user.group(1), user.group(2))
        request = urllib.request.Request(page.group(1), headers=me.headers(csrf=False))
        with urllib.request.urlopen(request, timeout=30) as response:
            assert response.status == 200
            assert "text/html" in response.headers["Content-Type"]
            html = response.read().decode()
        incident = page.group(1).rsplit("/", 1)[1]
        assert f"<h1>#{incident} " in html and "Why it fired" in html, html[:2000]
        demo.send_signal(signal.SIGINT)  # Ctrl-C: the demo stops its service and exits 0
        rest, _ = demo.communicate(timeout=60)
    finally:
        watchdog.cancel()
        if demo.poll() is None:
            demo.kill()
    assert demo.returncode == 0, rest[-3000:] + stderr_path.read_text()[-3000:]
    result = subprocess.CompletedProcess(
        demo.args, demo.returncode, "".join(printed) + rest, stderr_path.read_text()
    )
    out = result.stdout
    assert "draft(s) waiting for approval" in out
    received = out.split("What the local receivers got:")[1]
    assert "vip@example.com" in received and "we are on it" in received
    assert "nouveau@example.com" in received and "ce n'est pas vous" in received
    assert "ops@partner.example" in received and "service disruption" in received
    assert "gone@example.com" not in received and "never@example.com" not in received
    assert "/status) after approving draft #" in out
    assert "investigating · web app · Service disruption" in out
    assert fake_slack.posts, "the alert went to the configured (fake) Slack"

    # Every log line of every process: the command's own output, the worker's log (its
    # detect and scoring children write there too) and the broker's.
    logs = {"stdout": result.stdout, "stderr": result.stderr}
    logs.update({str(p): p.read_text(errors="replace") for p in (data / "logs").iterdir()})
    assert any("demo-worker" in name for name in logs) and any("broker" in n for n in logs)
    stored = _stored_text(data / "demo-full.db")
    assert "vip@example.com" in stored  # the scan does read the rows
    for name, value in _secret_values().items():
        for where, text in logs.items():
            assert value not in text, f"{name} appears in {where}"
        assert value not in stored, f"{name} is stored in the demo database"
