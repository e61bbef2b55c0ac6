"""The alert-latency bench's service: its config copy, the embedded service, a fake Slack."""

from __future__ import annotations

import json
import re
import secrets
import shutil
import time
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml
from aiohttp import web
from pydantic import SecretStr

from bench.alert_latency_traffic import TIMESCALE, product_name
from monitor.settings import Settings, shipped_config_dir
from monitor.shell.service import Service, pick_web_port
from tests.fake_servers import Recorded, serve

# A throwaway token for the local fake Slack, made per run: nothing real is ever in the tree.
SLACK_TOKEN = secrets.token_hex(16)
SLACK_CHANNEL = "#bench-alerts"
PRODUCT_IN_TEXT = re.compile(r"product:(bp\d+)")
_INCIDENT = re.compile(r"Incident #(\d+)")


def bench_config(target: Path, overrides: Mapping[str, Any] = TIMESCALE) -> Path:
    """A copy of the shipped config/ with ``overrides`` applied to detection.yaml and one
    product per possible burst (``bp00``…``bp99``) added to topics.yaml."""
    shutil.copytree(shipped_config_dir(), target)
    detection_path = target / "detection.yaml"
    detection = yaml.safe_load(detection_path.read_text(encoding="utf-8")) or {}
    for dotted, value in overrides.items():
        *parents, key = dotted.split(".")
        node = detection
        for parent in parents:
            node = node.setdefault(parent, {})
        node[key] = value
    detection_path.write_text(yaml.safe_dump(detection, sort_keys=False), encoding="utf-8")
    topics_path = target / "topics.yaml"
    topics = yaml.safe_load(topics_path.read_text(encoding="utf-8")) if topics_path.exists() else {}
    topics = topics or {}
    products = dict(topics.get("products") or {})
    products.update({product_name(i): [product_name(i)] for i in range(100)})
    topics["products"] = products
    topics_path.write_text(yaml.safe_dump(topics, sort_keys=False), encoding="utf-8")
    return target


@contextmanager
def live_service(root: Path, env: Mapping[str, str]) -> Iterator[Service]:
    """The embedded service (Tansu, SQLite) on ``root``'s data and config dirs, not started."""
    settings = Settings(
        broker="embedded",
        database_url=SecretStr(f"sqlite:///{root / 'crisismon.db'}"),
        data_dir=root / "data",
        config_dir=root / "config",
        namespace="alertlat",
        pseudonym_key=SecretStr(secrets.token_hex(32)),
    )
    service = Service(
        settings, web_port=pick_web_port(), worker_log=root / "worker.log", extra_env=dict(env)
    )
    try:
        yield service
    finally:
        service.stop()


@dataclass(frozen=True, slots=True)
class SlackPost:
    received: float  # wall clock (epoch seconds) when the request reached the fake Slack
    body: dict[str, Any]

    @property
    def is_alert(self) -> bool:
        """An incident alert (a header block) in the alert channel, not a playbook message."""
        blocks = self.body.get("blocks") or []
        return self.body.get("channel") == SLACK_CHANNEL and any(
            isinstance(b, dict) and b.get("type") == "header" for b in blocks
        )

    @property
    def products(self) -> list[str]:
        return sorted(set(PRODUCT_IN_TEXT.findall(str(self.body.get("text", "")))))

    @property
    def incident_id(self) -> int | None:
        found = _INCIDENT.search(str(self.body.get("text", "")))
        return int(found.group(1)) if found else None


@dataclass
class FakeSlack:
    url: str
    posts: list[SlackPost] = field(default_factory=list)

    def alerts(self) -> list[SlackPost]:
        return [p for p in list(self.posts) if p.is_alert]


@contextmanager
def fake_slack() -> Iterator[FakeSlack]:
    """Slack's ``chat.postMessage`` and ``chat.update`` on loopback, in a thread."""
    box: list[FakeSlack] = []

    def routes(app: web.Application, recorded: Recorded) -> None:
        async def post_message(request: web.Request) -> web.Response:
            received = time.time()
            if request.content_type == "application/json":
                body = dict(await request.json())
            else:
                body = dict(await request.post())
                if isinstance(body.get("blocks"), str):
                    body["blocks"] = json.loads(body["blocks"])
            box[0].posts.append(SlackPost(received, body))
            return web.json_response(
                {"ok": True, "channel": body.get("channel"), "ts": f"{received:.6f}"}
            )

        async def update_message(request: web.Request) -> web.Response:
            return web.json_response({"ok": True, "ts": "0"})

        app.router.add_post("/api/chat.postMessage", post_message)
        app.router.add_post("/api/chat.update", update_message)

    with serve(routes) as (base_url, _recorded):
        box.append(FakeSlack(url=f"{base_url}/api/"))
        yield box[0]
