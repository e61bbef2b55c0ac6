"""What this process counted, for Prometheus: mentions received, records consumed, errors.

These counters live in one process and start at zero with it; Prometheus adds the workers up
(``sum(rate(...))``). What is durably in SQL (mentions stored, dead letters, incidents…) is read
from the database at scrape time instead (``crisismon_cluster_*``, `monitor.shell.metrics_view`),
so it is right however many workers run and whichever process did the work (detection may run
in a child process, whose own counters no scrape would reach).

Everything is registered on `REGISTRY`, ours alone: prometheus-client's global registry would
also collect whatever any library put there, and tests that build apps would clash on it.
"""

from __future__ import annotations

import logging
from typing import Any

from prometheus_client import (
    CollectorRegistry,
    Counter,
    ProcessCollector,
    disable_created_metrics,
)

# A `*_created` gauge beside every counter doubles the series for nothing Prometheus uses.
disable_created_metrics()
REGISTRY = CollectorRegistry(auto_describe=True)
# process_resident_memory_bytes, process_cpu_seconds_total, open files: a worker's footprint.
ProcessCollector(registry=REGISTRY)

MENTIONS_RECEIVED = Counter(
    "crisismon_mentions_received",
    "Mentions this process accepted from outside and published to the broker: via api "
    "(POST /api/mentions), webhook or poll; source is the configured source name ('' for api).",
    ["via", "source"],
    registry=REGISTRY,
)
RECORDS_CONSUMED = Counter(
    "crisismon_records_consumed",
    "Records this process's Faust consumer read, by topic.",
    ["topic"],
    registry=REGISTRY,
)
ERRORS = Counter(
    "crisismon_errors",
    "Errors in this process, by kind: database_unavailable (a statement failed on an outage and "
    "is retried), broker_unacknowledged and intake_backlogged (an intake request answered 503), "
    "error_logged (every ERROR or CRITICAL log line, repeats included).",
    ["kind"],
    registry=REGISTRY,
)
ERROR_KINDS = (
    "database_unavailable",
    "broker_unacknowledged",
    "intake_backlogged",
    "error_logged",
)
for _kind in ERROR_KINDS:  # present at 0 from the start, so rate() sees the first error
    ERRORS.labels(_kind)
MENTIONS_RECEIVED.labels("api", "")


def count_error(kind: str) -> None:
    """One more error of ``kind`` (one of `ERROR_KINDS`)."""
    ERRORS.labels(kind).inc()


class ErrorLogCounter(logging.Filter):
    """Counts ERROR and worse records as ``error_logged``; lets every record through.

    Put it on a handler before `monitor.log_limits.RepeatFilter`, so that the repeats that
    filter folds into one line are still counted.

    >>> def logged() -> float:
    ...     return REGISTRY.get_sample_value("crisismon_errors_total", {"kind": "error_logged"})
    >>> before = logged()
    >>> record = logging.LogRecord("x", logging.ERROR, __file__, 1, "boom", (), None)
    >>> ErrorLogCounter().filter(record), logged() - before
    (True, 1.0)
    """

    def filter(self, record: logging.LogRecord) -> bool:
        if record.levelno >= logging.ERROR:
            ERRORS.labels("error_logged").inc()
        return True


def count_logged_errors(logger: logging.Logger) -> None:
    """Put one `ErrorLogCounter` first on ``logger``'s first handler (one count per record)."""
    if not logger.handlers:
        return
    handler: Any = logger.handlers[0]
    if not any(isinstance(f, ErrorLogCounter) for f in handler.filters):
        handler.filters.insert(0, ErrorLogCounter())
