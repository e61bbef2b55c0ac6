"""`crisismon db …`: schema migrations and retention."""

from __future__ import annotations

import typer

from monitor.shell.cli.common import settings, status

db_cli = typer.Typer(help="Database schema: migrate and inspect.", no_args_is_help=True)


@db_cli.command("upgrade")
def upgrade_command() -> None:
    """Apply every pending migration to CRISISMON_DATABASE_URL (also done at start-up)."""
    from monitor.storage.db import check_connection, make_engine
    from monitor.storage.migrate import current_revision, upgrade

    engine = make_engine(settings().resolved_database_url)
    check_connection(engine)
    before = current_revision(engine)
    upgrade(engine)
    after = current_revision(engine)
    if before == after:
        status.print(f"database already at revision {after}")
    else:
        status.print(f"database upgraded from {before or 'empty'} to {after}")


@db_cli.command("current")
def current_command() -> None:
    """Show the schema revision of the database and the newest one this version knows."""
    from monitor.storage.db import check_connection, make_engine
    from monitor.storage.migrate import current_revision, head_revision

    engine = make_engine(settings().resolved_database_url)
    check_connection(engine)
    print(f"current: {current_revision(engine) or 'empty'}  head: {head_revision(engine)}")


@db_cli.command("retention")
def retention_command(
    dry_run: bool = typer.Option(
        False, "--dry-run", help="count what would change; change nothing"
    ),
) -> None:
    """Enforce config/retention.yaml now (the leader worker does it every hour): replace
    expired mention text and dead-letter payloads, delete old deliveries, inbox rows and
    closed windows. Prints what was (or, with --dry-run, would be) changed per kind."""
    from datetime import UTC, datetime

    from rich.console import Console
    from rich.table import Table

    from detectors.config import load_detection_config
    from monitor.shell.cli.common import ready_engine
    from playbooks.policy import load_sending
    from playbooks.retention import enforce_retention, load_retention

    current = settings()
    detection = load_detection_config(current.config_dir / "detection.yaml")
    sending = load_sending(current.config_dir / "sending.yaml")
    config = load_retention(
        current.config_dir / "retention.yaml", detection=detection, sending=sending
    )
    report = enforce_retention(
        ready_engine(current), config=config, now=datetime.now(UTC), dry_run=dry_run
    )
    verb = "would change" if dry_run else "changed"
    table = Table("kind", "kept for", "older than", f"rows {verb}")
    for kind, count in report.counts.items():
        days, cutoff = config.days(kind), report.cutoffs[kind]
        table.add_row(
            kind,
            f"{days} days" if days is not None else "for good",
            f"{cutoff:%Y-%m-%d %H:%M} UTC" if cutoff else "-",
            str(count),
        )
    Console().print(table)
    status.print(f"{'dry run: ' if dry_run else ''}{report.total} rows {verb}")
