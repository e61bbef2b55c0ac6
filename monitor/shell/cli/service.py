"""`crisismon run` and `crisismon worker`."""

from __future__ import annotations

import signal

from monitor.shell.cli.common import settings, status


def run() -> None:
    """Start broker, database, worker and web server as one process tree; Ctrl-C stops all.

    The broker is the embedded Tansu unless CRISISMON_BROKER points at Kafka. Feed it by
    POSTing to http://127.0.0.1:$CRISISMON_WEB_PORT/api/mentions, or with
    `crisismon replay FILE` from another terminal.
    """
    from monitor.shell.service import EXIT_BROKER_LOST, Service

    current = settings()
    current.require_pseudonym_key()  # made now on first start, so its log line shows here
    service = Service(current)
    # SIGTERM (docker stop, systemd) takes the same orderly path as Ctrl-C. SIGINT is set
    # too: Python leaves it ignored when it was ignored at start, as it is for anything a
    # script starts with `&`, and then Ctrl-C or `kill -INT` would do nothing at all.
    signal.signal(signal.SIGTERM, _interrupt)
    signal.signal(signal.SIGINT, _interrupt)
    try:
        service.start(on_step=lambda msg: status.print(f"[green]✓[/] {msg}"))
        status.print(
            f"crisismon is running. POST mentions to {service.web_url}/api/mentions; "
            "Ctrl-C to stop."
        )
        code = service.wait(on_step=lambda msg: status.print(msg, markup=False))
        if code == EXIT_BROKER_LOST:
            raise SystemExit(code)  # `wait` said why in one line
        if code:
            status.print(f"[red]worker exited with code {code}[/]")
            raise SystemExit(code)
    except KeyboardInterrupt:
        status.print("stopping…")
    finally:
        service.stop()


def _interrupt(signum: int, frame: object) -> None:
    raise KeyboardInterrupt


def worker() -> None:
    """Run one worker (agents, timers, web server) against the Kafka in CRISISMON_BROKER.

    Start as many as there are partitions to share; each needs its own CRISISMON_WEB_PORT.
    The database schema is migrated first.
    """
    from monitor.shell.worker import run_worker

    current = settings()
    current.require_pseudonym_key()
    run_worker(current)
