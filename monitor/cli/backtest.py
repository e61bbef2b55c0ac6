"""`crisismon backtest FILE`: the live detectors over history, offline."""

from __future__ import annotations

import csv
import secrets
from datetime import UTC, datetime, timedelta
from pathlib import Path

import typer
from rich.console import Console

from monitor.cli.common import progress_bar, settings, status

_MAX_LISTED = 20
_PLOT_BAND_POINTS = 3000


def backtest_command(
    file: Path = typer.Argument(
        ..., help="a timestamp,value CSV (one row per window), or mentions as .jsonl/.json/.csv"
    ),
    plot: Path | None = typer.Option(
        None, "--plot", help="draw the series, its expected band and the detections to this PNG"
    ),
    series: str = typer.Option(
        "global", "--series", help="for mentions files: which series to plot"
    ),
    show: int = typer.Option(_MAX_LISTED, "--show", min=0, help="alerts to list per series"),
) -> None:
    """Run the exact detector objects used live over a history file and print the alerts.

    Detection settings come from config/detection.yaml (CRISISMON_CONFIG_DIR). Mentions are
    scored and counted into windows per series as the ingest agent does (topics and products
    from config/topics.yaml; no segment: series offline); a value CSV is one
    series whose window length is the step between its rows.
    """
    from detectors.backtest import (
        histories_from_mentions,
        incidents_of,
        load_value_csv,
        run_series,
    )
    from detectors.sentiment import build_scorer
    from detectors.series import FanOut
    from detectors.topics import load_topics
    from monitor.resources import detection_config
    from streams.privacy import Privacy
    from streams.replay import read_records, validate

    config = detection_config()
    if _is_value_csv(file):
        histories = [load_value_csv(file)]
        config = config.model_copy(update={"window_seconds": histories[0].window_seconds})
    else:
        now = datetime.now(UTC)
        # Nothing is stored, so a throwaway key may pseudonymise authors when none is set.
        privacy = settings().privacy
        if not privacy.can_pseudonymise:
            privacy = Privacy.from_key(secrets.token_hex(32))
        parsed = validate(read_records(file), default_source=None, now=now, privacy=privacy)
        mentions = [item for _line, item in parsed if not isinstance(item, str)]
        # The live scorer (lexicons and shipped model; staff corrections live in the database).
        current = settings()
        scorer = build_scorer(current.config_dir, current.sentiment_model)
        # Topics and products as live; segments need the customers table, so not offline.
        topics = FanOut(load_topics(current.config_dir / "topics.yaml"))
        histories = histories_from_mentions(mentions, scorer, config.window_seconds, topics)

    total = sum(len(h.rows) for h in histories)
    results = []
    with progress_bar(with_eta=True) as progress:
        task = progress.add_task(f"backtesting {file.name}", total=total)
        for history in histories:
            stride = max(1, len(history.rows) // _PLOT_BAND_POINTS) if plot else 0
            results.append(
                run_series(
                    history,
                    config,
                    on_progress=lambda n: progress.advance(task, n),
                    band_stride=stride,
                )
            )

    console = Console(highlight=False)
    gap = timedelta(seconds=config.incidents.merge_gap_seconds)
    for result in results:
        alerts = result.alerts
        console.print(
            f"[bold]{result.history.series}[/]: {len(result.history.rows):,} windows of "
            f"{result.history.window_seconds}s, {len(alerts)} anomalous windows in "
            f"{incidents_of(alerts, gap)} incidents"
        )
        for alert in alerts[:show]:
            console.print(f"  {alert.describe()}")
        if len(alerts) > show:
            console.print(f"  … and {len(alerts) - show} more")
    if plot is not None:
        from detectors.plot import plot_series

        chosen = next((r for r in results if r.history.series == series), None)
        if chosen is None and len(results) == 1:
            chosen = results[0]
        if chosen is None:
            names = ", ".join(r.history.series for r in results)
            raise typer.BadParameter(f"no series {series!r}; have: {names}", param_hint="--series")
        status.print(f"plot written to {plot_series(chosen, plot)}")


def _is_value_csv(path: Path) -> bool:
    if path.suffix.lower() != ".csv" or not path.is_file():
        return False
    with path.open(newline="", encoding="utf-8-sig") as handle:
        header = next(csv.reader(handle), [])
    return {"timestamp", "value"} <= {h.strip() for h in header}
