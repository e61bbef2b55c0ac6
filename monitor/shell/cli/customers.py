"""`crisismon customers import` and `crisismon segments preview`."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

import typer
from rich.console import Console
from rich.table import Table

from monitor.shell.cli import customer_privacy
from monitor.shell.cli.common import progress_bar, ready_engine, settings, status

customers_cli = typer.Typer(
    help="Customers: import them, see their consent, export or erase one.", no_args_is_help=True
)
segments_cli = typer.Typer(help="Segments from config/segments.yaml.", no_args_is_help=True)

MAX_SHOWN_REJECTS = 20
# Access and erasure requests live in their own module (customer_privacy.py).
customers_cli.command("export")(customer_privacy.export_command)
customers_cli.command("erase")(customer_privacy.erase_command)


@customers_cli.command("import")
def import_command(
    path: Path = typer.Argument(..., help="a .csv, .json (array) or .jsonl file of customers"),
) -> None:
    """Validate and upsert customers by external_id, with their channel consents.

    Columns: external_id, locale, timezone, region, plan, lifetime_value, signup_date,
    last_activity, email, phone, webhook_url, tags, and per channel (email, sms, webhook)
    <channel>_consent_at, <channel>_consent_method, <channel>_revoked_at. Rejected rows are
    listed with their line number; the rest are imported. Exits 1 when nothing was imported.
    """
    from monitor.shell.cli import CliError
    from monitor.shell.cli.consent import operator
    from playbooks.customers import CustomerFileError, import_file, read_records

    current = settings()
    engine = ready_engine(current)
    try:
        total = sum(1 for _ in read_records(path))
        with progress_bar() as progress:
            task = progress.add_task(f"importing {path.name}", total=total)
            report = import_file(
                engine,
                path=path,
                now=datetime.now(UTC),
                on_progress=lambda n: progress.update(task, advance=n),
                # Mentions carry customer ids pseudonymised with this key: store the same.
                pseudonymiser=current.privacy.pseudonymiser,
                who=f"cli:{operator()} ({path.name})",  # in the consent history
            )
    except CustomerFileError as exc:
        raise CliError(str(exc)) from exc
    status.print(f"imported {report.imported} customers, rejected {len(report.rejected)}")
    for line, reason in report.rejected[:MAX_SHOWN_REJECTS]:
        status.print(f"  line {line}: {reason}", markup=False)
    if len(report.rejected) > MAX_SHOWN_REJECTS:
        status.print(f"  … and {len(report.rejected) - MAX_SHOWN_REJECTS} more")
    if report.imported == 0:
        raise CliError(f"no customer in {path} could be imported")


@segments_cli.command("preview")
def preview_command() -> None:
    """Count the customers in each segment right now (a customer can be in several)."""
    from sqlmodel import Session

    from playbooks.customers import all_customers
    from playbooks.segments import load_segments

    current = settings()
    segments = load_segments(current.config_dir / "segments.yaml")
    with Session(ready_engine(current)) as session:
        customers = all_customers(session)
    counts = segments.counts(customers, now=datetime.now(UTC))
    table = Table("segment", "customers", "description")
    for name, segment in segments.config.segments.items():
        table.add_row(name, str(counts[name]), segment.description)
    Console().print(table)
    status.print(f"{len(customers)} customers in total")
