"""The memory bench's result as a table on the terminal."""

from __future__ import annotations

from typing import Any


def series_line(run: dict[str, Any]) -> str:
    return (
        f"series {run['series']:>6,}: {run['mentions']:>8,} mentions, ingest "
        f"{run['ingest_s']:>6.1f} s, longest stall {run['longest_stall_s']:>5.1f} s, closing "
        f"{run['closing_s']:>6.1f} s, live series {run['live_series']:>6,}, worker "
        f"{run['worker_total_rss_mb']} MB (main {run['worker_rss_mb']}, children "
        f"{run['worker_children_rss_mb']}), broker {run['broker_rss_mb']} MB"
    )


def print_result(result: dict[str, Any]) -> None:
    print(
        f"{'series':>7} {'mentions':>9} {'ingest s':>9} {'1st s':>6} {'stall s':>8} "
        f"{'closing s':>10} {'live':>7} {'orphans':>8} {'worker MB':>10} {'main MB':>8} "
        f"{'broker MB':>10}  ok"
    )
    for run in result["series"]:
        if "error" in run:
            print(f"{run['series']:>7,}  failed: {run['error'].splitlines()[0]}")
            continue
        print(
            f"{run['series']:>7,} {run['mentions']:>9,} {run['ingest_s']:>9.1f} "
            f"{run['first_stored_s']!s:>6} {run['longest_stall_s']:>8.2f} "
            f"{run['closing_s']:>10.1f} {run['live_series']:>7,} "
            f"{run['orphaned_open_windows']:>8,} {run['worker_total_rss_mb']!s:>10} "
            f"{run['worker_rss_mb']!s:>8} {run['broker_rss_mb']!s:>10}  "
            f"{'yes' if run['ok'] else 'no'}"
        )
    print(
        f"series_max_live (stall <= {result['stall_limit_s']:.0f} s): {result['series_max_live']}"
        "\n(worker MB: the worker and its detect and scoring processes; main MB: the worker alone)"
    )
    for run in result["series"]:
        for line in run.get("orphaned_examples", []):
            print(f"  left open ({run['series']:,} series): {line}")
        for line in run.get("worker_log_problems", []):
            print(f"  worker log ({run['series']:,} series): {line}")
    soak = result.get("soak")
    if not soak:
        return
    if "error" in soak:
        print(f"soak failed: {soak['error']}")
        return
    print(
        f"\nsoak: {soak['mentions']:,} mentions, {soak['products']:,} products, "
        f"{soak['event_minutes']} min of event time; ingest {soak['ingest_s']} s, longest stall "
        f"{soak['longest_stall_s']} s, closing {soak['closing_s']} s, broker recycles "
        f"{soak['broker_recycles']} ({soak['broker_recycle']}; at "
        f"{soak['broker_recycled_at_stored']} mentions stored)"
    )
    print(
        f"{'stored':>9} {'published':>10} {'elapsed s':>10} {'worker MB':>10} {'main MB':>8} "
        f"{'broker MB':>10}"
    )
    for s in soak["samples"]:
        print(
            f"{s['mentions_stored']:>9,} {s['mentions_published']:>10,} {s['elapsed_s']:>10} "
            f"{s['worker_total_rss_mb']!s:>10} {s['worker_rss_mb']!s:>8} "
            f"{s['broker_rss_mb']!s:>10}"
        )
    print(
        f"worker RSS slope: {soak['rss_slope_kb_per_1k_mentions']} KB per 1,000 mentions "
        f"(main process alone {soak['worker_process_rss_slope_kb_per_1k_mentions']}); broker: "
        f"{soak['broker_rss_slope_kb_per_1k_mentions']} KB per 1,000 mentions (after 20 % warm-up)"
    )
    for line in soak.get("worker_log_problems", []):
        print(f"  worker log (soak): {line}")
