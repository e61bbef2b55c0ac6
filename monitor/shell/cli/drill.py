"""`crisismon drill …`: rehearse a crisis on the live service, everything marked as a drill."""

from __future__ import annotations

import asyncio
import tempfile
import time
from datetime import UTC, datetime
from pathlib import Path

import typer
from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress
from rich.table import Table

from monitor.shell.cli.common import ready_engine, resolve_broker_url, settings, status

drill_cli = typer.Typer(
    help="Drills: inject a simulated crisis into the running service and measure the response. "
    "Drill mentions count only in drill: series, their incidents are drill incidents, and "
    "their Slack alerts start with [DRILL].",
    no_args_is_help=True,
)


@drill_cli.command("start")
def start_command(
    scenario: str = typer.Argument(..., help="the crisis to simulate: outage"),
    wait: float = typer.Option(
        0.0, "--wait", min=0, max=3600, help="then wait up to N seconds for the alert and report"
    ),
) -> None:
    """Inject SCENARIO into the running service as a drill.

    The drill series start from a copy of the real series' recent history, so the drill is
    judged against your real baseline without changing it. Run `crisismon drill report`
    afterwards (or pass --wait) for time to detection and to alert.
    """
    from detectors.config import load_detection_config
    from streams.drills import (
        SCENARIOS,
        check_injected,
        drill_items,
        drill_report,
        first_event_time,
        new_drill_id,
        prepare_drill,
        record_injected,
    )
    from streams.replay import replay
    from streams.scenario import write_jsonl

    if scenario not in SCENARIOS:
        raise typer.BadParameter(
            f"unknown scenario; one of: {', '.join(SCENARIOS)}", param_hint="SCENARIO"
        )
    current = settings()
    broker = resolve_broker_url(current)
    engine = ready_engine(current)
    now = datetime.now(UTC)
    drill_id = new_drill_id()
    items = drill_items(scenario, now=now, drill_id=drill_id)
    first = first_event_time(items)
    window_seconds = load_detection_config(current.config_dir / "detection.yaml").window_seconds
    prepared = prepare_drill(
        engine,
        scenario=scenario,
        drill_id=drill_id,
        now=now,
        first_event=first,
        window_seconds=window_seconds,
    )
    if not prepared.copied:
        status.print(
            "[yellow]no real history to compare with yet: the drill series must warm up "
            "before they can alert[/]"
        )
    with tempfile.TemporaryDirectory() as tmp, Progress(
        "[progress.description]{task.description}", BarColumn(), MofNCompleteColumn(),
        console=status,
    ) as progress:  # fmt: skip
        task = progress.add_task(f"drill {drill_id}: injecting {scenario}", total=len(items))
        report = asyncio.run(
            replay(
                write_jsonl(items, Path(tmp) / "drill.jsonl"),
                broker_url=broker,
                mentions_topic=current.topic_name("mentions.raw"),
                dead_letter_topic=current.topic_name("dead-letter"),
                privacy=current.privacy,
                on_progress=lambda n: progress.update(task, advance=n),
            )
        )
    record_injected(engine, drill_id=drill_id, injected=report.published, first=first)
    if (partly := check_injected(report, total=len(items))) is not None:
        status.print(partly, style="yellow", markup=False)
    status.print(f"drill {drill_id} started: {report.published} drill mentions injected")
    if wait:
        deadline = time.monotonic() + wait
        while time.monotonic() < deadline:
            if drill_report(engine, drill_id=drill_id).alerted_at is not None:
                break
            time.sleep(1.0)
        _show(drill_report(engine, drill_id=drill_id))
    else:
        status.print("see how it went with `crisismon drill report`")


@drill_cli.command("report")
def report_command(
    drill_id: str | None = typer.Option(None, "--id", help="a drill id; default: the latest"),
) -> None:
    """Show how the latest drill went: time to detection, time to alert, and each step."""
    from streams.drills import drill_report

    _show(drill_report(ready_engine(settings()), drill_id=drill_id))


def _show(report: object) -> None:
    from streams.drills import DrillReport

    assert isinstance(report, DrillReport)
    console = Console()
    drill = report.drill
    console.print(
        f"drill {drill.id} ({drill.scenario}), started {drill.started_at:%Y-%m-%d %H:%M:%S} UTC"
    )
    table = Table("step", "result")
    for step, result in report.steps():
        table.add_row(step, result)
    console.print(table)
