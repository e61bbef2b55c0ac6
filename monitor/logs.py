"""How every crisismon process logs: our lines readable, the libraries' chatter kept down.

Faust, mode and aiokafka log some 40 INFO lines while a worker starts ("[^--Producer]:
Starting..."), which bury the one line a person is waiting for. Our own loggers log at
``CRISISMON_LOG_LEVEL``; the libraries' only from WARNING (aiokafka from ERROR: it repeats
every failed connection attempt) unless ``--verbose`` (``CRISISMON_LOG_VERBOSE``) or the level
is ``debug``. ``CRISISMON_LOG_FORMAT=json`` writes one JSON object per line instead, from the
worker, its detect and scoring processes and `crisismon run` itself.

The JSON formatter is the standard library's ``logging.Formatter`` plus ``json.dumps``, about
twenty lines, so there is no python-json-logger dependency to keep up to date.
"""

from __future__ import annotations

import json
import logging
import logging.config
from datetime import UTC, datetime
from typing import Any

from monitor.settings import Settings

# Top-level packages whose records are ours: they log at CRISISMON_LOG_LEVEL.
OUR_LOGGERS = ("monitor", "streams", "detectors", "playbooks", "bench", "__main__")
# Faust's worker turns what is written to stdout and stderr into records of this logger: a
# print() or a thread's traceback is no library chatter, so it is shown like our own lines.
_REDIRECTED = "mode.redirect"
# Quieter than WARNING by default: aiokafka logs every failed reconnect to a broker that is
# restarting; the worker's own lines and its /readyz say what matters.
_QUIETER = {"aiokafka": logging.ERROR}
TEXT_FORMAT = "[%(asctime)s] [%(process)d] [%(levelname)s] %(name)s: %(message)s"
# What every LogRecord has; anything else on a record came from ``extra=`` and goes in the JSON.
_STANDARD = set(vars(logging.LogRecord("x", 0, "x", 0, "x", None, None))) | {
    "message",
    "asctime",
    "taskName",
}


class ServiceChatter(logging.Filter):
    """Drop the start and stop lines of Faust services ("[^--Producer]: Starting..."), which
    our own services (the app, the consumer, metric views) log under our loggers too."""

    def __init__(self, level: int) -> None:
        super().__init__()
        self.level = level

    def filter(self, record: logging.LogRecord) -> bool:
        return record.levelno >= self.level or not str(record.msg).startswith("[^")


class JsonFormatter(logging.Formatter):
    """One JSON object per record: time, level, logger, message, then any extra fields.

    >>> record = logging.LogRecord("monitor.x", logging.INFO, "f.py", 1, "hi %s", ("bob",), None)
    >>> record.created = 0.0
    >>> record.incident = 7
    >>> json.loads(JsonFormatter().format(record))
    ... # doctest: +NORMALIZE_WHITESPACE
    {'time': '1970-01-01T00:00:00.000Z', 'level': 'INFO', 'logger': 'monitor.x',
     'message': 'hi bob', 'incident': 7}
    """

    def format(self, record: logging.LogRecord) -> str:
        entry: dict[str, Any] = {
            "time": datetime.fromtimestamp(record.created, UTC)
            .isoformat(timespec="milliseconds")
            .replace("+00:00", "Z"),
            "level": record.levelname,
            "logger": record.name,
            "message": record.getMessage(),
        }
        for key, value in vars(record).items():
            if key not in _STANDARD and not key.startswith("_"):
                entry[key] = value
        if record.exc_info:
            entry["exception"] = self.formatException(record.exc_info)
        if record.stack_info:
            entry["stack"] = self.formatStack(record.stack_info)
        return json.dumps(entry, default=str, ensure_ascii=False)


def library_level(settings: Settings) -> int:
    """The level of everyone else's loggers (Faust, mode, aiokafka, aiohttp, SQLAlchemy…)."""
    ours = logging.getLevelName(settings.log_level.upper())
    if settings.log_verbose or ours <= logging.DEBUG:
        return int(ours)
    return max(int(ours), logging.WARNING)


def logging_config(settings: Settings) -> dict[str, Any]:
    """A ``logging.config.dictConfig`` for this process: one handler on stderr."""
    ours = settings.log_level.upper()
    others = library_level(settings)
    formatter: dict[str, Any] = (
        {"()": JsonFormatter}
        if settings.log_format == "json"
        else {"format": TEXT_FORMAT, "datefmt": None}
    )
    loggers: dict[str, Any] = {
        name: {"level": ours, "propagate": True} for name in (*OUR_LOGGERS, _REDIRECTED)
    }
    if not settings.log_verbose and others > logging.DEBUG:
        for name, level in _QUIETER.items():
            loggers[name] = {"level": max(level, others), "propagate": True}
    return {
        "version": 1,
        "disable_existing_loggers": False,
        "formatters": {"crisismon": formatter},
        "filters": {"chatter": {"()": ServiceChatter, "level": others}},
        "handlers": {
            "stderr": {
                "class": "logging.StreamHandler",
                "stream": "ext://sys.__stderr__",
                "formatter": "crisismon",
                "filters": ["chatter"],
            }
        },
        "loggers": loggers,
        "root": {"level": logging.getLevelName(others), "handlers": ["stderr"]},
    }


def setup_logging(settings: Settings) -> None:
    """Configure this process's logging from the settings (the worker, its child processes,
    `crisismon run`)."""
    logging.config.dictConfig(logging_config(settings))
