"""`crisismon incidents`: what fired, newest first; `crisismon incidents ack ID`: take one."""

from __future__ import annotations

import typer
from rich.console import Console
from rich.table import Table

from monitor.shell.cli.common import ready_engine, settings

incidents_cli = typer.Typer(
    help="Incidents: list them (no subcommand), or acknowledge one.",
    invoke_without_command=True,
)


@incidents_cli.callback()
def list_command(
    ctx: typer.Context,
    status_filter: str | None = typer.Option(
        None, "--status", help="only incidents with this status: open or resolved"
    ),
    limit: int = typer.Option(20, "--limit", min=1, max=1000, help="how many to show"),
    show_alert: bool = typer.Option(False, "--alert", help="also print each alert's full text"),
) -> None:
    """List incidents from the database, newest first."""
    from monitor.incidents.service import list_incidents

    if ctx.invoked_subcommand is not None:
        return
    if status_filter not in (None, "open", "resolved"):
        raise typer.BadParameter("must be open or resolved", param_hint="--status")
    rows = list_incidents(ready_engine(settings()), limit=limit, status=status_filter)
    console = Console()
    if not rows:
        console.print("no incidents yet")
        return
    table = Table(
        "id", "status", "severity", "title", "series", "anomalies", "window (UTC)", "alerted"
    )
    for row in rows:
        table.add_row(
            str(row.id),
            row.status,
            row.severity,
            row.title,
            row.series.replace(" ", ", "),
            str(row.anomaly_count),
            f"{row.first_window_start:%Y-%m-%d %H:%M}–{row.last_window_end:%H:%M}",
            f"{row.alerted_at:%H:%M:%S}" if row.alerted_at else "no",
        )
    console.print(table)
    if show_alert:
        for row in rows:
            if row.alert_text:
                console.print(f"\n[bold]#{row.id}[/]\n{row.alert_text}", highlight=False)


@incidents_cli.command("ack")
def ack_command(
    incident_id: int = typer.Argument(..., help="the incident's id (see `crisismon incidents`)"),
    who: str = typer.Option(..., "--who", help="who takes it: recorded in the audit log"),
) -> None:
    """Acknowledge an incident: you have it, so its escalation steps stand down."""
    from datetime import UTC, datetime

    from monitor.incidents.acknowledge import UnknownIncident, acknowledge
    from monitor.shell.cli import CliError

    if not who.strip():
        raise typer.BadParameter("must not be empty", param_hint="--who")
    try:
        done = acknowledge(
            ready_engine(settings()), incident_id=incident_id, who=who, now=datetime.now(UTC)
        )
    except UnknownIncident as exc:
        raise CliError(str(exc)) from exc
    console = Console()
    if done.first:
        console.print(f"incident #{incident_id} acknowledged by {done.by}")
    else:
        console.print(
            f"incident #{incident_id} was already acknowledged by {done.by} "
            f"at {done.at:%Y-%m-%d %H:%M} UTC"
        )
