"""`crisismon feedback`: tell the detector it was wrong (or right), and see what that changed."""

from __future__ import annotations

import getpass
from datetime import UTC, datetime

import typer
from rich.console import Console
from rich.table import Table

from monitor.shell.cli.common import ready_engine, settings


def feedback_command(
    incident: int | None = typer.Argument(None, help="incident id (see `crisismon incidents`)"),
    verdict: str | None = typer.Argument(None, help="false-alarm, missed or confirmed"),
    note: str | None = typer.Option(None, "--note", help="why, in a few words"),
    by: str | None = typer.Option(None, "--by", help="who says so (default: your user name)"),
    history: bool = typer.Option(False, "--history", help="list recent threshold changes"),
) -> None:
    """Record feedback on an incident; it moves the alert score of the incident's series.

    A false alarm makes those series need about ten times rarer windows to alert, a missed
    crisis makes them more sensitive, within bounds around config/detection.yaml's alert_score.
    `--history` shows every change and the feedback behind it.
    """
    from detectors.feedback import FeedbackError, record_feedback, threshold_history
    from monitor.shell.resources import detection_config

    engine = ready_engine(settings())
    console = Console(highlight=False)
    if history:
        table = Table("when (UTC)", "series", "alert score", "because")
        for change in threshold_history(engine):
            table.add_row(
                f"{change.changed_at:%Y-%m-%d %H:%M}",
                change.series,
                f"{change.old_score:g} → {change.new_score:g}",
                change.reason,
            )
        console.print(table)
        return
    if incident is None or verdict is None:
        raise typer.BadParameter("give an INCIDENT and a VERDICT, or --history")
    try:
        recorded = record_feedback(
            engine,
            incident_id=incident,
            verdict=verdict,
            given_by=by or getpass.getuser(),
            note=note,
            settings=detection_config().detector,
            now=datetime.now(UTC),
        )
    except FeedbackError as exc:
        from monitor.shell.cli import CliError

        raise CliError(str(exc)) from exc
    console.print(f"feedback #{recorded.feedback_id} recorded: incident #{incident} {verdict}")
    for change in recorded.changes:
        console.print(f"  {change.series}: alert score {change.old_score:g} → {change.new_score:g}")
    if not recorded.changes:
        console.print("  no threshold changed (confirmed, or already at its bound)")
