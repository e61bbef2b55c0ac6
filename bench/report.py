"""BENCHMARKS.md, rendered from ``bench/results.json`` (`bench.run_all` writes both)."""

from __future__ import annotations

from typing import Any

from bench import hotspots

_NA = "–"


def _num(value: Any, digits: int = 0, unit: str = "") -> str:
    if value is None:
        return _NA
    if isinstance(value, int | float):
        return f"{value:,.{digits}f}{unit}"
    return str(value)


def _target(results: dict[str, Any], key: str, value: Any) -> str:
    target = results.get("targets", {}).get(key)
    if not target:
        return ""
    op, bound = target["op"], target["value"]
    if value is None:
        return f"{op} {bound} (not measured)"
    met = value >= bound if op == ">=" else value <= bound
    return f"{op} {bound}: {'met' if met else '**missed**'}"


def _fig(results: dict[str, Any], name: str) -> dict[str, Any]:
    value = results.get("figures", {}).get(name)
    return value if isinstance(value, dict) else {}


def _throughput_rows(results: dict[str, Any]) -> list[str]:
    rows = []

    def e2e_row(label: str, section: str, key: str | None) -> None:
        fig = _fig(results, section)
        ref = fig.get("reference") or {}
        value = results.get(key) if key else fig.get("ratio")
        rows.append(
            f"| {label} | {_num(fig.get('rate'))} mentions/s | Faust pass-through "
            f"{_num(ref.get('rate'))} records/s | **{_num(value, 2)}** | "
            f"{_target(results, key, value) if key else ''} |"
        )

    e2e_row("End to end, SQLite, 1 worker", "e2e_sqlite", "e2e_vs_passthrough_sqlite")
    e2e_row("End to end, PostgreSQL, 1 worker", "e2e_postgres", "e2e_vs_passthrough_postgres")
    e2e_row("End to end, PostgreSQL, 2 workers", "e2e_postgres_2_workers", None)
    one, two = _fig(results, "e2e_postgres"), _fig(results, "e2e_postgres_2_workers")
    scaling = _num(results.get("workers_2_vs_1_postgres"), 2)
    rows.append(
        f"| 2 workers against 1, PostgreSQL | {_num(two.get('rate'))} mentions/s | 1 worker "
        f"{_num(one.get('rate'))} mentions/s | **{scaling}** | |"
    )
    for section, key, label in (
        ("intake", "ingest_vs_intake", "Ingest against HTTP intake"),
        ("intake_single", "ingest_vs_intake_single", "Ingest against HTTP intake"),
    ):
        fig = _fig(results, section)
        shape = f", {fig['per_request']} per request, {fig['concurrency']} in flight" if fig else ""
        rows.append(
            f"| {label}{shape} | {_num(fig.get('rate'))} mentions/s | intake "
            f"{_num(fig.get('intake_rate'))} mentions/s | **{_num(results.get(key), 2)}** | |"
        )
    fig = _fig(results, "sentiment")
    scorer = _num(results.get("scorer_vs_vader"), 2)
    rows.append(
        f"| Sentiment scorer (all layers), one core | {_num(fig.get('rate'))} texts/s | plain "
        f"VADER {_num(fig.get('vader_rate'))} texts/s | **{scorer}** | {_per_second_target(fig)} |"
    )
    return rows


def _per_second_target(fig: dict[str, Any]) -> str:
    if not fig.get("target_per_second"):
        return ""
    target = fig["target_per_second"]
    return f">= {target:,}/s: {'met' if fig['rate'] >= target else '**missed**'}"


def _other_rows(results: dict[str, Any]) -> list[str]:
    cold = _fig(results, "cold_start")
    rounds = f" (median of {cold['rounds']})" if cold else ""
    rows = [
        f"| Cold start: launch to `/readyz` 200{rounds} | {_num(results.get('cold_start_s'), 2)}"
        " s | |",
        f"| Launch to the first mention stored{rounds} | "
        f"{_num(results.get('first_mention_s'), 2)} s | "
        f"{_target(results, 'first_mention_s', results.get('first_mention_s'))} |",
    ]
    for key, label, unit in (
        ("alert_p50_s", "Alert latency, median", " s"),
        ("alert_p99_s", "Alert latency, 99th percentile", " s"),
        ("series_max_live", "Most series live at once", ""),
        ("rss_slope_kb_per_1k_mentions", "Worker memory growth per 1,000 mentions", " KB"),
        ("fairness_report_sqlite_s", "Fairness report on a year, SQLite", " s"),
        ("fairness_report_postgres_s", "Fairness report on a year, PostgreSQL", " s"),
    ):
        rows.append(f"| {label} | {_num(results.get(key), 2 if unit else 0, unit)} | |")
    return rows


