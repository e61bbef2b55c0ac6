"""`crisismon deliveries explain ID`: why a customer got (or did not get) a message."""

from __future__ import annotations

import json
from datetime import UTC, datetime

import typer

from monitor.shell.cli.common import ready_engine, settings

deliveries_cli = typer.Typer(help="Messages in the outbox, one by one.", no_args_is_help=True)


@deliveries_cli.command("explain")
def explain_command(
    delivery: str = typer.Argument(
        ..., help="the delivery's id (`crisismon deliveries list`) or its idempotency key"
    ),
    as_json: bool = typer.Option(False, "--json", help="print the chain as JSON"),
) -> None:
    """The chain behind one message: the incident, the playbook step, the segment rule that
    matched the customer, the approval (who, when, content hash) and the consent that
    allowed it. Exits 1 for an unknown id."""
    from monitor.shell.cli import CliError
    from playbooks.explain import UnknownDelivery, explain, find_delivery, lines
    from playbooks.policy import SendingConfig
    from playbooks.schema import load_all
    from playbooks.service import Setup

    current = settings()
    segments, catalogue = load_all(current.config_dir)
    setup = Setup(segments=segments, catalogue=catalogue, sending=SendingConfig(), public_url="")
    engine = ready_engine(current)
    try:
        chain = explain(
            engine,
            setup=setup,
            delivery_id=find_delivery(engine, delivery),
            now=datetime.now(UTC),
        )
    except UnknownDelivery as exc:
        raise CliError(str(exc)) from exc
    if as_json:
        print(json.dumps(chain, indent=2, ensure_ascii=False))
    else:
        print("\n".join(lines(chain)))


@deliveries_cli.command("list")
def list_command(
    customer: str = typer.Argument(..., help="the customer's external id, or crisismon's id"),
) -> None:
    """One customer's messages, newest first, with their ids for `deliveries explain`."""
    from rich.console import Console
    from rich.table import Table

    from monitor.shell.cli import CliError
    from playbooks.consent_history import UnknownCustomer, resolve_customer
    from playbooks.explain import deliveries_of

    engine = ready_engine(settings())
    try:
        rows = deliveries_of(engine, customer_id=resolve_customer(engine, customer))
    except UnknownCustomer as exc:
        raise CliError(str(exc)) from exc
    table = Table("id", "created", "channel", "status", "incident", "step", "reason")
    for row in rows:
        table.add_row(
            str(row["id"]),
            str(row["created_at"])[:16],
            row["channel"],
            row["status"],
            str(row["incident"] or "-"),
            row["step"] or "-",
            row["reason"] or "",
        )
    Console().print(table)
