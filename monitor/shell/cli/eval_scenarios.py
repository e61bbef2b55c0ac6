"""`crisismon eval scenarios`: the scenario benchmark, generated, backtested and scored."""

from __future__ import annotations

import json
from pathlib import Path

import typer
from rich.progress import TaskID

from monitor.shell.cli.common import progress_bar, settings, status

_TUNING = "1,2,3"
# Held-out seeds are 101, 102, …; README.md quotes the first five.
_FIRST_REPORT = 101
_REPORT_COUNT = 5


def _seed_list(text: str, option: str) -> list[int]:
    try:
        seeds = [int(part) for part in text.replace(" ", "").split(",") if part]
    except ValueError:
        raise typer.BadParameter(
            f"{text!r} is not a comma-separated list of whole numbers", param_hint=option
        ) from None
    if not seeds and option != "--tuning-seeds":
        raise typer.BadParameter("name at least one seed", param_hint=option)
    return seeds


def scenarios_command(
    seeds: int | None = typer.Option(
        None,
        "--seeds",
        min=1,
        help="run the first N held-out seeds: 101, 102, … (default: the five, 101-105)",
    ),
    seed_list: str | None = typer.Option(
        None, "--seed-list", help="run exactly these seeds, e.g. 1,2,3 for the tuning seeds"
    ),
    seed: int | None = typer.Option(None, "--seed", help="run one seed (handy with --write)"),
    days: int = typer.Option(
        14, "--days", min=3, max=60, help="days per stream; the first two are warm-up"
    ),
    tuning_seeds: str = typer.Option(
        _TUNING,
        "--tuning-seeds",
        help="seeds that detection was tuned on: marked as such and totalled apart",
    ),
    output_format: str = typer.Option(
        "md", "--format", help="md: Markdown tables; json: every crisis, alarm and decoy"
    ),
    out: Path | None = typer.Option(
        None, "--out", help="write the report to this file instead of standard output"
    ),
    write: Path | None = typer.Option(
        None,
        "--write",
        help="also keep each stream in DIR/seed-N/: mentions.jsonl (for `crisismon replay` and "
        "`crisismon backtest`), truth.json and the backtest's incidents.jsonl",
    ),
) -> None:
    """Generate hard scenario streams, backtest them with the live configuration, score them.

    Each seed is 14 days of about 75,000 mentions (tickets, reviews, social, news; regions
    eu, us, apac with their own local rhythms) with about 15 crises of six kinds and a few
    decoys. The backtest runs the live near-duplicate collapse, series, detectors and
    correlation. A crisis is found when an incident pages between its onset and 30 minutes
    after its end, on the right series when the incident names the slice the crisis hit.
    Tune on seeds 1-3; report seeds 101-105. See docs/scenarios.md.
    """
    from monitor.shell.cli import CliError

    chosen = [option for option in (seeds, seed_list, seed) if option is not None]
    if len(chosen) > 1:
        raise CliError("give one of --seeds, --seed-list or --seed")
    if output_format not in ("md", "json"):
        raise typer.BadParameter(f"{output_format!r}: use md or json", param_hint="--format")
    if seed is not None:
        run_seeds = [seed]
    elif seed_list is not None:
        run_seeds = _seed_list(seed_list, "--seed-list")
    else:
        run_seeds = [_FIRST_REPORT + n for n in range(seeds or _REPORT_COUNT)]
    tuned = _seed_list(tuning_seeds, "--tuning-seeds")

    from detectors.sentiment import build_scorer
    from monitor.shell.evaluation.scenario_report import render_json, render_markdown
    from monitor.shell.evaluation.scenario_run import Live, run_seed, throwaway_privacy
    from monitor.shell.resources import detection_config

    current = settings()
    live = Live(
        config=detection_config(),
        scorer=build_scorer(current.config_dir, current.sentiment_model),
        config_dir=current.config_dir,
        privacy=throwaway_privacy(current.privacy),
    )
    scores = []
    with progress_bar(with_eta=True) as progress:
        for number in run_seeds:
            task = progress.add_task(f"seed {number}: generating", total=None)

            def backtesting(total: int, task: TaskID = task, number: int = number) -> None:
                progress.update(task, total=total, description=f"seed {number}: backtesting")

            def advance(done: int, task: TaskID = task) -> None:
                progress.advance(task, done)

            run = run_seed(
                number,
                live,
                days=days,
                tuning=number in tuned,
                write_dir=write / f"seed-{number}" if write else None,
                on_total=backtesting,
                on_progress=advance,
            )
            progress.update(task, description=f"seed {number}: done")
            scores.append(run.score)

    if output_format == "json":
        report = json.dumps(render_json(scores, days=days, tuning_seeds=tuned), indent=2)
    else:
        report = render_markdown(scores, days=days, tuning_seeds=tuned)
    if out is None:
        print(report, end="" if report.endswith("\n") else "\n")
    else:
        out.parent.mkdir(parents=True, exist_ok=True)
        out.write_text(report if report.endswith("\n") else report + "\n", encoding="utf-8")
        status.print(f"report written to {out}")
    if write is not None:
        status.print(f"streams written under {write}/seed-N/ (mentions.jsonl, truth.json)")
