"""The client and the inputs of tests/integration/test_hostile_input.py: a raw HTTP client
(any bytes in the target, the headers, the body), hypothesis strategies of hostile values, and
the worker's environment with every endpoint configured."""

from __future__ import annotations

import hashlib
import hmac
import json
import shutil
import socket
import time
from datetime import datetime
from pathlib import Path
from typing import Any
from urllib.parse import quote, urlencode, urlsplit

from hypothesis import HealthCheck, settings
from hypothesis import strategies as st
from sqlalchemy import Engine, text

from tests.conftest import REPO, service_env, unique_namespace

SECRET = "whsec-hostile-0123456789"
SIGNING = "slack-signing-hostile-0123"
SOURCES = """
sources:
  - {name: zendesk, kind: zendesk}
  - {name: social, kind: social, rate_limit: {per_second: 100000, burst: 100000}}
"""
DEEP = b"[" * 50_000 + b"]" * 50_000
HOSTILE = "a\x00b\ud800c\x1b"
# Derandomized: the same requests every run, so a failure reproduces and the run time is known.
FUZZ = settings(
    max_examples=100,
    derandomize=True,
    deadline=None,
    database=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.function_scoped_fixture],
)
json_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats() | st.text(max_size=30),
    lambda children: (
        st.lists(children, max_size=4) | st.dictionaries(st.text(max_size=12), children, max_size=5)
    ),
    max_leaves=15,
)
FIELDS = [
    "source", "text", "external_id", "event_time", "author", "customer_id", "url", "lang",
    "rating", "tags", "priority", "product", "network", "drill", "attributes", "region",
]  # fmt: skip
# Any character, lone surrogates and NUL included.
hostile_text = st.text(st.characters(exclude_categories=()), max_size=30)
event_times = st.datetimes(
    min_value=datetime(1960, 1, 1), max_value=datetime(2200, 1, 1), timezones=st.timezones()
).map(datetime.isoformat)
# Mostly well-typed mentions with hostile strings (so many are accepted and must be stored),
# sometimes a value of the wrong type.
mention_like = st.fixed_dictionaries(
    {
        "source": st.sampled_from(["fuzz", "Fuzz", "fuzz", "", "x" * 70]),
        "text": hostile_text.map(lambda t: t + " ok"),
    },
    optional={
        "event_time": event_times | json_values,
        **{key: hostile_text for key in FIELDS if key not in ("source", "text", "event_time")},
        "rating": st.integers(0, 6) | json_values,
        "attributes": st.dictionaries(st.from_regex(r"\A[a-z]{1,8}\Z"), hostile_text, max_size=3)
        | json_values,
    },
)
ids = st.text(max_size=8) | st.from_regex(r"\A[0-9]{1,30}\Z") | st.just("²") | st.just("9" * 5000)
header_bytes = st.binary(max_size=40).filter(lambda b: not any(c in b for c in b"\r\n\x00"))


def hostile_env(tansu: str, database_url: str, tmp_path: Path) -> dict[str, str]:
    config = tmp_path / "config"
    config.mkdir()
    shutil.copy(REPO / "config" / "detection.yaml", config / "detection.yaml")
    (config / "sources.yaml").write_text(SOURCES)
    env = service_env(
        broker_url=tansu,
        database_url=database_url,
        data_dir=tmp_path / "data",
        namespace=unique_namespace(),
        slack=None,
    )
    env.update(
        {
            "CRISISMON_CONFIG_DIR": str(config),
            "CRISISMON_SOURCE_ZENDESK_SECRET": SECRET,
            "CRISISMON_SOURCE_SOCIAL_SECRET": SECRET,
            "CRISISMON_API_TOKENS": "ana-token=ana:approver,imp=ivan:importer",
            "CRISISMON_SLACK_SIGNING_SECRET": SIGNING,
            "CRISISMON_SLACK_APPROVERS": "W111",
            "CRISISMON_UNSUBSCRIBE_SECRET": "unsub-secret",
            "CRISISMON_SMS_AUTH_TOKEN": "tok",
        }
    )
    return env


class Raw:
    """HTTP/1.1 over a plain socket: any bytes in the target, the headers and the body."""

    def __init__(self, web_url: str) -> None:
        parts = urlsplit(web_url)
        self.address = (parts.hostname or "127.0.0.1", parts.port or 80)
        self.answers: list[tuple[int, str]] = []

    def __call__(
        self,
        method: str,
        target: str | bytes,
        *,
        body: bytes = b"",
        headers: dict[str, str | bytes] | None = None,
    ) -> tuple[int, bytes]:
        target = target.encode() if isinstance(target, str) else target
        if target.startswith(b"/api/mentions") and "Authorization" not in (headers or {}):
            headers = {**(headers or {}), "Authorization": "Bearer imp"}  # importer: responder
        lines = [method.encode() + b" " + target + b" HTTP/1.1", b"Host: localhost"]
        for name, value in (headers or {}).items():
            lines.append(
                name.encode() + b": " + (value if isinstance(value, bytes) else value.encode())
            )
        lines += [b"Content-Length: " + str(len(body)).encode(), b"Connection: close", b"", b""]
        with socket.create_connection(self.address, timeout=30) as conn:
            conn.sendall(b"\r\n".join(lines) + body)
            received = b""
            while chunk := conn.recv(65536):
                received += chunk
        head, _, payload = received.partition(b"\r\n\r\n")
        status = int(head.split(b" ", 2)[1])
        self.answers.append((status, f"{method} {target[:80]!r}"))
        return status, payload

    def json(self, path: str, value: Any, **headers: str) -> tuple[int, Any]:
        status, payload = self("POST", path, body=json.dumps(value).encode(), headers=headers)
        return status, json.loads(payload) if payload.startswith(b"{") else payload

    def server_errors(self) -> list[tuple[int, str]]:
        return [answer for answer in self.answers if answer[0] >= 500]


def slack_headers(body: bytes, *, timestamp: str | None = None) -> dict[str, str | bytes]:
    stamp = timestamp if timestamp is not None else str(int(time.time()))
    mac = hmac.new(SIGNING.encode(), f"v0:{stamp}:".encode() + body, hashlib.sha256)
    return {
        "Content-Type": "application/x-www-form-urlencoded",
        "X-Slack-Request-Timestamp": stamp,
        "X-Slack-Signature": "v0=" + mac.hexdigest(),
    }


def slack_form(payload: Any) -> bytes:
    return urlencode({"payload": json.dumps(payload)}).encode()


def path_text(value: str) -> str:
    return quote(value.encode("utf-8", "surrogatepass"), safe="")


def refuse(engine: Engine, external_id: str) -> None:
    """Make the worker's database itself refuse one mention (as tests/unit/test_poison.py)."""
    with engine.begin() as conn:
        if engine.dialect.name == "postgresql":
            conn.execute(
                text(
                    "ALTER TABLE mentions ADD CONSTRAINT no_poison "
                    f"CHECK (external_id <> '{external_id}')"
                )
            )
        else:
            conn.execute(
                text(
                    "CREATE TRIGGER no_poison BEFORE INSERT ON mentions "
                    f"WHEN NEW.external_id = '{external_id}' "
                    "BEGIN SELECT RAISE(ABORT, 'poison refused'); END"
                )
            )
