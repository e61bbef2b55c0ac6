"""The README's shell examples, and the drill and CSV examples of docs/, run as written
on a fresh install: a new data folder, no CRISISMON_* setting but that folder, one `crisismon
run` shared by every example.

Two rewrites only, both listed in REWRITES: the web port (6066 may be taken on a test machine)
and the drill's wait for an alert, which a fresh install cannot give (its drill series must
warm up first), so waiting two minutes would only make the test slow.
"""

from __future__ import annotations

import json
import os
import re
import signal
import subprocess
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest
from sqlalchemy import create_engine, text

from monitor.broker import free_loopback_port
from tests.conftest import REPO, wait_until
from tests.integration.web_login import login

_FENCE = re.compile(r"^```(\w*)\n(.*?)^```", re.DOTALL | re.MULTILINE)
_PORT = free_loopback_port()
REWRITES = {"127.0.0.1:6066": f"127.0.0.1:{_PORT}", "--wait 120": "--wait 1"}


def fenced(path: Path, language: str, *, after: str = "") -> list[str]:
    """The ```language blocks of a Markdown file (those after the line ``after``)."""
    document = path.read_text()
    start = document.index(after) if after else 0
    return [body for lang, body in _FENCE.findall(document[start:]) if lang == language]


def runnable(block: str) -> bool:
    """`make demo` and `make test` set up a checkout and run the whole suite: CI runs them."""
    commands = [line for line in block.splitlines() if line and not line.startswith("#")]
    return not all(line.startswith("make ") for line in commands)


@dataclass
class FreshInstall:
    workdir: Path  # where a newcomer types the examples: a checkout with its .venv
    data_dir: Path
    env: dict[str, str]
    run_log: Path

    def sh(self, block: str) -> subprocess.CompletedProcess[str]:
        for written, used in REWRITES.items():
            block = block.replace(written, used)
        return subprocess.run(
            ["bash", "-e", "-o", "pipefail", "-c", block],
            cwd=self.workdir,
            env=self.env,
            capture_output=True,
            text=True,
            timeout=60,
        )

    def stored(self, query: str) -> list[tuple[object, ...]]:
        engine = create_engine(f"sqlite:///{self.data_dir / 'crisismon.db'}")
        try:
            with engine.connect() as conn:
                return [tuple(row) for row in conn.execute(text(query))]
        finally:
            engine.dispose()


@pytest.fixture(scope="module")
def fresh(tmp_path_factory: pytest.TempPathFactory) -> Iterator[FreshInstall]:
    root = tmp_path_factory.mktemp("fresh")
    workdir = root / "checkout"
    workdir.mkdir()
    (workdir / ".venv").symlink_to(REPO / ".venv")
    env = {k: v for k, v in os.environ.items() if not k.startswith("CRISISMON_")}
    env.update(
        {
            "CRISISMON_DATA_DIR": str(root / "data"),
            "CRISISMON_WEB_PORT": str(_PORT),
            "PATH": f"{REPO / '.venv' / 'bin'}{os.pathsep}{env.get('PATH', '')}",
            "PYTHONUNBUFFERED": "1",
        }
    )
    install = FreshInstall(workdir, root / "data", env, root / "run.log")
    with install.run_log.open("wb") as log:
        proc = subprocess.Popen(
            [str(workdir / ".venv" / "bin" / "crisismon"), "run"],
            cwd=workdir,
            env=env,
            stdout=log,
            stderr=subprocess.STDOUT,
        )
    try:
        wait_until(
            lambda: (
                "crisismon is running" in install.run_log.read_text() or proc.poll() is not None
            ),
            90,
            "crisismon run to be up",
        )
        assert proc.poll() is None, install.run_log.read_text()[-3000:]
        yield install
    finally:
        proc.send_signal(signal.SIGINT)
        try:
            proc.wait(40)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait(10)


def test_the_first_start_makes_a_pseudonym_key_and_says_where(fresh: FreshInstall):
    key_file = fresh.data_dir / "pseudonym.key"
    assert key_file.stat().st_mode & 0o777 == 0o600
    said = fresh.run_log.read_text()
    assert f"generated a pseudonym key at {key_file}; back it up" in said
    assert key_file.read_text().strip() not in said


def test_the_first_start_prints_a_one_time_admin_password_that_signs_in(fresh: FreshInstall):
    said = fresh.run_log.read_text()
    assert f"The web app is at http://127.0.0.1:{_PORT}/" in said
    found = re.search(r"sign in as admin with the one-time password (\S+) and change it", said)
    assert found and said.count(found.group(1)) == 1, said[-2000:]
    assert login(f"http://127.0.0.1:{_PORT}", "admin", found.group(1)).role == "admin"


def test_every_readme_shell_example_runs(fresh: FreshInstall):
    blocks = [b for b in fenced(REPO / "README.md", "sh") if runnable(b)]
    assert blocks, "the README has shell examples to run"
    answers: list[dict[str, object]] = []
    for block in blocks:
        result = fresh.sh(block)
        assert result.returncode == 0, f"{block}\n{result.stdout}\n{result.stderr}"
        assert "rejected" not in result.stderr, f"{block}\n{result.stderr}"
        # curl prints the API's JSON answer on stdout (crisismon prints to stderr).
        answers += [json.loads(line) for line in result.stdout.splitlines() if line[:1] == "{"]
    # The curl example's answer, and the replayed ticket's author kept only as a pseudonym.
    assert [a.get("accepted") for a in answers] == [1], answers

    def tickets() -> list[tuple[object, ...]]:
        return fresh.stored("SELECT external_id, author FROM mentions WHERE external_id = 'T-1002'")

    wait_until(lambda: len(tickets()) == 1, 30, "the replayed ticket to be stored")
    assert all(str(author).startswith("psn:") for _id, author in tickets()), tickets()


def test_the_csv_example_of_docs_sources_replays_with_its_author(fresh: FreshInstall):
    after = "File formats for `crisismon replay`"
    csv = fenced(REPO / "docs" / "sources.md", "csv", after=after)[0]
    (fresh.workdir / "example.csv").write_text(csv)

    result = fresh.sh("crisismon replay example.csv")

    assert result.returncode == 0, result.stderr
    assert "published 1 mentions" in result.stderr, result.stderr
    assert "rejected" not in result.stderr, result.stderr


def test_the_drill_examples_run_on_a_fresh_install(fresh: FreshInstall):
    (block,) = fenced(REPO / "docs" / "drills.md", "sh")

    result = fresh.sh(block)

    assert result.returncode == 0, f"{result.stdout}\n{result.stderr}"
    injected = re.search(r"started: (\d+) drill mentions injected", result.stderr)
    assert injected and int(injected.group(1)) > 200, result.stderr
    assert "dead-lettered" not in result.stderr
    assert "inject" in result.stdout and "detect" in result.stdout, "the report's steps"
