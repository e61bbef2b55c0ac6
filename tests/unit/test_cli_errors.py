"""A mistyped command gets one readable line, never a box or a traceback."""

from __future__ import annotations

import subprocess
import sys

import pytest


def _crisismon(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "monitor", *args],
        capture_output=True,
        text=True,
        timeout=60,
    )


@pytest.mark.parametrize(
    ("args", "words"),
    [
        (["incidents", "--bogus"], "No such option: --bogus"),
        (["simulate", "--scenario", "outage"], "Missing option '--out'"),
        (["feedback"], "give an INCIDENT and a VERDICT"),
        (["no-such-command"], "No such command"),
    ],
)
def test_a_usage_error_is_one_line_naming_the_help_to_read(args, words):
    result = _crisismon(*args)

    assert result.returncode == 2
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1, result.stderr
    assert lines[0].startswith("crisismon: error: ")
    assert words in lines[0]
    assert "--help" in lines[0]


def test_help_still_exits_zero_and_shows_the_commands():
    result = _crisismon("--help")

    assert result.returncode == 0
    assert "replay" in result.stdout and "backtest" in result.stdout
