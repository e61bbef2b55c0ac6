"""`crisismon demo`: start the service, play the outage scenario, print the alert it fires."""

from __future__ import annotations

import asyncio
import secrets
import sys
import tempfile
import time
import uuid
from datetime import UTC, datetime, timedelta
from pathlib import Path

import typer
from pydantic import SecretStr

from monitor.shell.cli.common import progress_bar, settings, status

# How long --full waits for the outage playbook's drafts after the alert: playbooks are chosen
# once the incident stops growing (up to 15 s), and a busy machine correlates slowly.
DRAFT_WAIT_SECONDS = 60.0


def demo(
    timeout: float = typer.Option(90.0, "--timeout", min=5, help="seconds to wait for the alert"),
    full: bool = typer.Option(
        False,
        "--full",
        help="also run the playbooks: start local SMTP, SMS and webhook receivers, import demo "
        "customers, show the drafts, approve the first step's and print what arrived",
    ),
    keep_running: bool | None = typer.Option(
        None,
        "--keep-running/--no-keep-running",
        help="with --full: keep the web app up afterwards, until Ctrl-C, to open the incident's "
        "page (the default when run from a terminal)",
    ),
) -> None:
    """Play an outage scenario on a fresh embedded service and print the alert it fires.

    Starts broker, worker and web, plays three ordinary hours compressed into seconds and
    then an outage burst, waits for the detector to fire and prints the alert exactly as it
    is posted to Slack (to Slack too, if configured). It uses its own database
    (DATA_DIR/demo.db) and topic namespace, so your real incidents stay clean.
    Exits 0 when the alert arrived, 1 with the reason otherwise.

    With --full it uses a fresh DATA_DIR/demo-full.db and goes on: the service-outage playbook
    drafts messages per segment and locale, the demo approves those of the first step over the
    web API (as user 'demo') and prints what the local receivers got. Quiet hours are off.
    It ends with the incident's page in the web app and the password of the user 'demo'.
    """
    from monitor.settings import EMBEDDED
    from monitor.shell.cli import CliError
    from monitor.shell.service import Service, pick_web_port
    from streams.replay import replay
    from streams.scenario import BURST_MINUTES, CALM_MINUTES, outage_scenario, write_jsonl

    db_file = settings().data_dir / ("demo-full.db" if full else "demo.db")
    current = settings().model_copy(
        update={
            "broker": EMBEDDED,
            "database_url": SecretStr(f"sqlite:///{db_file}"),
            "namespace": "demo",
            "inbox": None,
            # The scenario's authors must be pseudonymised; a throwaway key suits a demo that
            # keeps its own database.
            "pseudonym_key": settings().pseudonym_key or SecretStr(secrets.token_hex(32)),
        }
    )
    log_path = Path(current.data_dir) / "logs" / "demo-worker.log"
    workdir = tempfile.TemporaryDirectory()
    extra = None
    # A fresh database every run: the scenario covers the last three hours, so a second run
    # within them would land in windows the first already closed and scored (and the full
    # demo's sends would hit the frequency cap). What a run leaves stays there to look at.
    for stale in db_file.parent.glob(db_file.name + "*"):
        stale.unlink()
    if full:
        from monitor.shell.cli.demo_full import FullDemo

        extra = FullDemo.prepare(current, Path(workdir.name))
        current = current.model_copy(update=extra.settings_update())
        extra.import_customers(current.resolved_database_url)
    service = Service(
        current,
        web_port=pick_web_port(),
        worker_log=log_path,
        extra_env=extra.env() if extra else None,
    )
    try:
        service.start(on_step=lambda msg: status.print(f"[green]✓[/] {msg}"))
        began = datetime.now(UTC)
        run_id = f"demo-{uuid.uuid4().hex[:8]}"
        items = outage_scenario(end=began, run_id=run_id)
        with tempfile.TemporaryDirectory() as tmp:
            path = write_jsonl(items, Path(tmp) / "outage-scenario.jsonl")
            with progress_bar() as progress:
                task = progress.add_task(
                    "playing 3 hours of mentions, then an outage", total=len(items)
                )
                asyncio.run(
                    replay(
                        path,
                        broker_url=service.broker_url,
                        mentions_topic=current.topic_name("mentions.raw"),
                        dead_letter_topic=current.topic_name("dead-letter"),
                        privacy=current.privacy,
                        on_progress=lambda n: progress.update(task, advance=n),
                    )
                )
        status.print("waiting for the detector to fire…")
        # The outage's incident, not whatever paged first: ordinary traffic can page too (a
        # false alarm), and the demo must show the crisis it played, and say so if it did.
        burst = began - timedelta(minutes=CALM_MINUTES + BURST_MINUTES)
        found = _wait_for_alert(service, since=began, burst=burst, timeout=timeout)
        if found is None:
            raise CliError(
                f"no alert within {timeout:.0f}s of playing the scenario; the worker log is "
                f"{log_path}"
            )
        status.print(
            f"[green]✓[/] alert fired {(datetime.now(UTC) - began).total_seconds():.1f}s"
            " after the scenario started playing:\n"
        )
        alert, false_alarms = found
        print(alert, flush=True)
        if false_alarms:
            # The scenario's ordinary traffic is even by construction: anything it paged is a
            # detector fault a newcomer must not be told is fine.
            raise CliError(
                f"ordinary traffic before the outage also paged {', '.join(false_alarms)}: a "
                f"false alarm; please report it with the worker log {log_path}"
            )
        if extra is not None and extra.run(service.web_url, timeout=DRAFT_WAIT_SECONDS) == 0:
            raise CliError(f"no customer message arrived; the worker log is {log_path}")
        if extra is not None and (sys.stdin.isatty() if keep_running is None else keep_running):
            status.print(f"the web app stays up at {service.web_url}; Ctrl-C stops it")
            _serve_until_interrupted(service)
    finally:
        service.stop()
        if extra is not None:
            extra.stop()
        workdir.cleanup()


