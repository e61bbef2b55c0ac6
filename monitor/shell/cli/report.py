"""`crisismon report fairness`: the same figures per segment and per language."""

from __future__ import annotations

from datetime import UTC, datetime

import typer

from monitor.shell.cli.common import ready_engine, settings

report_cli = typer.Typer(help="Reports over the stored data.", no_args_is_help=True)

DEFAULT_DAYS = 365  # playbooks.fairness.DEFAULT_DAYS, without importing it at start


def _since(value: str | None) -> datetime:
    from playbooks.fairness import report_since

    try:
        return report_since(value, now=datetime.now(UTC))
    except ValueError as exc:
        raise typer.BadParameter(str(exc), param_hint="--since") from None


@report_cli.command("fairness")
def fairness_command(
    since: str | None = typer.Option(
        None, "--since", help=f"from this date (YYYY-MM-DD, UTC); default {DEFAULT_DAYS} days ago"
    ),
    output_format: str = typer.Option("md", "--format", help="md (readable) or json"),
) -> None:
    """Alerts, sentiment, label accuracy and messages per segment and per language.

    Each group is set against everyone; a figure further away than its tolerance in
    config/fairness.yaml is flagged with both numbers and the group's size. Groups with fewer
    people than min_group_size (k, default 10) show no figures.
    """
    from playbooks.fairness import fairness_report
    from playbooks.fairness_config import load_fairness_config
    from playbooks.fairness_render import to_json, to_markdown
    from playbooks.segments import load_segments

    if output_format not in ("md", "json"):
        raise typer.BadParameter("must be md or json", param_hint="--format")
    start = _since(since)
    current = settings()
    config = load_fairness_config(current.config_dir / "fairness.yaml")
    segments = load_segments(current.config_dir / "segments.yaml").names
    report = fairness_report(ready_engine(current), since=start, segments=segments, config=config)
    print(to_json(report) if output_format == "json" else to_markdown(report), end="")
