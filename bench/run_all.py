"""Every benchmark in one run: ``make bench`` (``python -m bench.run_all [--quick]``).

Runs, in this order, each on fresh services, and carries on past a section that fails (its
error is recorded): cold start; end to end on SQLite, on PostgreSQL, and on PostgreSQL with two
workers, each against the Faust pass-through reference measured on the same broker just before;
ingest against HTTP intake (batched and one mention per request); the sentiment scorer against
plain VADER; a py-spy profile of the worker through one more end-to-end run; and, when their
modules exist, alert latency (`bench.alert_latency`) and memory (`bench.memory`).

Writes ``bench/results.json`` (stable keys, see `STABLE_KEYS`; every throughput figure with its
reference and their ratio; the machine and the date) and ``BENCHMARKS.md`` (rendered from it by
`bench.report`). ``--quick`` runs small N, for a smoke run in a couple of minutes.
``--render`` only renders BENCHMARKS.md again from the existing results.json.
"""

from __future__ import annotations

import argparse
import importlib
import importlib.util
import inspect
import json
import sys
import time
import traceback
from collections.abc import Callable, Collection
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from bench import e2e, hotspots, intake, report, sentiment, startup
from bench.common import machine_info, ratio

ROOT = Path(__file__).resolve().parent.parent
RESULTS = ROOT / "bench" / "results.json"
MARKDOWN = ROOT / "BENCHMARKS.md"

SCHEMA = 1
# Present in every results.json, null when their section did not run or failed.
STABLE_KEYS = (
    "e2e_vs_passthrough_sqlite",
    "e2e_vs_passthrough_postgres",
    "ingest_vs_intake",
    "alert_p50_s",
    "alert_p99_s",
    "cold_start_s",
    "series_max_live",
    "rss_slope_kb_per_1k_mentions",
    "workers_2_vs_1_postgres",
    "ingest_vs_intake_single",
    "first_mention_s",
    "scorer_vs_vader",
    "stored_vs_accepted_sustained",
    "fairness_report_sqlite_s",
    "fairness_report_postgres_s",
)
TARGETS = {
    "e2e_vs_passthrough_sqlite": (">=", 0.5),
    "e2e_vs_passthrough_postgres": (">=", 0.4),
    "first_mention_s": ("<=", startup.TARGET_SECONDS),
    "stored_vs_accepted_sustained": (">=", 0.9),
}

# Benchmarks written separately: module, the keys of its result that become stable keys,
# and the keyword arguments of a quick run (passed only where `measure` takes them).
OPTIONAL: dict[str, tuple[tuple[str, ...], dict[str, Any]]] = {
    "alert_latency": (("alert_p50_s", "alert_p99_s"), {"bursts": 5}),
    "sustained": (("stored_vs_accepted_sustained",), {"seconds": 20}),
    # The fairness report on a generated year (bench/fairness.py); quick: a tenth of a year.
    "fairness": (
        ("fairness_report_sqlite_s", "fairness_report_postgres_s"),
        {"mentions": 250_000},
    ),
    "memory": (
        ("series_max_live", "rss_slope_kb_per_1k_mentions"),
        {
            "series_counts": (200,),
            "soak_mentions": 20_000,
            "soak_products": 500,
            "sample_every": 2_000,
        },
    ),
}


