"""`crisismon playbooks …` and `crisismon audit verify`."""

from __future__ import annotations

from typing import TYPE_CHECKING

import typer

from monitor.shell.cli.common import ready_engine, settings, status

if TYPE_CHECKING:
    from playbooks.schema import AnyStep, Match

playbooks_cli = typer.Typer(help="Crisis playbooks in config/playbooks/.", no_args_is_help=True)
audit_cli = typer.Typer(help="The append-only audit log.", no_args_is_help=True)


@playbooks_cli.command("check")
def check_command() -> None:
    """Validate every playbook and render every template with sample data.

    Errors name the file and line. Exits 1 when any playbook has an error.
    """
    from monitor.shell.cli import CliError
    from playbooks.schema import load_all

    current = settings()
    _, catalogue = load_all(current.config_dir)
    for playbook in catalogue.playbooks:
        steps = ", ".join(describe_step(step) for step in playbook.steps)
        status.print(f"[green]✓[/] {playbook.name}: {steps}")
        status.print(f"  starts on: {describe_match(playbook.match)}", markup=False)
    for error in catalogue.errors:
        print(error)
    if catalogue.errors:
        raise CliError(f"{len(catalogue.errors)} problem(s) in {current.config_dir / 'playbooks'}")


def describe_match(match: Match) -> str:
    """A playbook's match rules in a few words; the rules are in docs/playbooks.md."""
    rules = [
        f"{name} {', '.join(values)}"
        for name, values in (
            ("severity", match.severity),
            ("strongest series", match.series),
            ("dominant metric", match.metric),
            ("terms", match.terms),
        )
        if values is not None
    ]
    return " · ".join(rules) or "every incident"


def describe_step(step: AnyStep) -> str:
    """One step in a few words, as `crisismon playbooks check` lists it."""
    from playbooks.schema import EscalateStep, SlackAlert, StatusPageStep, Step, WaitStep

    when = " on resolve" if step.trigger == "resolved" else ""
    if isinstance(step, Step):
        return f"{step.id} ({step.channel}, {len(step.segments)} segments{when})"
    if isinstance(step, StatusPageStep):
        return f"{step.id} (status page: {step.status}{when})"
    if isinstance(step, WaitStep):
        return f"{step.id} (wait {step.minutes:g} min)"
    if isinstance(step, EscalateStep):
        return f"{step.id} (escalate if unacknowledged {step.minutes:g} min)"
    assert isinstance(step, SlackAlert)
    return f"{step.id} (slack alert{when})"


@playbooks_cli.command("preapprove")
def preapprove_command(
    name: str = typer.Argument(..., help="the playbook's name, e.g. service-outage"),
    actor: str = typer.Option(..., "--as", help="who approves: recorded in the audit log"),
) -> None:
    """Pre-approve the current templates of the playbook's `pre_approved: true` steps.

    The approval binds to each template's content hash: once a template is edited, its
    drafts wait for a person again until this is run anew.
    """
    from datetime import UTC, datetime

    from monitor.shell.cli import CliError
    from playbooks.approvals import preapprove
    from playbooks.policy import SendingConfig
    from playbooks.schema import load_all
    from playbooks.service import DraftError, Setup

    current = settings()
    segments, catalogue = load_all(current.config_dir)
    if catalogue.errors:
        raise CliError(f"fix the playbooks first: {catalogue.errors[0]}")
    setup = Setup(segments=segments, catalogue=catalogue, sending=SendingConfig(), public_url="")
    try:
        count = preapprove(
            ready_engine(current),
            setup=setup,
            playbook_name=name,
            actor=actor,
            now=datetime.now(UTC),
        )
    except DraftError as exc:
        raise CliError(str(exc)) from exc
    if count == 0:
        raise CliError(f"playbook {name!r} has no step with pre_approved: true")
    status.print(f"pre-approved {count} template(s) of {name} as {actor}")


@audit_cli.command("verify")
def verify_command() -> None:
    """Recompute the audit log's hash chain; exits 1 if any row was changed or removed."""
    from monitor.audit import check
    from monitor.shell.cli import CliError

    found = check(ready_engine(settings()))
    for problem in found.problems:
        print(problem)
    if found.problems:
        raise CliError(
            f"audit log tampered with: {len(found.problems)} problem(s) in {found.rows} rows"
        )
    keyed = f"{found.keyed} keyed with CRISISMON_AUDIT_KEY"
    if found.unkeyed:
        keyed += (
            f", {found.unkeyed} only hashed (written before the key was set: anyone who can "
            "write the database could have rewritten those)"
        )
    status.print(f"audit log intact: {found.rows} rows, {keyed}")


def outbox_command(
    dead: int = typer.Option(5, "--dead", min=0, help="how many dead letters to show in full"),
) -> None:
    """Customer messages per channel and status, and the latest dead letters with their error."""
    from rich.console import Console
    from rich.table import Table

    from playbooks.flows import channel_health, dead_letters

    engine = ready_engine(settings())
    health = channel_health(engine)
    console = Console()
    if not health:
        console.print("the outbox is empty")
        return
    statuses = ["pending", "sent", "suppressed", "cancelled", "dead"]
    table = Table("channel", *statuses)
    for channel, counts in sorted(health.items()):
        table.add_row(channel, *(str(counts.get(s, 0)) for s in statuses))
    console.print(table)
    for row in dead_letters(engine, limit=dead):
        print(
            f"dead: {row.idempotency_key} ({row.channel}, {row.attempts} attempts): "
            f"{row.last_error}"
        )
