"""Our log lines shown, Faust's and aiokafka's INFO hidden unless --verbose or debug."""

from __future__ import annotations

import json
import logging

import pytest

from monitor.logs import OUR_LOGGERS, setup_logging
from monitor.settings import Settings

TOUCHED = ("faust.worker", "mode.services", "aiokafka", "monitor.app", *OUR_LOGGERS)


@pytest.fixture(autouse=True)
def restore_logging():
    root = logging.getLogger()
    saved = root.handlers[:], root.level
    levels = {name: logging.getLogger(name).level for name in (*TOUCHED, "mode.redirect")}
    yield
    root.handlers[:], root.level = saved[0], saved[1]
    for name, level in levels.items():
        logging.getLogger(name).setLevel(level)


def _emit(**settings: object) -> list[str]:
    """What reaches the terminal from each logger after setup with ``settings``."""
    setup_logging(Settings(**settings))  # type: ignore[arg-type]
    shown = []
    handler = logging.getLogger().handlers[0]
    for name, level, message in [
        ("monitor.shell.service", logging.INFO, "ours"),
        ("faust.worker", logging.INFO, "faust info"),
        ("faust.worker", logging.WARNING, "faust warning"),
        ("aiokafka", logging.INFO, "aiokafka info"),
        ("monitor.app", logging.INFO, "[^-CrisisApp]: Starting..."),
        ("mode.services", logging.DEBUG, "faust debug"),
    ]:
        record = logging.getLogger(name).makeRecord(name, level, "f", 1, message, (), None)
        if logging.getLogger(name).isEnabledFor(level) and handler.filter(record):
            shown.append(handler.format(record))
    return shown


def test_by_default_our_lines_and_library_warnings_only():
    shown = _emit()
    assert [line.split(": ", 1)[1] for line in shown] == ["ours", "faust warning"]
    assert "[INFO] monitor.shell.service: ours" in shown[0]


def test_verbose_shows_faust_and_aiokafka_info():
    shown = " ".join(_emit(log_verbose=True))
    assert "faust info" in shown and "aiokafka info" in shown and "CrisisApp" in shown
    assert "faust debug" not in shown


def test_debug_shows_everything():
    assert "faust debug" in " ".join(_emit(log_level="debug"))


def test_json_lines_carry_time_level_logger_message():
    first = json.loads(_emit(log_format="json")[0])
    assert first["level"] == "INFO" and first["logger"] == "monitor.shell.service"
    assert first["message"] == "ours" and first["time"].endswith("Z")