def sizes(quick: bool, n: int | None) -> dict[str, int]:
    mentions = n or (2_000 if quick else 20_000)
    return {
        "mentions": mentions,
        "single_requests": max(200, mentions // (4 if quick else 5)),
        "cold_start_rounds": 1 if quick else 3,
    }


def _optional(
    name: str, quick: bool, extra: dict[str, Any] | None = None
) -> Callable[[], dict[str, Any]] | None:
    if importlib.util.find_spec(f"bench.{name}") is None:
        return None
    module = importlib.import_module(f"bench.{name}")
    measure: Callable[..., dict[str, Any]] = module.measure
    params = inspect.signature(measure).parameters
    kwargs: dict[str, Any] = {}
    if "quick" in params:
        kwargs["quick"] = quick
    elif quick:
        kwargs = {k: v for k, v in OPTIONAL[name][1].items() if k in params}
    kwargs.update({k: v for k, v in (extra or {}).items() if k in params})
    # Progress lines, so a long section does not look hung.
    if "on_step" in params:
        kwargs["on_step"] = lambda message: print(f"   {message}", flush=True)
    elif "verbose" in params:
        kwargs["verbose"] = True
    return lambda: measure(**kwargs)


def sections(
    quick: bool, size: dict[str, int], soak: int | None = None
) -> dict[str, Callable[[], dict[str, Any]] | None]:
    n = size["mentions"]
    return {
        "cold_start": lambda: startup.measure(size["cold_start_rounds"]),
        "e2e_sqlite": lambda: e2e.measure(n, backend="sqlite"),
        "e2e_postgres": lambda: e2e.measure(n, backend="postgres"),
        "e2e_postgres_2_workers": lambda: e2e.measure(n, backend="postgres", workers=2),
        "intake": lambda: intake.measure(n),
        "intake_single": lambda: intake.measure(
            size["single_requests"], per_request=1, concurrency=16
        ),
        "sentiment": lambda: sentiment.measure(5_000 if quick else 20_000),
        "profile": lambda: hotspots.measure(n),
        "alert_latency": _optional("alert_latency", quick),
        "sustained": _optional("sustained", quick),
        "memory": _optional("memory", quick, {"soak_mentions": soak} if soak else None),
        "fairness": _optional("fairness", quick),
    }


def _get(figures: dict[str, Any], section: str, key: str) -> Any:
    value = figures.get(section)
    return value.get(key) if isinstance(value, dict) else None


def headline(figures: dict[str, Any]) -> dict[str, Any]:
    """The stable keys from the sections' results."""
    one, two = figures.get("e2e_postgres"), figures.get("e2e_postgres_2_workers")
    out: dict[str, Any] = {
        "e2e_vs_passthrough_sqlite": _get(figures, "e2e_sqlite", "ratio"),
        "e2e_vs_passthrough_postgres": _get(figures, "e2e_postgres", "ratio"),
        "ingest_vs_intake": _get(figures, "intake", "ratio"),
        "ingest_vs_intake_single": _get(figures, "intake_single", "ratio"),
        "cold_start_s": _get(figures, "cold_start", "ready_s"),
        "first_mention_s": _get(figures, "cold_start", "first_mention_s"),
        "scorer_vs_vader": _get(figures, "sentiment", "ratio"),
        "workers_2_vs_1_postgres": (
            ratio(two.get("rate"), one.get("rate"))
            if isinstance(one, dict) and isinstance(two, dict)
            else None
        ),
    }
    for name, (keys, _quick) in OPTIONAL.items():
        for key in keys:
            out[key] = _get(figures, name, key)
    return {key: out.get(key) for key in STABLE_KEYS}


def describe(name: str, result: dict[str, Any]) -> str:
    if name.startswith("e2e"):
        return e2e.describe(result)
    if name.startswith("intake"):
        return intake.describe(result)
    if name == "profile":
        return hotspots.describe(result)
    if name == "sentiment":
        return sentiment.describe(result)
    keys = [k for k, v in result.items() if not isinstance(v, list | dict)]
    return "\n".join(f"  {k}: {result[k]}" for k in keys[:20])


def run(
    quick: bool,
    n: int | None,
    only: set[str] | None,
    skip: Collection[str] = (),
    soak: int | None = None,
) -> dict[str, Any]:
    size = sizes(quick, n)
    started = datetime.now(UTC)
    results: dict[str, Any] = {
        "schema": SCHEMA,
        "date": started.isoformat(timespec="seconds"),
        "command": "python -m bench.run_all" + (" --quick" if quick else ""),
        "quick": quick,
        "sizes": size,
        "machine": machine_info(),
    }
    figures: dict[str, Any] = {}
    errors: dict[str, str] = {}
    skipped: dict[str, str] = {}
    if soak:
        results["sizes"] = {**size, "soak_mentions": soak}
    for name, section in sections(quick, size, soak).items():
        if (only and name not in only) or name in skip:
            skipped[name] = "not asked for (--only/--skip)"
            continue
        if section is None:
            skipped[name] = f"bench/{name}.py does not exist yet"
            print(f"── {name}: skipped, {skipped[name]}", flush=True)
            continue
        print(f"── {name} …", flush=True)
        began = time.monotonic()
        try:
            figures[name] = section()
        except Exception as exc:
            errors[name] = f"{type(exc).__name__}: {exc}"
            print(f"   FAILED: {errors[name]}", flush=True)
            traceback.print_exc(limit=3)
            continue
        print(describe(name, figures[name]), flush=True)
        print(f"   ({time.monotonic() - began:.0f} s)", flush=True)
    results.update(headline(figures))
    results["targets"] = {k: {"op": op, "value": v} for k, (op, v) in TARGETS.items()}
    results["figures"] = figures
    results["skipped"] = skipped
    results["errors"] = errors
    results["seconds"] = round((datetime.now(UTC) - started).total_seconds())
    return results


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="small N: a smoke run")
    parser.add_argument("--n", type=int, help="mentions per end-to-end run (default 20,000)")
    parser.add_argument("--only", help="comma-separated sections, e.g. cold_start,e2e_sqlite")
    parser.add_argument("--skip", help="comma-separated sections not to run, e.g. memory")
    parser.add_argument("--render", action="store_true", help="only re-render BENCHMARKS.md")
    parser.add_argument(
        "--soak", type=int, help="mentions in the memory soak (default: bench.memory's, 1,000,000)"
    )
    parser.add_argument("--results", type=Path, default=RESULTS)
    parser.add_argument("--markdown", type=Path, default=MARKDOWN)
    args = parser.parse_args()
    if args.render:
        results = json.loads(args.results.read_text(encoding="utf-8"))
    else:
        only = set(args.only.split(",")) if args.only else None
        skip = set(args.skip.split(",")) if args.skip else set()
        results = run(args.quick, args.n, only, skip, args.soak)
        args.results.write_text(json.dumps(results, indent=2) + "\n", encoding="utf-8")
    args.markdown.write_text(report.render(results), encoding="utf-8")
    print(f"wrote {args.results} and {args.markdown}")
    summary = {k: results.get(k) for k in STABLE_KEYS}
    print(json.dumps(summary, indent=2))
    if results.get("errors"):
        sys.exit(1)


if __name__ == "__main__":
    main()
