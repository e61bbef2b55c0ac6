"""`crisismon sources`: every configured source and how it is doing."""

from __future__ import annotations

from datetime import UTC, datetime

import typer
from rich.console import Console
from rich.table import Table

from monitor.shell.cli.common import ready_engine, settings


def _ago(moment: datetime | None, now: datetime) -> str:
    if moment is None:
        return "never"
    seconds = int((now - moment).total_seconds())
    if seconds < 0:
        return f"in {-seconds}s"
    if seconds < 120:
        return f"{seconds}s ago"
    if seconds < 7200:
        return f"{seconds // 60}m ago"
    return f"{moment:%Y-%m-%d %H:%M} UTC"


def sources_command(
    errors_only: bool = typer.Option(
        False, "--failing", help="only sources whose last poll failed"
    ),
) -> None:
    """Show each source in sources.yaml: kind, health, and what it has delivered.

    Polled sources (feeds, Mastodon) show their last success, last error, failures in a
    row, new items seen and the next poll. Every source shows how many mentions are stored
    from it. Exits 1 when a polled source's last poll failed, so it can serve as a health
    check.
    """
    from streams.sources.config import WebhookSpec, load_sources_config
    from streams.sources.health import source_report

    current = settings()
    config = load_sources_config(current.config_dir / "sources.yaml")
    rows = source_report(ready_engine(current), config)
    now = datetime.now(UTC)
    console = Console()
    if not rows:
        console.print(
            f"no sources configured in {current.config_dir / 'sources.yaml'} "
            "(POST /api/mentions and `crisismon replay` work without any)"
        )
        return
    table = Table("source", "kind", "status", "last success", "last error", "items", "mentions")
    failing = False
    for row in rows:
        if row.failing:
            failing = True
        elif errors_only:
            continue
        where = "POST /webhooks/" + row.name if isinstance(row.spec, WebhookSpec) else row.detail
        table.add_row(
            f"{row.name}\n[dim]{where}[/]",
            row.kind,
            row.status
            + (
                f"\n[dim]next poll {_ago(row.next_attempt_at, now)}[/]"
                if row.next_attempt_at
                else ""
            ),
            _ago(row.last_success_at, now),
            f"{row.last_error}\n[dim]{_ago(row.last_error_at, now)}[/]" if row.last_error else "",
            "" if row.items_seen is None else str(row.items_seen),
            f"{row.mentions} (last {_ago(row.last_mention_at, now)})" if row.mentions else "0",
        )
    console.print(table)
    if failing:
        raise SystemExit(1)
