"""The embedded broker: a missing or broken binary is one readable line, not a traceback."""

from __future__ import annotations

import pytest

from monitor.broker import BrokerError, EmbeddedBroker


def test_a_missing_binary_in_calf_tansu_bin_is_one_readable_line(monkeypatch, tmp_path):
    missing = tmp_path / "no-such-tansu"
    monkeypatch.setenv("CALF_TANSU_BIN", str(missing))
    broker = EmbeddedBroker()
    with pytest.raises(BrokerError) as raised:
        broker.start()
    message = str(raised.value)
    assert "\n" not in message
    assert message.startswith("embedded broker binary not found")
    assert str(missing) in message
    assert broker.pid is None


def test_a_binary_that_is_not_executable_is_one_readable_line(tmp_path):
    script = tmp_path / "tansu"
    script.write_text("#!/bin/sh\nexit 0\n")
    script.chmod(0o644)
    with pytest.raises(BrokerError) as raised:
        EmbeddedBroker(binary=str(script)).start()
    assert str(raised.value) == f"cannot run embedded broker {script}: Permission denied"


def test_a_binary_that_exits_at_once_is_reported_with_its_exit_code(tmp_path):
    script = tmp_path / "tansu"
    script.write_text("#!/bin/sh\nexit 3\n")
    script.chmod(0o755)
    log = tmp_path / "broker.log"
    broker = EmbeddedBroker(binary=str(script), log_path=log, start_timeout=5)
    with pytest.raises(BrokerError) as raised:
        broker.start()
    message = str(raised.value)
    assert "\n" not in message
    assert message == f"embedded broker did not start: broker exited with code 3 (see {log})"
    assert broker.pid is None  # nothing left running


def test_the_url_of_a_broker_that_was_never_started_is_an_error():
    with pytest.raises(BrokerError, match="not started"):
        _ = EmbeddedBroker().url
