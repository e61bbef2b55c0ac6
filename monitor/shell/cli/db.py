"""`crisismon db …`: schema migrations."""

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
