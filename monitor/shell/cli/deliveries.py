"""`crisismon deliveries explain ID`: why a customer got (or did not get) a message."""

from __future__ import annotations

import json
from datetime import UTC, datetime

import typer

from monitor.shell.cli.common import ready_engine, settings

deliveries_cli = typer.Typer(help="Messages in the outbox, one by one.", no_args_is_help=True)


@deliveries_cli.command("explain")
def explain_command(
    delivery_id: int = typer.Argument(..., help="the delivery's id (GET /api/outbox, the audit)"),
    as_json: bool = typer.Option(False, "--json", help="print the chain as JSON"),
) -> None:
    """The chain behind one message: the incident, the playbook step, the segment rule that
    matched the customer, the approval (who, when, content hash) and the consent that
    allowed it. Exits 1 for an unknown id."""
    from monitor.shell.cli import CliError
    from playbooks.explain import UnknownDelivery, explain, lines
    from playbooks.policy import SendingConfig
    from playbooks.schema import load_all
    from playbooks.service import Setup

    current = settings()
    segments, catalogue = load_all(current.config_dir)
    setup = Setup(segments=segments, catalogue=catalogue, sending=SendingConfig(), public_url="")
    try:
        chain = explain(
            ready_engine(current), setup=setup, delivery_id=delivery_id, now=datetime.now(UTC)
        )
    except UnknownDelivery as exc:
        raise CliError(str(exc)) from exc
    if as_json:
        print(json.dumps(chain, indent=2, ensure_ascii=False))
    else:
        print("\n".join(lines(chain)))
