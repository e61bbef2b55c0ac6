"""`crisismon backtest FILE`: the live detectors and correlation over history, offline."""

from __future__ import annotations

import csv
import json
import secrets
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import TYPE_CHECKING

import typer
from rich.console import Console
from rich.markup import escape

from monitor.shell.cli.common import progress_bar, settings, status

if TYPE_CHECKING:
    from detectors.backtest import SeriesResult
    from monitor.incidents.backtest import BacktestIncident
    from streams.mentions import MentionIn

_SHOW = 3
_PLOT_BAND_POINTS = 3000
_SERIES_NAMED = 4  # series named per incident line; the rest are counted


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
    show: int = typer.Option(
        _SHOW, "--show", min=0, help="anomalous windows to list per series (0: only counts)"
    ),
    incidents_out: Path | None = typer.Option(
        None,
        "--incidents-out",
        help="for mentions files: write the incidents live correlation would open to this "
        "JSONL file, one per line (opened_at, paged_at, closed_at, series, severity, metric, "
        "top_terms, anomalies)",
    ),
    mapping: Path | None = typer.Option(
        None,
        "--mapping",
        help="YAML that maps the file's columns (or JSON paths) to mention fields, as "
        "`crisismon replay --mapping` reads it",
    ),
    allow_now: bool = typer.Option(
        False,
        "--allow-now",
        help="backtest a file whose records mostly have no event_time, stamping them with the "
        "current time (without it, such a file is refused)",
    ),
) -> None:
    """Run the exact detector objects and correlation used live over a history file.

    Detection settings come from config/detection.yaml (CRISISMON_CONFIG_DIR). Mentions are
    scored and counted into windows per series as the ingest agent does (topics and products
    from config/topics.yaml, dimensions such as region:eu from config/dimensions.yaml and the
    mentions' attributes; customer-table segments need the database, so only segments the
    mentions carry themselves count offline), and their anomalies merge into
    incidents by the live rules, in the order live closes their windows. A value CSV is one
    series whose window length is the step between its rows.
    """
    from detectors.backtest import SeriesHistory, load_value_csv, run_series
    from monitor.shell.resources import detection_config

    config = detection_config()
    from detectors.judged import Judged, describe, judge

    incidents: list[BacktestIncident] | None = None
    judged: Judged | None = None
    with progress_bar(with_eta=True) as progress:
        task = progress.add_task(f"backtesting {file.name}", total=None)
        advance = lambda n: progress.advance(task, n)  # noqa: E731
        if mapping is None and _is_value_csv(file):
            if incidents_out is not None:
                raise typer.BadParameter(
                    "needs a mentions file, not a value CSV", param_hint="--incidents-out"
                )
            history: SeriesHistory = load_value_csv(file)
            config = config.model_copy(update={"window_seconds": history.window_seconds})
            progress.update(task, total=len(history.rows))
            stride = max(1, len(history.rows) // _PLOT_BAND_POINTS) if plot else 0
            results = [run_series(history, config, on_progress=advance, band_stride=stride)]
        else:
            from detectors.dimensions import offline_dimensions
            from detectors.sentiment import build_scorer
            from detectors.series import FanOut
            from detectors.topics import load_topics
            from monitor.incidents.backtest import backtest_mentions

            mentions = _read_mentions(file, mapping, allow_now=allow_now)
            # The live scorer (lexicons and shipped model; staff corrections live in the
            # database); topics and products as live (segments need the customers table).
            current = settings()
            run = backtest_mentions(
                mentions,
                config=config,
                scorer=build_scorer(current.config_dir, current.sentiment_model),
                fan_out=FanOut(
                    load_topics(current.config_dir / "topics.yaml"),
                    dimensions=offline_dimensions(current.config_dir),
                ),
                on_progress=advance,
                on_total=lambda n: progress.update(task, total=n),
                plot_points=_PLOT_BAND_POINTS if plot else 0,
            )
            results, incidents = run.results, run.incidents
            judged = judge(
                (mention.event_time for mention in mentions),
                window_seconds=config.window_seconds,
                warmup_windows=config.detector.warmup_windows,
            )
    if judged is not None:
        for line in describe(judged, live=False):
            status.print(line)

    # Piped or redirected output is for reading whole or for grep: never wrapped or cut.
    console = Console(highlight=False)
    if not console.is_terminal:
        console = Console(highlight=False, soft_wrap=True)
    gap = timedelta(seconds=config.incidents.merge_gap_seconds)
    # The file first: output piped into `head` must not cost it.
    if incidents is not None and incidents_out is not None:
        _write_incidents(incidents, incidents_out)
        status.print(f"{len(incidents)} incidents written to {incidents_out}")
    if incidents is not None:
        _print_incidents(console, incidents)
    _print_series(console, results, show, gap)
    if plot is not None:
        from detectors.plot import plot_series

        chosen = next((r for r in results if r.history.series == series), None)
        if chosen is None and len(results) == 1:
            chosen = results[0]
        if chosen is None:
            names = ", ".join(r.history.series for r in results)
            raise typer.BadParameter(f"no series {series!r}; have: {names}", param_hint="--series")
        status.print(f"plot written to {plot_series(chosen, plot)}")


def _read_mentions(file: Path, mapping: Path | None, *, allow_now: bool) -> list[MentionIn]:
    """The file's valid mentions, read as `crisismon replay` reads it."""
    from monitor.privacy import Privacy
    from streams.replay import Reader, ReplayError, event_time_problem, read_records, validate_one

    reader: Reader = read_records
    if mapping is not None:
        from streams.mapping import load_mapping, mapped_reader

        reader = mapped_reader(load_mapping(mapping))
    # Nothing is stored, so a throwaway key may pseudonymise authors when none is set.
    privacy = settings().privacy
    if not privacy.can_pseudonymise:
        privacy = Privacy.from_key(secrets.token_hex(32))
    now = datetime.now(UTC)
    numbered = [
        (line, record, validate_one(record, default_source=None, now=now, privacy=privacy))
        for line, record in reader(file)
    ]
    checked = [(record, item) for _line, record, item in numbered]
    if not allow_now and (problem := event_time_problem(file, checked)):
        raise ReplayError(problem)
    rejected = [f"line {line}: {item}" for line, _record, item in numbered if isinstance(item, str)]
    if rejected:
        status.print(
            f"[yellow]{len(rejected):,} of {len(checked):,} records were not valid mentions and "
            f"were left out; the first: {rejected[0]}[/]"
        )
    return [item for _record, item in checked if not isinstance(item, str)]


def _print_incidents(console: Console, incidents: list[BacktestIncident]) -> None:
    paged = [i for i in incidents if i.paged_at is not None]
    console.print(
        f"[bold]{len(incidents)} incidents[/], {len(paged)} paged "
        "(anomalies merged by the live correlation rules, in event time)"
    )
    for incident in paged:
        console.print(f"  {escape(_describe(incident))}")
    quiet = len(incidents) - len(paged)
    if quiet:
        console.print(f"  and {quiet} info incidents that paged nobody (see --incidents-out)")
    console.print()


def _describe(incident: BacktestIncident) -> str:
    """One incident on one line: when, how bad, when it paged, what and where."""
    named = list(incident.series[:_SERIES_NAMED])
    if len(incident.series) > _SERIES_NAMED:
        named.append(f"+{len(incident.series) - _SERIES_NAMED} more")
    paged = f"paged {incident.paged_at:%H:%M}" if incident.paged_at else "not paged"
    terms = f" · top terms: {', '.join(incident.top_terms[:5])}" if incident.top_terms else ""
    return (
        f"{incident.opened_at:%Y-%m-%d %H:%M}–{incident.closed_at:%H:%M} UTC  "
        f"{incident.severity:8}  {paged} · {incident.metric.replace('_', ' ')} on "
        f"{', '.join(named)} · {incident.anomalies} anomalous windows{terms}"
    )


def _print_series(console: Console, results: list[SeriesResult], show: int, gap: timedelta) -> None:
    from detectors.backtest import incidents_of

    for result in results:
        alerts = result.alerts
        console.print(
            f"[bold]{escape(result.history.series)}[/]: {len(result.history.rows):,} windows of "
            f"{result.history.window_seconds}s, {len(alerts)} anomalous windows in "
            f"{incidents_of(alerts, gap)} incidents"
        )
        for alert in alerts[:show]:
            console.print(f"  {escape(alert.describe())}")
        if show and len(alerts) > show:
            console.print(f"  … and {len(alerts) - show} more (--show N lists more)")


def _write_incidents(incidents: list[BacktestIncident], path: Path) -> None:
    from monitor.shell.cli import CliError

    try:
        with path.open("w", encoding="utf-8") as handle:
            for incident in incidents:
                handle.write(json.dumps(incident.to_json(), ensure_ascii=False) + "\n")
    except OSError as exc:
        raise CliError(f"{path}: cannot write: {exc.strerror or exc}") from exc


def _is_value_csv(path: Path) -> bool:
    if path.suffix.lower() != ".csv" or not path.is_file():
        return False
    with path.open(newline="", encoding="utf-8-sig") as handle:
        header = next(csv.reader(handle), [])
    return {"timestamp", "value"} <= {h.strip() for h in header}
