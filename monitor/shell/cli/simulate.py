"""`crisismon simulate`: synthetic mention streams with a crisis of a chosen kind."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path

import typer

from monitor.shell.cli.common import status


def simulate_command(
    scenario: str = typer.Option(
        ...,
        "--scenario",
        help="outage, complaint-wave, segment-crisis, volume-drop, charged-twice or quiet",
    ),
    out: Path = typer.Option(..., "--out", help="write the mentions here as JSONL"),
    days: float = typer.Option(3.0, "--days", min=0.5, max=31, help="days of traffic"),
    start: str | None = typer.Option(
        None, "--start", help="first event time (ISO 8601); default: so the file ends now"
    ),
    seed: int = typer.Option(7, "--seed", help="random seed; the same seed gives the same file"),
) -> None:
    """Write seasonal traffic (three sources, daily peak, calmer weekends) with one crisis.

    Replay it with `crisismon replay FILE` into a running service, or backtest it with
    `crisismon backtest FILE`. The crisis starts at 14:00 two thirds of the way through.
    Tickets carry customer ids: import FILE's .customers.jsonl twin with `crisismon customers
    import` first, so segment-crisis shows in segment:vip.
    """
    from streams.scenario import write_jsonl
    from streams.simulator import SCENARIOS, simulate

    if scenario not in SCENARIOS:
        raise typer.BadParameter(f"choose one of: {', '.join(SCENARIOS)}", param_hint="--scenario")
    if start is None:
        first = datetime.now(UTC).replace(second=0, microsecond=0) - timedelta(days=days)
    else:
        try:
            first = datetime.fromisoformat(start.replace("Z", "+00:00"))
        except ValueError as exc:
            raise typer.BadParameter("must be ISO 8601", param_hint="--start") from exc
        first = first.replace(tzinfo=UTC) if first.tzinfo is None else first.astimezone(UTC)
    generated = simulate(scenario, start=first, days=days, seed=seed)
    write_jsonl(generated.items, out)
    # Tickets name their customers; importing them first feeds the segment: series.
    customers = write_jsonl(list(generated.customers), out.with_suffix(".customers.jsonl"))
    onset = f", detectable from {generated.onset:%Y-%m-%d %H:%M} UTC" if generated.onset else ""
    status.print(
        f"wrote {len(generated.items):,} mentions to {out}: {generated.description}{onset}"
    )
    status.print(f"and the {len(generated.customers)} customers they name to {customers}")
