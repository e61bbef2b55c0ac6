"""Helpers shared by the CLI commands."""

from __future__ import annotations

from rich.console import Console
from rich.progress import (
    BarColumn,
    MofNCompleteColumn,
    Progress,
    ProgressColumn,
    TimeRemainingColumn,
)
from sqlalchemy import Engine

from monitor.settings import Settings, get_settings
from monitor.storage.db import check_connection, make_engine
from monitor.storage.migrate import upgrade

# Progress and status go to stderr so stdout stays clean for data and alerts.
status = Console(stderr=True, highlight=False)


def settings() -> Settings:
    return get_settings()


def ready_engine(current: Settings) -> Engine:
    """An engine on a reachable database with the schema up to date."""
    engine = make_engine(current.resolved_database_url)
    check_connection(engine)
    upgrade(engine)
    return engine


def resolve_broker_url(current: Settings) -> str:
    """The Kafka URL to publish to: configured, or the running embedded service's."""
    from monitor.shell.cli import CliError
    from monitor.shell.runtime import read_runtime

    if not current.uses_embedded_broker:
        return current.broker
    info = read_runtime(current.runtime_file)
    if info is None:
        raise CliError(
            "no embedded broker is running: start `crisismon run` in another terminal, "
            "or set CRISISMON_BROKER=kafka://host:port"
        )
    return info.broker_url


def progress_bar(*, with_eta: bool = False) -> Progress:
    """The one progress bar style of the CLI, drawn on stderr."""
    columns: list[str | ProgressColumn] = [
        "[progress.description]{task.description}",
        BarColumn(),
        MofNCompleteColumn(),
    ]
    if with_eta:
        columns.append(TimeRemainingColumn())
    return Progress(*columns, console=status)
