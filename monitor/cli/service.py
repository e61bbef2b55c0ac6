"""`crisismon run` and `crisismon worker`."""

from __future__ import annotations

import signal

from monitor.cli.common import settings, status


def run() -> None:
    """Start everything on this machine: broker (unless CRISISMON_BROKER is Kafka), database,
    worker and web server. Ctrl-C stops it all.

    Mentions can then be posted to http://127.0.0.1:$CRISISMON_WEB_PORT/api/mentions or replayed
    with `crisismon replay FILE` from another terminal.
    """
    from monitor.service import Service

    current = settings()
    service = Service(current)
    # SIGTERM (docker stop, systemd) takes the same orderly path as Ctrl-C.
    signal.signal(signal.SIGTERM, _interrupt)
    try:
        service.start(on_step=lambda msg: status.print(f"[green]✓[/] {msg}"))
        status.print(
            f"crisismon is running. POST mentions to {service.web_url}/api/mentions; "
            "Ctrl-C to stop."
        )
        code = service.wait()
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
    """Run one Faust worker (agents, timers and web server) against CRISISMON_BROKER (Kafka).

    Start as many as there are partitions to share; each needs its own CRISISMON_WEB_PORT.
    The database schema is migrated first.
    """
    from monitor.worker import run_worker

    run_worker(settings())
