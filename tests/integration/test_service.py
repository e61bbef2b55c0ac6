"""The one-command service: process tree, orderly stop, no orphans, the demo, CLI errors."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import urllib.request
from pathlib import Path

from monitor.broker import free_loopback_port
from tests.conftest import REPO, wait_until


def children_of(pid: int) -> list[int]:
    found = []
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            stat = (entry / "stat").read_text()
        except OSError:
            continue
        # The command name may contain spaces; the parent pid is the 2nd field after it.
        if int(stat.rsplit(")", 1)[1].split()[1]) == pid:
            found.append(int(entry.name))
    return found


def alive(pid: int) -> bool:
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return False
    return stat.rsplit(")", 1)[1].split()[0] != "Z"


def cli_env(tmp_path: Path) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("CRISISMON_")}
    env.update(
        {
            "CRISISMON_DATA_DIR": str(tmp_path / "data"),
            "CRISISMON_WEB_PORT": str(free_loopback_port()),
            "CRISISMON_CONFIG_DIR": str(REPO / "config"),
        }
    )
    return env


def _answers_200(url: str) -> bool:
    try:
        with urllib.request.urlopen(url, timeout=2) as response:
            return bool(response.status == 200)
    except OSError:
        return False


def start_run(
    tmp_path: Path, *, ignore_sigint: bool = False, **extra_env: str
) -> tuple[subprocess.Popen[bytes], list[int]]:
    """`crisismon run`, its stdout and stderr in tmp_path/run.log."""
    env = cli_env(tmp_path) | extra_env
    with (tmp_path / "run.log").open("wb") as output:
        proc = subprocess.Popen(
            [sys.executable, "-m", "monitor", "run"],
            env=env,
            cwd=REPO,
            stdout=output,
            stderr=subprocess.STDOUT,
            # As a non-interactive shell starts `cmd &`: SIGINT ignored, inherited through exec.
            preexec_fn=(lambda: signal.signal(signal.SIGINT, signal.SIG_IGN))
            if ignore_sigint
            else None,
        )
    ready = f"http://127.0.0.1:{env['CRISISMON_WEB_PORT']}/readyz"
    wait_until(lambda: _answers_200(ready) or proc.poll() is not None, 60, "/readyz to say ready")
    assert proc.poll() is None, "crisismon run exited early"
    # Whatever `replay` needs is in place by the time /readyz says ready (no race at start).
    runtime = tmp_path / "data" / "runtime.json"
    info = json.loads(runtime.read_text())
    assert info["broker_url"].startswith("kafka://127.0.0.1:")
    children = children_of(proc.pid)
    assert len(children) == 2, f"expected broker and worker, got {children}"
    # /readyz can answer before `run` itself has seen it and printed its line; a Ctrl-C sent
    # before then would stop it before it ever said it was running.
    log = tmp_path / "run.log"
    wait_until(lambda: "crisismon is running" in log.read_text(errors="replace"), 30, "the line")
    return proc, children


def test_replay_works_the_moment_readyz_says_ready(tmp_path: Path):
    proc, _children = start_run(tmp_path)
    try:
        mentions = tmp_path / "mentions.jsonl"
        mentions.write_text(
            json.dumps(
                {
                    "text": "the app is down again",
                    "source": "social",
                    "event_time": "2026-12-06T09:00:00Z",
                }
            )
            + "\n"
        )
        replay = subprocess.run(
            [sys.executable, "-m", "monitor", "replay", str(mentions)],
            env=cli_env(tmp_path),  # the same data dir: runtime.json names the broker
            cwd=REPO,
            capture_output=True,
            text=True,
            timeout=60,
        )
        assert replay.returncode == 0, replay.stderr
        assert "no embedded broker" not in replay.stderr
    finally:
        proc.send_signal(signal.SIGINT)
        proc.wait(60)


def test_ctrl_c_stops_worker_and_broker(tmp_path: Path):
    proc, children = start_run(tmp_path)
    proc.send_signal(signal.SIGINT)
    assert proc.wait(60) == 0
    wait_until(lambda: not any(alive(pid) for pid in children), 10, "children to exit")
    assert not (tmp_path / "data" / "runtime.json").exists()
    # Quiet by default: our steps up to the URL line, none of Faust's ~40 INFO lines.
    lines = (tmp_path / "run.log").read_text().splitlines()
    running = next(i for i, line in enumerate(lines) if "crisismon is running" in line)
    assert "POST mentions to http://127.0.0.1:" in lines[running]
    before = lines[:running]
    assert any(line.startswith("✓ broker (Tansu, in memory) ready at kafka://") for line in before)
    assert any(line.startswith("✓ worker ready, web at http://127.0.0.1:") for line in before)
    # Those two, and the lines about the pseudonym key and the web admin made on first start.
    assert any(line.startswith("First start: sign in as admin with") for line in before)
    assert len(before) == 4, before
    assert not [line for line in lines if "[INFO]" in line or "Traceback" in line], lines


def test_sigint_stops_it_when_started_in_the_background(tmp_path: Path):
    """A script's `crisismon run &` inherits SIGINT ignored; `kill -INT` must still stop it.
    (Started with JSON logs: every line it writes, from every process, is a JSON object.)"""
    proc, children = start_run(tmp_path, ignore_sigint=True, CRISISMON_LOG_FORMAT="json")
    proc.send_signal(signal.SIGINT)
    assert proc.wait(60) == 0
    wait_until(lambda: not any(alive(pid) for pid in children), 10, "children to exit")
    entries = [json.loads(line) for line in (tmp_path / "run.log").read_text().splitlines()]
    assert all({"time", "level", "logger", "message"} <= set(entry) for entry in entries)
    said = [entry["message"] for entry in entries]
    assert any(message.startswith("crisismon is running. The web app is at") for message in said)
    # JSON lines go to a log store: no password there, only how to make the first admin.
    assert any(message.startswith("No web users yet: create the first admin") for message in said)
    assert "stopping…" in said


def test_sigkill_of_the_parent_leaves_no_orphan_broker(tmp_path: Path):
    proc, children = start_run(tmp_path)
    proc.kill()
    proc.wait(10)
    wait_until(
        lambda: not any(alive(pid) for pid in children),
        10,
        "broker and worker to die with their parent",
    )


def test_demo_prints_the_alert_and_exits_zero(tmp_path: Path):
    result = subprocess.run(
        [sys.executable, "-m", "monitor", "demo"],
        env=cli_env(tmp_path),
        cwd=REPO,
        capture_output=True,
        text=True,
        timeout=180,
    )
    assert result.returncode == 0, result.stderr[-3000:]
    assert "spike" in result.stdout and "global" in result.stdout
    assert "expected" in result.stdout and "Example mentions" in result.stdout
    assert "alert fired" in result.stderr
    # The outage it played, not whatever ordinary traffic paged first.
    assert "outage" in result.stdout.lower()


def run_cli(args: list[str], env: dict[str, str]) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "monitor", *args],
        env=env,
        cwd=REPO,
        capture_output=True,
        text=True,
        timeout=60,
    )


def test_cli_failures_are_one_readable_line(tmp_path: Path):
    env = cli_env(tmp_path)

    result = run_cli(
        ["replay", str(tmp_path / "nope.jsonl")], {**env, "CRISISMON_BROKER": "kafka://127.0.0.1:9"}
    )
    assert result.returncode == 1
    assert result.stderr.strip().splitlines() == [
        f"crisismon: error: {tmp_path / 'nope.jsonl'}: no such file"
    ]

    # A readable file (replay checks the file first) and no `crisismon run` for it to find.
    readable = tmp_path / "x.jsonl"
    readable.write_text(
        '{"text": "hi", "source": "social", "event_time": "2026-12-01T10:00:00Z"}\n'
    )
    result = run_cli(["replay", str(readable)], env)
    assert result.returncode == 1
    assert "no embedded broker is running" in result.stderr
    assert len(result.stderr.strip().splitlines()) == 1

    result = run_cli(["incidents"], {**env, "CRISISMON_BROKER": "rabbit://x"})
    assert result.returncode == 1
    assert result.stderr.strip().startswith("crisismon: error: invalid setting CRISISMON_BROKER")

    result = run_cli(["worker"], env)
    assert result.returncode == 1
    assert "use `crisismon run`" in result.stderr

    result = run_cli(
        ["incidents"], {**env, "CRISISMON_DATABASE_URL": "postgresql://nobody@127.0.0.1:1/x"}
    )
    assert result.returncode == 1
    assert result.stderr.startswith("crisismon: error: database") and "unreachable" in result.stderr
    assert len(result.stderr.strip().splitlines()) == 1


def test_every_command_has_help(tmp_path: Path):
    env = cli_env(tmp_path)
    for command in (
        ["--help"],
        ["run", "--help"],
        ["worker", "--help"],
        ["demo", "--help"],
        ["replay", "--help"],
        ["incidents", "--help"],
        ["incidents", "ack", "--help"],
        ["db", "--help"],
        ["db", "upgrade", "--help"],
        ["db", "current", "--help"],
    ):
        result = run_cli(command, env)
        assert result.returncode == 0, (command, result.stderr)
        assert "Usage" in result.stdout


def test_db_upgrade_then_incidents_on_an_empty_database(tmp_path: Path):
    env = cli_env(tmp_path)
    first = run_cli(["db", "upgrade"], env)
    assert first.returncode == 0 and "upgraded from empty" in first.stderr
    again = run_cli(["db", "upgrade"], env)
    assert again.returncode == 0 and "already at revision" in again.stderr
    listing = run_cli(["incidents"], env)
    assert listing.returncode == 0 and "no incidents yet" in listing.stdout


def test_a_worker_told_to_stop_while_its_broker_is_gone_still_exits(start_worker, tmp_path: Path):
    from monitor.broker import EmbeddedBroker
    from tests.conftest import service_env, unique_namespace

    broker = EmbeddedBroker()
    url = broker.start()
    try:
        worker = start_worker(
            service_env(
                broker_url=url,
                database_url=f"sqlite:///{tmp_path / 'w.db'}",
                data_dir=tmp_path / "data",
                namespace=unique_namespace(),
                slack=None,
            )
        )
    finally:
        broker.stop()
    worker.proc.send_signal(signal.SIGTERM)
    # Bounded by the app's shutdown deadline (20 s), not minutes of reconnect attempts.
    assert worker.proc.wait(40) is not None
