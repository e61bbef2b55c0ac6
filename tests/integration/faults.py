"""Tools of the fault tests: a client that keeps posting, the service as a user runs it, and a
TCP proxy whose connections the test can cut."""

from __future__ import annotations

import asyncio
import json
import os
import subprocess
import sys
import threading
import time
import urllib.error
import urllib.request
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from monitor.broker import free_loopback_port
from streams.mentions import mention_id
from tests.conftest import INTAKE_HEADERS, INTAKE_TOKENS, REPO, TEST_PSEUDONYM_KEY, wait_until


class Poster(threading.Thread):
    """POSTs ``items`` to ``url`` in batches, as a careful client would: a batch that gets a 503
    or no answer is sent again until it gets its 202. ``accepted`` holds the ids of every mention
    that got one; ``errors`` counts the answers that were not 202."""

    def __init__(
        self, url: str, items: list[dict[str, Any]], *, batch: int = 50, pause: float = 0.05
    ):
        super().__init__(daemon=True)
        self.url, self.items, self.batch, self.pause = url, items, batch, pause
        self.accepted: set[str] = set()
        self.errors: dict[str, int] = {}
        self.failure: str | None = None
        self.halt = threading.Event()

    def run(self) -> None:
        try:
            for start in range(0, len(self.items), self.batch):
                if self.halt.is_set():
                    return
                part = self.items[start : start + self.batch]
                self._post_until_accepted(json.dumps(part).encode())
                self.accepted.update(mention_id(m["source"], m["external_id"]) for m in part)
                time.sleep(self.pause)
        except Exception as exc:  # the test reads it: a thread's exception is otherwise lost
            self.failure = f"{type(exc).__name__}: {exc}"

    def _post_until_accepted(self, body: bytes) -> None:
        deadline = time.monotonic() + 90
        while time.monotonic() < deadline:
            request = urllib.request.Request(
                self.url, data=body, headers={"Content-Type": "application/json", **INTAKE_HEADERS}
            )
            try:
                with urllib.request.urlopen(request, timeout=20) as response:
                    if response.status == 202:
                        return
                    key = f"HTTP {response.status}"
            except urllib.error.HTTPError as exc:
                if exc.code < 500:
                    raise AssertionError(f"HTTP {exc.code}: {exc.read()[:300]!r}") from exc
                key = f"HTTP {exc.code}"
            except OSError as exc:
                key = type(exc).__name__
            self.errors[key] = self.errors.get(key, 0) + 1
            time.sleep(0.5)
        raise AssertionError("a batch was not accepted within 90 s")

    def finish(self, timeout: float) -> set[str]:
        """Let the poster send what it is sending, then stop; the accepted ids."""
        self.halt.set()
        self.join(timeout)
        assert not self.is_alive(), "the poster did not stop"
        assert self.failure is None, self.failure
        return self.accepted


@dataclass
class RunningService:
    """`crisismon run` as a user starts it, its output in ``log_path``."""

    proc: subprocess.Popen[bytes]
    web_url: str
    log_path: Path
    data_dir: Path

    def log(self) -> str:
        return self.log_path.read_text(errors="replace")

    def runtime(self) -> dict[str, Any]:
        return dict(json.loads((self.data_dir / "runtime.json").read_text()))

    def child_pids(self, name: str) -> list[int]:
        """This service's child processes whose command line contains ``name``."""
        found = []
        for entry in Path("/proc").iterdir():
            if not entry.name.isdigit():
                continue
            try:
                stat = (entry / "stat").read_text()
                cmdline = (entry / "cmdline").read_bytes().replace(b"\0", b" ").decode()
            except OSError:
                continue
            if int(stat.rsplit(")", 1)[1].split()[1]) == self.proc.pid and name in cmdline:
                found.append(int(entry.name))
        return found

    def stop(self) -> None:
        if self.proc.poll() is None:
            self.proc.send_signal(2)  # SIGINT: the orderly Ctrl-C path
            try:
                self.proc.wait(40)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait(10)


