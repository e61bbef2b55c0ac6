"""`crisismon demo --full`: after the alert, the playbook path to local receivers."""

from __future__ import annotations

import json
import secrets
import shutil
import time
import urllib.request
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from monitor.settings import Settings
from monitor.shell.cli.common import status


@dataclass
class FullDemo:
    """Receivers, demo customers and settings for a worker that sends to them."""

    workdir: Path
    token: str
    receivers: Any  # playbooks.receivers.Receivers, imported lazily
    # A user to sign in to the web app with, made in the demo's own fresh database.
    user: str = "demo"
    password: str = field(default_factory=lambda: secrets.token_urlsafe(12))

    @classmethod
    def prepare(cls, current: Settings, workdir: Path) -> FullDemo:
        from playbooks.receivers import Receivers

        receivers = Receivers()
        receivers.start()
        config = workdir / "config"
        shutil.copytree(current.config_dir, config, dirs_exist_ok=True)
        # Quiet hours would delay messages when the demo runs at night in the customers' zones.
        import yaml

        sending = yaml.safe_load((config / "sending.yaml").read_text()) or {}
        sending["quiet_hours"] = None
        (config / "sending.yaml").write_text(yaml.safe_dump(sending))
        status.print(
            f"[green]✓[/] local receivers: SMTP on 127.0.0.1:{receivers.smtp_port}, "
            f"SMS API and webhook on {receivers.sms_url}"
        )
        return cls(workdir=workdir, token=secrets.token_hex(16), receivers=receivers)

    def settings_update(self) -> dict[str, Any]:
        return {"config_dir": self.workdir / "config"}

    def env(self) -> dict[str, str]:
        return {
            **self.receivers.env(),
            "CRISISMON_API_TOKENS": f"{self.token}=demo:approver",
            "CRISISMON_UNSUBSCRIBE_SECRET": secrets.token_hex(16),
        }

    def import_customers(self, database_url: str) -> int:
        """The demo customers, and the web app's user ``demo`` (an approver)."""
        from monitor.accounts.users import add_user
        from monitor.storage.db import make_engine
        from monitor.storage.migrate import upgrade
        from playbooks.customers import import_file
        from playbooks.receivers import demo_customers

        path = self.workdir / "customers.jsonl"
        rows = demo_customers(self.receivers.webhook_url)
        path.write_text("".join(json.dumps(r) + "\n" for r in rows))
        engine = make_engine(database_url)
        try:
            upgrade(engine)
            report = import_file(engine, path=path, now=datetime.now(UTC))
            add_user(
                engine,
                name=self.user,
                role="approver",
                password=self.password,
                actor="demo",
                now=datetime.now(UTC),
            )
        finally:
            engine.dispose()
        status.print(f"[green]✓[/] {report.imported} demo customers imported")
        return report.imported

    def run(self, web_url: str, *, timeout: float) -> int:
        """Show the drafts, approve the first step's, print what the receivers got."""
        drafts = self._wait_for_drafts(web_url, timeout)
        if not drafts:
            return 0
        print(f"\n{len(drafts)} draft(s) waiting for approval:")
        for d in drafts:
            print(
                f"  #{d['id']} {d['playbook']}/{d['step_id']} · {d['segment']} · {d['locale']}"
                f" · {d['channel']} · {d['recipient_count']} recipient(s)"
            )
        # The outage scenario is what the demo plays, so its playbook's first step goes out.
        outage = [d for d in drafts if d["playbook"] == "service-outage"] or drafts
        first_step = outage[0]["step_id"]
        chosen = [d for d in outage if d["step_id"] == first_step]
        # The list holds no preview (it was rendered for a real recipient); the review does.
        shown = self._api(web_url, f"/api/drafts/{chosen[0]['id']}", None)["preview"]
        subject = f"Subject: {shown['subject']}\n\n" if shown["subject"] else ""
        print(
            f"\nPreview of draft #{chosen[0]['id']} (as {shown['rendered_for']} would get it):"
            f"\n{subject}{shown['text'] or shown['error']}\n"
        )
        for d in chosen:
            self._api(
                web_url, f"/api/drafts/{d['id']}/approve", {"content_hash": d["content_hash"]}
            )
        status.print(
            f"approved the {len(chosen)} draft(s) of step {first_step} as 'demo' over the web API"
            "; the others stay pending"
        )
        deadline = time.monotonic() + 30
        expected = sum(d["recipient_count"] for d in chosen) - 2  # opted-out, no consent
        while time.monotonic() < deadline and len(self.receivers.received) < expected:
            time.sleep(0.25)
        time.sleep(1.5)
        print("\nWhat the local receivers got:")
        for item in sorted(self.receivers.received.values(), key=lambda r: r.to):
            print(f"  {item.channel:7} {item.to:24} {item.subject or item.text[:60]}")
        self._publish_status(web_url, outage)
        print(
            f"\nThe incident's page: {web_url}/incidents/{chosen[0]['incident_id']}\n"
            f"  sign in as {self.user} with the password {self.password}"
        )
        return len(self.receivers.received)

    def _publish_status(self, web_url: str, drafts: list[dict[str, Any]]) -> None:
        """Approve the status page update too, and show it arriving on GET /status."""
        update = next((d for d in drafts if d["channel"] == "status_page"), None)
        if update is None:
            return
        self._api(
            web_url, f"/api/drafts/{update['id']}/approve", {"content_hash": update["content_hash"]}
        )
        deadline = time.monotonic() + 15
        page: dict[str, Any] = {"updates": []}
        while time.monotonic() < deadline and not page["updates"]:
            time.sleep(0.25)
            page = self._api(web_url, "/api/status", None)
        if not page["updates"]:
            status.print("[yellow]the status page update did not arrive in time[/]")
            return
        latest = page["updates"][0]
        print(
            f"\nStatus page ({web_url}/status) after approving draft #{update['id']}:\n"
            f"  {page['status']} · {latest['component']} · {latest['title']}"
        )

    def _wait_for_drafts(self, web_url: str, timeout: float) -> list[dict[str, Any]]:
        deadline = time.monotonic() + timeout
        drafts: list[dict[str, Any]] = []
        while time.monotonic() < deadline:
            drafts = self._api(web_url, "/api/drafts", None)["drafts"]
            # The demo plays an outage: wait for its playbook's drafts, not just any.
            if any(d["playbook"] == "service-outage" for d in drafts):
                time.sleep(1.0)  # the rest of the same incident's drafts
                return list(self._api(web_url, "/api/drafts", None)["drafts"])
            time.sleep(0.5)
        return drafts

    def _api(self, web_url: str, path: str, body: dict[str, Any] | None) -> Any:
        request = urllib.request.Request(
            web_url + path,
            data=json.dumps(body).encode() if body is not None else None,
            headers={"Authorization": f"Bearer {self.token}"},
            method="POST" if body is not None else "GET",
        )
        with urllib.request.urlopen(request, timeout=15) as response:
            return json.loads(response.read())

    def stop(self) -> None:
        self.receivers.stop()
