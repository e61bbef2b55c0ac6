"""A fresh install pseudonymises without being told a key; several machines must be told one."""

from __future__ import annotations

import logging
import os
import stat
import subprocess
import sys
import threading
from pathlib import Path

import pytest
from pydantic import SecretStr

from monitor.privacy import Privacy, PseudonymKeyError, install_key
from monitor.settings import Settings
from tests.conftest import REPO

GENERATED = "generated a pseudonym key at"


def one_machine(data_dir: Path, **more: object) -> Settings:
    return Settings(data_dir=data_dir, broker="embedded", database_url=None, **more)  # type: ignore[arg-type]


def test_a_fresh_install_makes_its_key_once_and_keeps_using_it(tmp_path, caplog):
    data_dir = tmp_path / "data"
    with caplog.at_level(logging.WARNING, logger="monitor.privacy"):
        first = one_machine(data_dir).privacy
        again = one_machine(data_dir).privacy

    assert first.can_pseudonymise
    ana = first.pseudonymiser.pseudonym("author", "ana@example.com")
    assert again.pseudonymiser.pseudonym("author", "ana@example.com") == ana
    key_file = data_dir / "pseudonym.key"
    assert stat.S_IMODE(key_file.stat().st_mode) == 0o600
    said = [r.getMessage() for r in caplog.records if GENERATED in r.getMessage()]
    assert said == [f"{GENERATED} {key_file}; back it up: losing it changes every pseudonym"], (
        "said once, naming the file"
    )
    assert key_file.read_text().strip() not in caplog.text, "the key itself is never logged"
    assert [p.name for p in data_dir.iterdir()] == ["pseudonym.key"], "no temporary file left"


def test_the_environment_variable_wins_and_no_file_is_made(tmp_path):
    key = "from-the-environment-0123456789"
    settings = one_machine(tmp_path, pseudonym_key=SecretStr(key))

    mine = settings.privacy.pseudonymiser.pseudonym("author", "ana")
    assert mine == Privacy.from_key(key).pseudonymiser.pseudonym("author", "ana")
    assert not (tmp_path / "pseudonym.key").exists()


def test_processes_starting_together_agree_on_one_key(tmp_path):
    path = tmp_path / "data" / "pseudonym.key"
    start = threading.Barrier(8)
    keys: list[str] = []

    def start_up() -> None:
        start.wait()
        keys.append(install_key(path))

    racers = [threading.Thread(target=start_up) for _ in range(8)]
    for racer in racers:
        racer.start()
    for racer in racers:
        racer.join()

    assert len(keys) == 8 and len(set(keys)) == 1
    assert path.read_text().strip() == keys[0]
    assert [p.name for p in path.parent.iterdir()] == ["pseudonym.key"]


def test_a_damaged_key_file_is_one_line_not_a_new_key(tmp_path):
    (tmp_path / "pseudonym.key").write_text("\n")

    with pytest.raises(PseudonymKeyError, match="holds no usable key: restore it from your backup"):
        _ = one_machine(tmp_path).privacy
    assert (tmp_path / "pseudonym.key").read_text() == "\n", "never silently replaced"


@pytest.mark.parametrize(
    "where",
    [
        {"broker": "kafka://127.0.0.1:9092"},
        {"database_url": "postgresql://postgres@127.0.0.1:5432/crisismon"},
    ],
)
def test_several_machines_need_a_shared_key(tmp_path, where):
    settings = Settings(data_dir=tmp_path, **where)  # type: ignore[arg-type]

    assert not settings.privacy.can_pseudonymise, "no per-machine key when distributed"
    with pytest.raises(PseudonymKeyError, match="set it everywhere"):
        settings.require_pseudonym_key()
    assert not (tmp_path / "pseudonym.key").exists()


def _crisismon(*args: str, env: dict[str, str]) -> subprocess.CompletedProcess[str]:
    clean = {k: v for k, v in os.environ.items() if not k.startswith("CRISISMON_")}
    return subprocess.run(
        [sys.executable, "-m", "monitor", *args],
        env={**clean, "CRISISMON_CONFIG_DIR": str(REPO / "config"), **env},
        capture_output=True,
        text=True,
        timeout=60,
        cwd=REPO,
    )


@pytest.mark.parametrize(
    ("command", "where"),
    [
        ("worker", {"CRISISMON_BROKER": "kafka://127.0.0.1:9"}),
        ("run", {"CRISISMON_DATABASE_URL": "postgresql://postgres@127.0.0.1:5432/nowhere"}),
    ],
)
def test_a_distributed_start_without_the_key_fails_with_one_line(tmp_path, command, where):
    earlier = tmp_path / "pseudonym.key"
    earlier.write_text("a-key-this-machine-made-before-0123\n")
    earlier.chmod(0o600)

    result = _crisismon(command, env={"CRISISMON_DATA_DIR": str(tmp_path), **where})

    assert result.returncode == 1
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1, result.stderr
    assert lines[0].startswith("crisismon: error: CRISISMON_PSEUDONYM_KEY is not set")
    assert f"use the key in {earlier}" in lines[0], "it says where the old pseudonyms' key is"
    assert "a-key-this-machine-made" not in result.stderr