def start_service(
    tmp_path: Path, *, database_url: str, extra: dict[str, str] | None = None
) -> RunningService:
    data_dir = tmp_path / "data"
    env = {k: v for k, v in os.environ.items() if not k.startswith("CRISISMON_")}
    port = free_loopback_port()
    env.update(
        {
            "CRISISMON_DATA_DIR": str(data_dir),
            "CRISISMON_DATABASE_URL": database_url,
            "CRISISMON_WEB_PORT": str(port),
            "CRISISMON_CONFIG_DIR": str(REPO / "config"),
            "CRISISMON_PSEUDONYM_KEY": TEST_PSEUDONYM_KEY,
            "CRISISMON_BROKER_SESSION_TIMEOUT": "3",
            "CRISISMON_API_TOKENS": INTAKE_TOKENS,
            "PYTHONUNBUFFERED": "1",
            **(extra or {}),
        }
    )
    log_path = tmp_path / "run.log"
    with log_path.open("wb") as log:
        proc = subprocess.Popen(
            [sys.executable, "-m", "monitor", "run"],
            env=env,
            cwd=REPO,
            stdout=log,
            stderr=subprocess.STDOUT,
        )
    service = RunningService(proc, f"http://127.0.0.1:{port}", log_path, data_dir)
    wait_until(
        lambda: "crisismon is running" in service.log() or proc.poll() is not None,
        90,
        "crisismon run to be up",
    )
    assert proc.poll() is None, f"crisismon run exited:\n{service.log()[-3000:]}"
    return service


def get_json(url: str) -> tuple[int, dict[str, Any]]:
    try:
        with urllib.request.urlopen(url, timeout=10) as response:
            return response.status, dict(json.loads(response.read()))
    except urllib.error.HTTPError as exc:
        return exc.code, dict(json.loads(exc.read()))


@dataclass
class TcpProxy:
    """127.0.0.1:``port`` forwarded to ``target``, on its own event loop thread.

    `cut` closes every open connection and refuses new ones (they are accepted and closed at
    once, as a dead network path or a restarting server looks) until it is over.
    """

    target: tuple[str, int]
    port: int = field(default_factory=free_loopback_port)
    _cut_until: float = 0.0
    _writers: set[asyncio.StreamWriter] = field(default_factory=set)

    def __post_init__(self) -> None:
        self._loop = asyncio.new_event_loop()
        ready = threading.Event()

        async def start() -> None:
            self._server = await asyncio.start_server(self._handle, "127.0.0.1", self.port)
            ready.set()

        self._thread = threading.Thread(
            target=lambda: (self._loop.run_until_complete(start()), self._loop.run_forever()),
            daemon=True,
        )
        self._thread.start()
        assert ready.wait(10), "the TCP proxy did not start"

    async def _handle(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        if time.monotonic() < self._cut_until:
            writer.close()
            return
        try:
            up_reader, up_writer = await asyncio.open_connection(*self.target)
        except OSError:
            writer.close()
            return
        self._writers.update((writer, up_writer))

        async def pump(src: asyncio.StreamReader, dst: asyncio.StreamWriter) -> None:
            try:
                while data := await src.read(65536):
                    dst.write(data)
                    await dst.drain()
            except (OSError, asyncio.CancelledError):
                pass
            finally:
                dst.close()

        await asyncio.gather(pump(reader, up_writer), pump(up_reader, writer))
        self._writers.difference_update((writer, up_writer))

    def cut(self, seconds: float) -> None:
        """Drop every connection now and refuse new ones for ``seconds``."""

        def _cut() -> None:
            self._cut_until = time.monotonic() + seconds
            for writer in list(self._writers):
                writer.transport.abort()
            self._writers.clear()

        self._loop.call_soon_threadsafe(_cut)

    def close(self) -> None:
        def _close() -> None:
            self._server.close()
            for writer in list(self._writers):
                writer.transport.abort()
            self._loop.stop()

        self._loop.call_soon_threadsafe(_close)
        self._thread.join(10)
