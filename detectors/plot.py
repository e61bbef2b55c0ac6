"""Draw a backtested series with its expected band and the detections (matplotlib, lazily)."""

from __future__ import annotations

from pathlib import Path

from detectors.backtest import SeriesResult


class PlotUnavailable(RuntimeError):
    """matplotlib is not installed."""


def plot_series(result: SeriesResult, path: Path) -> Path:
    try:
        import matplotlib

        matplotlib.use("Agg")  # files only; no display needed
        import matplotlib.dates as mdates
        import matplotlib.pyplot as plt
    except ImportError as exc:
        raise PlotUnavailable("--plot needs matplotlib: pip install 'crisismon[plot]'") from exc
    times = mdates.date2num([row[0] for row in result.history.rows])
    values = [row[1] for row in result.history.rows]
    fig, ax = plt.subplots(figsize=(14, 4.5), dpi=110)
    ax.plot(times, values, lw=0.7, color="#3465a4", label="mentions per window")
    ax.plot(times, result.expected, lw=0.9, color="#888a85", label="expected")
    if result.bands:
        band_times = [times[i] for i, _lo, _hi in result.bands]
        ax.fill_between(
            band_times,
            [lo for _i, lo, _hi in result.bands],
            [hi for _i, _lo, hi in result.bands],
            color="#babdb6",
            alpha=0.45,
            label="usual range (99 %)",
            step="post",
        )
    alert_rows = {a.window_start for a in result.alerts}
    hits = [i for i, row in enumerate(result.history.rows) if row[0] in alert_rows]
    alert_times = [times[i] for i in hits]
    ax.scatter(
        alert_times,
        [values[i] for i in hits],
        color="#cc0000",
        s=18,
        zorder=5,
        label=f"alerts ({len(alert_times)})",
    )
    ax.xaxis_date()
    ax.set_title(f"{result.history.series}: backtest of the live detector")
    ax.set_ylabel(f"mentions per {result.history.window_seconds // 60} min")
    ax.legend(loc="upper left", fontsize=8)
    fig.autofmt_xdate()
    fig.tight_layout()
    path.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(path)
    plt.close(fig)
    return path
