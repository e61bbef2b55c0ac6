"""`crisismon run` and `crisismon worker`."""

from __future__ import annotations

import logging
import os
import signal
import sys
from collections.abc import Callable

import typer
from rich.markup import escape

from monitor.settings import Settings, get_settings
from monitor.shell.cli.common import settings, status

VERBOSE = typer.Option(False, "--verbose", "-v", help="also show Faust's and aiokafka's INFO lines")


def run(verbose: bool = VERBOSE) -> None:
    """Start broker, database, worker and web server as one process tree; Ctrl-C stops all.

    The broker is the embedded Tansu unless CRISISMON_BROKER points at Kafka. Feed it by
    POSTing to http://127.0.0.1:$CRISISMON_WEB_PORT/api/mentions, or with
    `crisismon replay FILE` from another terminal.
    """
    from monitor.shell.service import EXIT_BROKER_LOST, Service

    current = checked_settings(verbose)
    say = _say(current)
    current.require_pseudonym_key()  # made now on first start, so its log line shows here
    service = Service(current)
    # SIGTERM (docker stop, systemd) takes the same orderly path as Ctrl-C. SIGINT is set
    # too: Python leaves it ignored when it was ignored at start, as it is for anything a
    # script starts with `&`, and then Ctrl-C or `kill -INT` would do nothing at all.
    signal.signal(signal.SIGTERM, _interrupt)
    signal.signal(signal.SIGINT, _interrupt)
    try:
        service.start(on_step=lambda msg: say(f"✓ {msg}"))
        first_admin_hint(current, say)
        say(
            f"crisismon is running. The web app is at {service.web_url}/ (sign in there); "
            f"POST mentions to {service.web_url}/api/mentions with a token; Ctrl-C to stop."
        )
        code = service.wait(on_step=say)
        if code == EXIT_BROKER_LOST:
            raise SystemExit(code)  # `wait` said why in one line
        if code:
            say(f"worker exited with code {code}", level=logging.ERROR)
            raise SystemExit(code)
    except KeyboardInterrupt:
        say("stopping…")
    finally:
        service.stop()


def first_admin_hint(current: Settings, say: Callable[..., None]) -> None:
    """On the first start (no users yet): on one machine, make the user ``admin`` and print its
    one-time password on the terminal. Distributed, or with JSON logs (which go to a log
    store, where a password must never be), only say how to make the first admin."""
    from datetime import UTC, datetime

    from monitor.accounts.users import count_users, first_admin
    from monitor.storage.db import make_engine

    engine = make_engine(current.resolved_database_url)
    try:
        if current.distributed or current.log_format == "json":
            if count_users(engine) == 0:
                say(
                    "No web users yet: create the first admin with "
                    "`crisismon users add NAME --role admin` (same CRISISMON_DATABASE_URL)."
                )
            return
        password = first_admin(engine, now=datetime.now(UTC))
    finally:
        engine.dispose()
    if password is not None:
        say(
            f"First start: sign in as admin with the one-time password {password} and "
            "change it: `crisismon users reset-password admin`."
        )


def _interrupt(signum: int, frame: object) -> None:
    raise KeyboardInterrupt


def checked_settings(verbose: bool) -> Settings:
    """The settings (``--verbose`` added), once every config file has loaded; otherwise one
    line per problem and exit 1, before anything has started."""
    from monitor.logs import setup_logging
    from monitor.shell.cli import CliError
    from monitor.shell.config_check import config_problems

    if verbose:
        # Through the environment, so the worker `run` starts and its own child processes
        # see it too.
        os.environ["CRISISMON_LOG_VERBOSE"] = "true"
        get_settings.cache_clear()
    current = settings()
    setup_logging(current)
    problems = config_problems(current)
    for problem in problems:
        if current.log_format == "json":
            logging.getLogger("monitor.shell.config_check").error(problem)
        else:
            print(problem, file=sys.stderr)
    if problems:
        raise CliError(f"{len(problems)} problem(s) in {current.config_dir}; nothing was started")
    return current


def _say(current: Settings) -> Callable[..., None]:
    """How `crisismon run` reports its steps: plain lines, or log records in JSON."""
    if current.log_format != "json":

        def to_terminal(message: str, level: int = logging.INFO) -> None:
            # soft_wrap: a long line (a database path) is not cut at 80 columns in a log file.
            if level >= logging.ERROR:
                status.print(f"[red]{escape(message)}[/]", soft_wrap=True)
            elif message.startswith("✓ "):
                status.print(f"[green]✓[/] {escape(message.removeprefix('✓ '))}", soft_wrap=True)
            else:
                status.print(message, markup=False, soft_wrap=True)

        return to_terminal
    log = logging.getLogger("monitor.shell.service")

    def to_log(message: str, level: int = logging.INFO) -> None:
        log.log(level, message.removeprefix("✓ "))

    return to_log


def worker(verbose: bool = VERBOSE) -> None:
    """Run one worker (agents, timers, web server) against the Kafka in CRISISMON_BROKER.

    Start as many as there are partitions to share; each needs its own CRISISMON_WEB_PORT.
    The database schema is migrated first.
    """
    from monitor.shell.worker import run_worker

    current = checked_settings(verbose)
    current.require_pseudonym_key()
    run_worker(current)
