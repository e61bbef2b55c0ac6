"""A broken config file stops `crisismon run` and `worker` before anything starts, one
`file:line: message` per problem; a malformed CRISISMON_API_TOKENS too."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
from pydantic import ValidationError

from monitor.settings import API_ROLES, Settings
from monitor.shell.config_check import config_problems

ROLES = ", ".join(API_ROLES)
SHIPPED = Path(__file__).resolve().parents[2] / "config"


@pytest.fixture
def config_dir(tmp_path: Path) -> Path:
    folder = tmp_path / "config"
    shutil.copytree(SHIPPED, folder)
    return folder


def _break(path: Path, old: str, new: str) -> None:
    text = path.read_text(encoding="utf-8")
    assert old in text
    path.write_text(text.replace(old, new, 1), encoding="utf-8")


def _line_of(path: Path, words: str) -> int:
    return next(n for n, line in enumerate(path.read_text().splitlines(), start=1) if words in line)


def _problems(config_dir: Path, tmp_path: Path) -> list[str]:
    return config_problems(Settings(config_dir=config_dir, data_dir=tmp_path / "data"))


def test_the_shipped_config_has_no_problems(config_dir, tmp_path):
    assert _problems(config_dir, tmp_path) == []


def test_an_unclosed_quote_is_reported_where_it_opened(config_dir, tmp_path):
    path = config_dir / "playbooks" / "billing-error.yaml"
    subject = 'subject: "{{ vars.company }}: a billing error, and how we are putting it right'
    _break(path, subject + '"', subject)

    assert _problems(config_dir, tmp_path) == [
        f"{path}:{_line_of(path, subject)}: not valid YAML: the quote opened here is not closed "
        f"on its line, so the value runs on to line {_line_of(path, 'href=')} "
        "(expected <block end>, but found '{')"
    ]


@pytest.mark.parametrize(
    ("file", "old", "new", "line_words", "message"),
    [
        (
            "playbooks/service-outage.yaml",
            "default_locale: en",
            "default_locale: en\nbogus_key: 1",
            "bogus_key",
            "bogus_key: Extra inputs are not permitted",
        ),
        ("segments.yaml", "new_days: 30", "new_days: soon", "new_days", "valid integer"),
        ("detection.yaml", "window_seconds: 60", "window_seconds: soon", "window_seconds", "int"),
        ("sentiment.yaml", "daily_cap: 20", "daily_cap: lots", "daily_cap", "queue.daily_cap"),
        ("fairness.yaml", "min_group_size: 10", "min_group_size: 1", "min_group_size", "2"),
        ("topics.yaml", "  billing:", "  Billing Team:", "Billing Team", "Billing Team"),
        (
            "sources.yaml",
            "sources: []",
            "sources:\n  - name: shop\n    kind: feed\n    url: ftp://x",
            "url: ftp",
            "sources[0] (shop).url: must be an http:// or https:// URL",
        ),
    ],
)
def test_each_config_kind_names_file_and_line(
    config_dir, tmp_path, file, old, new, line_words, message
):
    path = config_dir / file
    _break(path, old, new)

    [problem] = _problems(config_dir, tmp_path)

    assert problem.startswith(f"{path}:{_line_of(path, line_words)}: ")
    assert message in problem


def _latin1_comment(path: Path) -> None:
    """A comment saved in Latin-1, as an editor with the wrong encoding would: byte 0xff at 5."""
    path.write_bytes(b"# caf\xff\n" + path.read_bytes())


@pytest.mark.parametrize(
    "file",
    [
        "detection.yaml",
        "topics.yaml",
        "sending.yaml",
        "retention.yaml",
        "fairness.yaml",
        "segments.yaml",
        "dimensions.yaml",
        "sources.yaml",
        "playbooks/billing-error.yaml",
    ],
)
def test_a_file_that_is_not_utf8_is_one_line(config_dir, tmp_path, file):
    path = config_dir / file
    _latin1_comment(path)

    assert _problems(config_dir, tmp_path) == [f"{path}: not UTF-8 (byte 0xff at position 5)"]


def _crisismon(*args: str, tmp_path: Path, **env: str) -> subprocess.CompletedProcess[str]:
    clean = {k: v for k, v in os.environ.items() if not k.startswith("CRISISMON_")}
    return subprocess.run(
        [sys.executable, "-m", "monitor", *args],
        capture_output=True,
        text=True,
        timeout=120,
        env=clean
        | {
            "CRISISMON_DATA_DIR": str(tmp_path / "data"),
            "CRISISMON_PSEUDONYM_KEY": "k" * 32,  # no key file made, no line about it
            **env,
        },
    )


@pytest.mark.parametrize("command", ["run", "worker"])
def test_run_and_worker_refuse_to_start_with_one_line_per_problem(config_dir, tmp_path, command):
    playbook = config_dir / "playbooks" / "service-outage.yaml"
    _break(playbook, "default_locale: en", "default_locale: en\nbogus_key: 1")
    topics = config_dir / "topics.yaml"
    _break(topics, "  billing:", "  Billing Team:")

    result = _crisismon(command, tmp_path=tmp_path, CRISISMON_CONFIG_DIR=str(config_dir))

    assert result.returncode == 1
    lines = result.stderr.strip().splitlines()
    assert lines[0].startswith(f"{topics}:{_line_of(topics, 'Billing Team')}: ")
    assert lines[1].startswith(f"{playbook}:{_line_of(playbook, 'bogus_key')}: bogus_key: ")
    assert lines[2] == f"crisismon: error: 2 problem(s) in {config_dir}; nothing was started"
    assert len(lines) == 3, result.stderr
    assert not (tmp_path / "data" / "runtime.json").exists()  # no broker, no worker


def test_run_names_a_retention_yaml_that_is_not_utf8_without_a_traceback(config_dir, tmp_path):
    _latin1_comment(config_dir / "retention.yaml")

    result = _crisismon("run", tmp_path=tmp_path, CRISISMON_CONFIG_DIR=str(config_dir))

    assert result.returncode == 1
    assert result.stderr.strip().splitlines() == [
        f"{config_dir / 'retention.yaml'}: not UTF-8 (byte 0xff at position 5)",
        f"crisismon: error: 1 problem(s) in {config_dir}; nothing was started",
    ]


def test_a_malformed_api_token_stops_the_start_with_the_expected_format(tmp_path):
    result = _crisismon("run", tmp_path=tmp_path, CRISISMON_API_TOKENS="abc")

    assert result.returncode == 1
    assert result.stderr.strip().splitlines() == [
        "crisismon: error: invalid setting CRISISMON_API_TOKENS: item 1 of 1 is not "
        f"TOKEN=NAME:ROLE; expected 'TOKEN=NAME:ROLE,…' with ROLE one of {ROLES}, "
        "e.g. 's3cret-token=alice:approver'"
    ]


def test_an_unknown_role_is_refused_without_showing_the_token():
    with pytest.raises(ValidationError) as raised:
        Settings(api_tokens="t1-secret=ana:approver,t2-secret=bob:boss")  # type: ignore[arg-type]
    message = raised.value.errors()[0]["msg"]
    assert f"item 2 of 2 has role 'boss'; ROLE must be one of {ROLES}" in message
    assert "secret" not in message


def test_well_formed_tokens_are_parsed_for_the_web_api():
    settings = Settings(api_tokens="t1=ana:approver, t2=bob:importer")  # type: ignore[arg-type]
    assert settings.api_token_roles == {"t1": ("ana", "approver"), "t2": ("bob", "importer")}


def test_a_token_with_base64_padding_is_kept_whole():
    # TOKEN=NAME:ROLE with TOKEN "abc==": the last '=' ends the token (a name never has one)
    settings = Settings(api_tokens="abc===alice:admin,x=y=bob:editor")  # type: ignore[arg-type]
    assert settings.api_token_roles == {"abc==": ("alice", "admin"), "x=y": ("bob", "editor")}