def _serve_until_interrupted(service: object) -> None:
    """Keep the service up (to look at the incident's page) until Ctrl-C."""
    from monitor.shell.service import Service

    assert isinstance(service, Service)
    try:
        while service.worker is None or service.worker.poll() is None:
            time.sleep(0.5)
    except KeyboardInterrupt:
        return


def _wait_for_alert(
    service: object, *, since: datetime, burst: datetime, timeout: float
) -> tuple[str, list[str]] | None:
    """The outage's alert, and any incident that ordinary traffic before it paged."""
    from sqlmodel import Session, col, select

    from monitor.shell.service import Service
    from monitor.storage.db import make_engine
    from monitor.storage.models import Incident

    assert isinstance(service, Service)
    engine = make_engine(service.settings.resolved_database_url)
    deadline = time.monotonic() + timeout
    try:
        while time.monotonic() < deadline:
            if service.worker is not None and service.worker.poll() is not None:
                return None
            with Session(engine) as session:
                paged = session.exec(
                    select(Incident)
                    .where(col(Incident.alerted_at) >= since)
                    .order_by(col(Incident.id))
                ).all()
            outage = next(
                (i for i in paged if _utc(i.last_window_end) > burst and i.alert_text), None
            )
            if outage is not None:
                false_alarms = [
                    f"#{other.id} ({other.title})"
                    for other in paged
                    if other.id != outage.id and _utc(other.last_window_end) <= burst
                ]
                text = _settled_alert(engine, outage.id, outage.alert_text or "", deadline)
                return text, false_alarms
            time.sleep(0.25)
        return None
    finally:
        engine.dispose()


# The alert is posted as soon as the incident is severe enough, and edited as it grows: on a
# busy machine the first post can name one slice (topic:billing) before global's windows close.
# The demo shows the alert once it has stopped changing for this long (at most SETTLE_AT_MOST).
SETTLE_SECONDS = 2.0
SETTLE_AT_MOST = 15.0


def _settled_alert(engine: object, incident_id: int | None, text: str, deadline: float) -> str:
    from sqlalchemy import Engine
    from sqlmodel import Session

    from monitor.storage.models import Incident

    assert isinstance(engine, Engine)
    stop = min(deadline, time.monotonic() + SETTLE_AT_MOST)
    still_since = time.monotonic()
    while time.monotonic() < stop and time.monotonic() - still_since < SETTLE_SECONDS:
        time.sleep(0.25)
        with Session(engine) as session:
            incident = session.get(Incident, incident_id)
        now_text = (incident.alert_text if incident else None) or text
        if now_text != text:
            text, still_since = now_text, time.monotonic()
    return text


def _utc(moment: datetime) -> datetime:
    """SQLite hands datetimes back without their zone; they are stored in UTC."""
    return moment if moment.tzinfo is not None else moment.replace(tzinfo=UTC)
