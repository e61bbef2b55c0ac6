"""`crisismon playbooks …` and `crisismon audit verify`."""

from __future__ import annotations

import typer

from monitor.cli.common import settings, status

playbooks_cli = typer.Typer(help="Crisis playbooks in config/playbooks/.", no_args_is_help=True)
audit_cli = typer.Typer(help="The append-only audit log.", no_args_is_help=True)


@playbooks_cli.command("check")
def check_command() -> None:
    """Validate every playbook and render every template with sample data.

    Errors name the file and line. Exits 1 when any playbook has an error.
    """
    from monitor.cli import CliError
    from playbooks.schema import load_all

    current = settings()
    _, catalogue = load_all(current.config_dir)
    for playbook in catalogue.playbooks:
        steps = ", ".join(
            f"{s.id} ({s.channel}, {len(s.segments)} segments)" for s in playbook.steps
        )
        status.print(f"[green]✓[/] {playbook.name}: {steps}")
    for error in catalogue.errors:
        print(error)
    if catalogue.errors:
        raise CliError(f"{len(catalogue.errors)} problem(s) in {current.config_dir / 'playbooks'}")