def _profile(results: dict[str, Any]) -> list[str]:
    prof = _fig(results, "profile")
    if not prof.get("top_cumulative"):
        return ["No profile in this run" + _why(results, "profile") + "."]
    lines = [
        f"`{prof.get('tool', 'py-spy')}` on the worker during one more end-to-end run of "
        f"{_num(prof.get('mentions'))} mentions on SQLite ({_num(prof.get('run_seconds'), 1)} s). "
        f"{_num(prof['samples'])} busy samples ({_num(prof.get('idle_samples_left_out'))} idle "
        "ones, threads waiting on a queue, a pipe or in epoll, left out): "
        f"{hotspots.split(prof)}. Share = the busy samples in which the function was on the "
        "stack (cumulative) or innermost (own), over all threads and processes; thread and "
        "process start-up, event loop and CLI frames, which sit under everything, are not "
        "listed.",
        "",
        "| # | cumulative | function |",
        "|---:|---:|---|",
    ]
    lines += [
        f"| {i} | {row['share']:.1%} | `{row['function']}` |"
        for i, row in enumerate(prof["top_cumulative"], start=1)
    ]
    lines += ["", "Top own time:", "", "| own | function |", "|---:|---|"]
    lines += [f"| {row['share']:.1%} | `{row['function']}` |" for row in prof.get("top_own", [])]
    return lines


def _why(results: dict[str, Any], name: str) -> str:
    reason = results.get("errors", {}).get(name) or results.get("skipped", {}).get(name)
    return f" ({reason})" if reason else ""


def _missing(results: dict[str, Any]) -> list[str]:
    lines = []
    for name, reason in {**results.get("skipped", {}), **results.get("errors", {})}.items():
        lines.append(f"- `{name}`: {reason}")
    return lines


def _tail_note(results: dict[str, Any]) -> str:
    lags = []
    for section in ("e2e_sqlite", "e2e_postgres", "e2e_postgres_2_workers"):
        fig = _fig(results, section)
        if fig.get("tail_windows_open"):
            lags.append(
                f"{_num(fig['watermark_lag_s'])} s of event time "
                f"({fig.get('tail_windows_open', 0)} windows) in `{section}`"
            )
    return ", ".join(lags) if lags else "none in this run"


