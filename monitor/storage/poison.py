"""A record the database refuses must not stop its partition.

Ingest stores a batch in one transaction, so one refused row (a value too long for its
column, a constraint, a character the driver cannot send) rolls back the whole batch; the
agent would then crash on the same batch at every redelivery. `store_surviving` retries the
batch in halves until the refused items are alone, stores everything else, and hands back
the refused ones with the database's reason, for the dead letters.

Only errors about the data count as a refusal. A database that is down or unreachable
(`OperationalError`, `InterfaceError`) is raised as before: nothing is dead-lettered for it,
and the batch is processed again once the database is back.

>>> def store(items):
...     if "bad" in items:
...         raise ValueError("refused")
...     return list(items)
>>> stored, refused = store_surviving(["a", "bad", "b", "c"], store)
>>> stored, [(item, reason) for item, reason in refused]
([['a'], ['b', 'c']], [('bad', 'ValueError: refused')])
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import TypeVar

from sqlalchemy.exc import DataError, DBAPIError, IntegrityError, StatementError

Item = TypeVar("Item")
Result = TypeVar("Result")

MAX_REASON_CHARS = 500


def refused(exc: BaseException) -> bool:
    """Whether ``exc`` says the database (or its driver) refused the data itself."""
    if isinstance(exc, DataError | IntegrityError):
        return True
    if isinstance(exc, DBAPIError):
        return False  # connection lost, server down, locked: not the record's fault
    return isinstance(exc, StatementError | ValueError | TypeError)


def reason_of(exc: BaseException) -> str:
    """The database's reason, on one line and short enough for a dead letter."""
    cause = exc.orig if isinstance(exc, StatementError) and exc.orig is not None else exc
    text = " ".join(str(cause).split()) or type(cause).__name__
    return f"{type(cause).__name__}: {text}"[:MAX_REASON_CHARS]


def store_surviving(
    items: Sequence[Item], store: Callable[[Sequence[Item]], Result]
) -> tuple[list[Result], list[tuple[Item, str]]]:
    """``store(items)``, or, if the database refuses it, each half again, down to the single
    items it refuses. Returns the results of the stores that succeeded and the refused items
    with the reason. A batch with k refused items costs about 2·k·log2(n) extra stores.
    """
    try:
        return [store(items)], []
    except Exception as exc:
        if not refused(exc):
            raise
        if len(items) <= 1:
            return [], [(item, reason_of(exc)) for item in items]
    middle = len(items) // 2
    stored, rejected = store_surviving(items[:middle], store)
    more_stored, more_rejected = store_surviving(items[middle:], store)
    return stored + more_stored, rejected + more_rejected
