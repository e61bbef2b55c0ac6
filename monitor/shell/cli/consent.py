"""`crisismon customers consent ID`: one customer's consent history, and admin changes to it."""

from __future__ import annotations

import getpass
from datetime import UTC, datetime

import typer

from monitor.shell.cli.common import ready_engine, settings, status

CHANNELS = ("email", "sms", "webhook", "slack")


def consent_command(
    customer: str = typer.Argument(..., help="the customer's external id, or crisismon's id"),
    withdraw: str | None = typer.Option(
        None, "--withdraw", metavar="CHANNEL", help="record that the customer withdrew consent"
    ),
    grant: str | None = typer.Option(
        None, "--grant", metavar="CHANNEL", help="record that the customer gave consent"
    ),
    method: str = typer.Option(
        "recorded by an admin", "--method", help="with --grant: how the customer gave it"
    ),
) -> None:
    """Show every consent change of one customer: when, which channel, granted or withdrawn,
    how (import, api, unsubscribe, stop, admin) and by whom. --withdraw or --grant records an
    admin change first; a withdrawal holds for the next send."""
    from monitor.shell.cli import CliError
    from playbooks.consent_history import UnknownCustomer, describe, history, resolve_customer
    from playbooks.customers import grant as grant_consent
    from playbooks.customers import revoke

    for channel in (withdraw, grant):
        if channel is not None and channel not in CHANNELS:
            raise CliError(f"unknown channel {channel!r} (use {', '.join(CHANNELS)})")
    if withdraw and grant:
        raise CliError("use --withdraw or --grant, not both")
    engine, now = ready_engine(settings()), datetime.now(UTC)
    who = f"cli:{operator()}"
    try:
        customer_id = resolve_customer(engine, customer)
        found = history(engine, customer_id=customer_id)
        if withdraw is not None:
            done = revoke(
                engine, customer_id=customer_id, channel=withdraw, now=now, how="admin", who=who
            )
            status.print(f"{withdraw} consent {'withdrawn' if done else 'was not in force'}")
        if grant is not None:
            done = grant_consent(
                engine, customer_id=customer_id, channel=grant, method=method, now=now, who=who
            )
            status.print(f"{grant} consent {'granted' if done else 'was already in force'}")
        if withdraw or grant:
            found = history(engine, customer_id=customer_id)
    except UnknownCustomer as exc:
        raise CliError(str(exc)) from exc
    print(f"consent history of customer {found.customer_id} ({found.external_id}):")
    for change in found.changes:
        print(f"  {describe(change)}")
    if not found.changes:
        print("  no consent recorded: nothing is sent to this customer on any channel")


def operator() -> str:
    """Who runs the command, for the consent history."""
    try:
        return getpass.getuser()
    except (KeyError, OSError):  # no login name in a bare container
        return "unknown"