def render(results: dict[str, Any]) -> str:
    machine = results.get("machine", {})
    size = results.get("sizes", {})
    quick = results.get("quick")
    lines = [
        "# Benchmarks",
        "",
        f"Measured {results.get('date', '?')} by `{results.get('command', 'make bench')}`"
        + (" (**quick smoke run: small N, read the ratios loosely**)" if quick else "")
        + f", {_num(size.get('mentions'))} mentions per end-to-end run, in "
        f"{_num(results.get('seconds'))} s. Every throughput figure is a ratio to a reference "
        "measured in the same run on the same machine, so it travels between machines; the "
        "absolute rates do not. Machine: "
        f"{machine.get('cpus', '?')} CPUs ({machine.get('cpu') or 'unknown'}), "
        f"{machine.get('memory_gb', '?')} GB, {machine.get('platform', '?')}, Python "
        f"{machine.get('python', '?')}, faust-streaming {machine.get('faust', '?')}, aiokafka "
        f"{machine.get('aiokafka', '?')}, SQLite {machine.get('sqlite', '?')}, PostgreSQL "
        f"{machine.get('postgres') or '?'}; load average at the start "
        f"{machine.get('load_average_at_start', '?')}; commit {machine.get('commit', '?')}"
        + (" with uncommitted changes" if machine.get("uncommitted_changes") else "")
        + ". The raw figures are in [bench/results.json](bench/results.json).",
        "",
        "## Throughput",
        "",
        "| figure | crisismon | reference (same run) | ratio | target |",
        "|---|---:|---:|---:|---|",
        *_throughput_rows(results),
        "",
        "## Latency, start-up, memory",
        "",
        "| figure | value | target |",
        "|---|---:|---|",
        *_other_rows(results),
        "",
    ]
    missing = _missing(results)
    if missing:
        lines += ["Not measured in this run:", "", *missing, ""]
    lines += [
        "## What each figure means",
        "",
        "- **End to end** (`bench/e2e.py`): N mentions (back-to-back generated outage "
        "scenarios; tickets from 2,000 imported customers, so the segment fan-out is paid) are "
        "replayed with `crisismon replay`'s code into a running embedded service (Tansu, a "
        "worker, SQLite or a fresh PostgreSQL database). The clock runs from the start of the "
        "replay until every mention is stored **and** every window the watermark has passed is "
        "closed and scored (no `series_windows` row with `closed = false` ends at or before "
        "the watermark). The watermark is event time − `allowed_lateness_seconds`, with event "
        "time as the engine advances it: the lowest of its per-partition highest event times. "
        "When one partition's last records are older than the newest mention, the windows in "
        "between close only when later mentions (or, live, the clock) arrive; that tail is not "
        f"waited for, and its length is reported: {_tail_note(results)}. "
        "`python -m bench.e2e --strict` waits for it too, and so stalls.",
        "- **Faust pass-through** (`bench/passthrough.py`), the reference: a separate Faust app "
        "(own app id, own process) with the same settings as `monitor/app.py` and one agent, "
        "`async for value in stream: await b.send(value=value)`, from topic A to topic B, raw "
        "bytes, as many partitions as `mentions.raw`. The same N mention payloads are produced "
        "to A first, one mention per record; the clock runs from the first record the agent "
        "consumes until N records are in B. It runs on the service's broker just before the "
        "pipeline, with the idle worker running. Any Faust agent pays this per record, so the "
        "ratio says what the pipeline's work costs on top of merely moving the mentions.",
        "- **2 workers against 1**: the PostgreSQL end-to-end rate with a second "
        "`crisismon worker` on the same broker and database (started once the first is ready, "
        "and waited for until the partitions are shared out), over the 1-worker rate of the "
        "run before it. Both workers share the machine's CPUs with the broker and PostgreSQL.",
        "- **Ingest against HTTP intake** (`bench/intake.py`): the same mentions POSTed to "
        "`/api/mentions` with aiohttp (JSON arrays, several requests in flight); intake is N / "
        "time until the last 202, ingest is N / time until stored and scored, both counted "
        "from the first request. 1.0 means ingest keeps pace with what HTTP accepts; below, "
        "a backlog builds on the broker. The web server runs in the worker's process.",
        "- **Sentiment scorer** (`bench/sentiment.py`): the default scorer (language, rules, "
        "learned correction) against plain VADER on the same texts, one core, best of 3 passes.",
        "- **Cold start** (`bench/startup.py`): a fresh embedded service (broker, SQLite file, "
        "worker, web) from launch until `/readyz` answers 200 (broker, database and partitions "
        "all there), and until the first POSTed mention is stored.",
        "- **Alert latency** (`bench/alert_latency.py`) and **memory** (`bench/memory.py`) "
        "are their own modules; `run_all` calls their `measure()` when they exist.",
        "",
        "## Profile",
        "",
        *_profile(results),
        "",
        "## Reproduce",
        "",
        "```sh",
        "make bench                                # everything, N = 20,000 (bench.memory's",
        "                                          # soak is most of the time)",
        "make bench BENCH_ARGS=--quick             # a smoke run with small N, minutes",
        "make bench BENCH_ARGS='--skip memory'     # sections: --only / --skip NAME,NAME",
        ".venv/bin/python -m bench.e2e 20000 --backend postgres --workers 2",
        ".venv/bin/python -m bench.intake 20000 --per-request 1 --concurrency 16",
        ".venv/bin/python -m bench.passthrough 20000",
        ".venv/bin/python -m bench.hotspots 20000  # py-spy, needs ptrace rights",
        ".venv/bin/python -m bench.run_all --render  # BENCHMARKS.md again from results.json",
        "```",
        "",
        "PostgreSQL is expected at `127.0.0.1:5432`, user `postgres`, trust authentication "
        "(as for the tests); each run creates and drops its own database. Set "
        "`CRISISMON_BENCH_POSTGRES` to an admin URL to use another server. The machine these "
        "ran on is shared, so figures move between runs by 10 to 30 %; compare ratios, and "
        "run twice before believing a change smaller than that.",
        "",
    ]
    return "\n".join(lines)
