"""Repeated warnings and errors logged once per interval, with a count.

A broker that went away makes aiokafka, Faust and every waiting request log the same complaint
over and over (about 130 ERROR lines a second were seen), which buries the one line that says
what happened. `RepeatFilter` sits on the worker's log handlers: the first record of a kind
(logger, level and message template, so the same error about another node or partition is the
same kind) goes through; the next ones within ``interval`` seconds are counted, and the first
one after the interval carries the count.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable
from dataclasses import dataclass

DEFAULT_INTERVAL = 10.0


@dataclass(slots=True)
class _Kind:
    since: float
    suppressed: int = 0


class RepeatFilter(logging.Filter):
    """Let one record of each kind through per ``interval``; count and report the rest.

    >>> clock = iter([0.0, 1.0, 2.0, 12.0]).__next__
    >>> limit = RepeatFilter(interval=10.0, clock=clock)
    >>> def rec(msg):
    ...     return logging.LogRecord("x", logging.ERROR, __file__, 1, msg, ("node 1",), None)
    >>> [limit.filter(rec("cannot reach %s")) for _ in range(3)]
    [True, False, False]
    >>> last = rec("cannot reach %s")
    >>> limit.filter(last), last.getMessage()
    (True, 'cannot reach node 1 (2 more like it in the last 12s)')
    """

    def __init__(
        self,
        interval: float = DEFAULT_INTERVAL,
        *,
        level: int = logging.WARNING,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        super().__init__()
        self.interval = interval
        self.level = level
        self.clock = clock
        self._kinds: dict[tuple[str, int, str], _Kind] = {}

    def filter(self, record: logging.LogRecord) -> bool:
        if record.levelno < self.level:
            return True
        key = (record.name, record.levelno, str(record.msg))
        now = self.clock()
        kind = self._kinds.get(key)
        if kind is not None and now - kind.since < self.interval:
            kind.suppressed += 1
            return False
        if kind is not None and kind.suppressed:
            record.msg = (
                f"{record.msg} ({kind.suppressed} more like it in the last {now - kind.since:.0f}s)"
            )
        if len(self._kinds) > 1000:  # messages without a template must not grow this forever
            self._kinds.clear()
        self._kinds[key] = _Kind(since=now)
        return True


def limit_repeats(logger: logging.Logger, interval: float = DEFAULT_INTERVAL) -> None:
    """Put one shared `RepeatFilter` on each of ``logger``'s handlers (the root logger's catch
    what every library logs)."""
    limit = RepeatFilter(interval)
    for handler in logger.handlers:
        if not any(isinstance(f, RepeatFilter) for f in handler.filters):
            handler.addFilter(limit)
