"""Alert latency: from the close of a burst's window to Slack receiving its alert, live.

The embedded service (Tansu, SQLite, a worker) runs on a copy of ``config/`` with a short time
scale, and posts its alerts with the real Slack client to a fake Slack Web API on loopback,
which stamps each ``chat.postMessage`` with the wall clock when it arrives. Mentions go in
through ``POST /api/mentions`` with ``event_time`` = now, as a live source sends them:

* steady traffic (a Poisson stream, a share of it tagged with one of the products) runs from
  the start to the end, so every series is warm and live before the first burst;
* then every ``PERIOD_WINDOWS`` windows one burst: ``BURST_SIZE`` complaints in one request at
  the start of a window, all tagged with a product of their own (``product:bpNN``), so each
  burst is its own incident and its alert names the burst's series.

Latency is the fake Slack's receive time of the alert that names the burst's product minus the
moment the burst window *could* first be judged: its end plus ``allowed_lateness_seconds``, on
the wall clock. Whatever closes windows (a timer, event-time ticks, a deadline), that is the
earliest a correct engine may alert, so the number is comparable across engines. Bursts that
never alert, alerts shared by two bursts and alerts that name no burst are reported, not hidden.

What the copy of ``config/detection.yaml`` changes (everything else is as shipped, including
``incidents.alert_gather_seconds``), see `TIMESCALE`:

* 1 s windows, 1 s lateness and 10 warm-up windows, so the run takes minutes, not hours. An
  odd window length also matters: live windows were closed by a 2 s timer, and with an even
  one every deadline would fall at the same phase of that timer, sampling one latency only;
* ``spike_span_windows: 1``: a span finding would flag the windows after a burst as well and
  chain every burst into one incident (bursts are seconds apart here, not hours);
* ``merge_gap_seconds: 0``: anomalies merge only into an incident whose windows they touch.

Where the time goes: after the run the database (window closed, incident opened, alert
claimed) and the broker's record timestamps (anomaly sent, paging event sent) give each burst's
moments, measured from the same deadline; see `STAGES`.

Run: ``python -m bench.alert_latency [--bursts 50]``; about 30 s plus 5 s per burst.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import random
import shutil
import tempfile
import threading
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

from bench.alert_latency_results import (
    STAGES,
    Published,
    Stored,
    match_alerts,
    percentile,
    percentile_summary,
    published,
    rounded,
    stage_delays,
)
from bench.alert_latency_service import (
    SLACK_CHANNEL,
    SLACK_TOKEN,
    bench_config,
    fake_slack,
    live_service,
)
from bench.alert_latency_traffic import (
    BURST_OFFSET,
    BURST_SIZE,
    DRAIN_SECONDS,
    LATENESS_SECONDS,
    PERIOD_WINDOWS,
    RATE,
    TIMESCALE,
    WARM_WINDOWS,
    WINDOW_SECONDS,
    Burst,
    MentionSender,
    iso,
    product_name,
    run_traffic,
)
from bench.sustained import live_load
from monitor.shell.service import ServiceError


def measure(
    bursts: int = 50,
    *,
    seed: int = 7,
    verbose: bool = False,
    worker_log: Path | None = None,
    background: int = 0,
) -> dict[str, Any]:
    """Run the service live, send ``bursts`` bursts and measure each one's alert latency.

    ``worker_log``: where to keep a copy of the worker's log (it lives in a temporary dir).
    ``background``: that many more clients post ordinary mentions in batches of 100 as fast
    as the service takes them, the whole time (`bench.sustained.live_load`): bursts inside a
    sustained load."""
    if not 1 <= bursts <= 100:
        raise ValueError("bursts must be 1-100 (one product each)")
    rng = random.Random(seed)
    load_before = os.getloadavg()
    say: Callable[[str], None] = print if verbose else (lambda _msg: None)
    products = [product_name(i) for i in range(bursts)]
    with tempfile.TemporaryDirectory() as tmp, fake_slack() as slack:
        bench_config(Path(tmp) / "config")
        env = {
            "CRISISMON_SLACK_BOT_TOKEN": SLACK_TOKEN,
            "CRISISMON_SLACK_CHANNEL": SLACK_CHANNEL,
            "CRISISMON_SLACK_BASE_URL": slack.url,
        }
        with live_service(Path(tmp), env) as service:
            started = time.monotonic()
            try:
                service.start(on_step=say)
            except ServiceError:
                if service.worker_log is not None and service.worker_log.exists():
                    tail = service.worker_log.read_text(errors="replace").splitlines()[-30:]
                    print("worker log (last lines):", *tail, sep="\n  ")
                raise
            now = time.time()
            first_window = now - now % WINDOW_SECONDS + WINDOW_SECONDS * (WARM_WINDOWS + 1)
            plan = [
                Burst(i, p, first_window + i * PERIOD_WINDOWS * WINDOW_SECONDS + BURST_OFFSET)
                for i, p in enumerate(products)
            ]
            last_due = plan[-1].planned + WINDOW_SECONDS + LATENESS_SECONDS
            say(
                f"{bursts} bursts of {BURST_SIZE} mentions from {iso(plan[0].planned)}, "
                f"every {PERIOD_WINDOWS * WINDOW_SECONDS} s; steady traffic {RATE}/s"
            )

            def done(at: float) -> bool:
                alerted = {p for a in slack.alerts() for p in a.products}
                return at > last_due + DRAIN_SECONDS or (at > last_due and alerted >= set(products))

            sender = MentionSender(service.web_url)
            stop_background = threading.Event()
            loaded: dict[str, int] = {}
            if background:
                loader = threading.Thread(
                    target=lambda: loaded.update(
                        asyncio.run(
                            live_load(
                                f"{service.web_url}/api/mentions",
                                stop_background,
                                concurrency=background,
                            )
                        )
                    ),
                    daemon=True,
                )
                loader.start()
            load_started = time.monotonic()
            try:
                sent = run_traffic(sender, plan, until=done, rng=rng, products=products)
            finally:
                sender.close()
                stop_background.set()
            load_seconds = time.monotonic() - load_started
            if background:
                loader.join(60)
            stored = Stored.read(service.settings.resolved_database_url)
            outcomes, stray = match_alerts(plan, slack.alerts(), stored.products_by_incident())
            try:
                sent_records: Published | None = published(service)
            except Exception as exc:  # the broker's view is a bonus; the latency stands without
                say(f"could not read the topics back: {exc}")
                sent_records = None
            stages = stage_delays(stored, outcomes, sent_records)
            worker_errors = _worker_errors(service.worker_log)
            if worker_log is not None and service.worker_log is not None:
                shutil.copyfile(service.worker_log, worker_log)
            elapsed = time.monotonic() - started

    latencies = [o.latency for o in outcomes if o.latency is not None]
    result: dict[str, Any] = {
        "bursts": bursts,
        "alerted": len(latencies),
        "alert_p50_s": rounded(percentile(latencies, 50)),
        "alert_p95_s": rounded(percentile(latencies, 95)),
        "alert_p99_s": rounded(percentile(latencies, 99)),
        "alert_min_s": rounded(min(latencies)) if latencies else None,
        "alert_max_s": rounded(max(latencies)) if latencies else None,
        "not_alerted": [
            {"burst": o.burst.index, "product": o.burst.product, "sent": o.burst.accepted}
            for o in outcomes
            if o.latency is None
        ],
        "alerts_not_naming_their_product": [o.burst.index for o in outcomes if not o.named],
        "shared_alerts": [
            {"burst": o.burst.index, "also_names": list(o.shared_with)}
            for o in outcomes
            if o.shared_with
        ],
        "stray_alerts": [a.body.get("text", "")[:200] for a in stray],
        "stages": {
            name: percentile_summary([s[name] for s in stages.values() if name in s])
            for name in STAGES
        },
        "per_burst": [
            {
                "burst": o.burst.index,
                "product": o.burst.product,
                "deadline": o.burst.deadline,
                "latency_s": rounded(o.latency),
                "stages_s": stages.get(o.burst.index, {}),
            }
            for o in outcomes
        ],
        "mentions_sent": sent,
        "background_clients": background,
        "background_accepted_per_s": (
            round(loaded.get("accepted", 0) / load_seconds, 1) if background else None
        ),
        "background_503": loaded.get("held_503", 0),
        "mention_requests_refused": sender.failures[:10],
        "slack_posts": len(slack.posts),
        "worker_errors": worker_errors,
        "seconds": round(elapsed, 1),
        # The machine is shared: the 1-minute load average before and after the run.
        "load_average": [round(load_before[0], 2), round(os.getloadavg()[0], 2)],
        "cpus": os.cpu_count(),
        "config": {**TIMESCALE, "period_windows": PERIOD_WINDOWS, "burst_size": BURST_SIZE},
    }
    return result


def _worker_errors(log: Path | None, limit: int = 10) -> list[str]:
    if log is None or not log.exists():
        return []
    lines = log.read_text(errors="replace").splitlines()
    return [line[:300] for line in lines if "ERROR" in line or "Traceback" in line][:limit]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--bursts", type=int, default=50, help="bursts to send (1-100)")
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument("--json", action="store_true", help="print the whole result as JSON")
    parser.add_argument("--worker-log", type=Path, help="keep a copy of the worker's log here")
    parser.add_argument(
        "--background",
        type=int,
        default=0,
        help="clients posting ordinary mentions (batches of 100) as fast as accepted, "
        "throughout: bursts inside a sustained load",
    )
    args = parser.parse_args()
    result = measure(
        args.bursts,
        seed=args.seed,
        verbose=True,
        worker_log=args.worker_log,
        background=args.background,
    )
    if args.json:
        print(json.dumps(result, indent=2))
        return
    print(
        f"alerted {result['alerted']}/{result['bursts']} bursts in {result['seconds']} s; "
        f"latency from window end + lateness to Slack: p50 {result['alert_p50_s']} s, "
        f"p95 {result['alert_p95_s']} s, p99 {result['alert_p99_s']} s "
        f"(min {result['alert_min_s']}, max {result['alert_max_s']}); load average "
        f"{result['load_average'][0]} before, {result['load_average'][1]} after, "
        f"{result['cpus']} CPUs"
    )
    print("seconds after the deadline (window end + lateness) when each stage was reached:")
    for name, summary in result["stages"].items():
        figures = ", ".join(f"{k[:-2]} {v}" for k, v in summary.items())
        print(f"  {name:<16} {figures:<36} {STAGES[name]}")
    for key in (
        "not_alerted",
        "alerts_not_naming_their_product",
        "shared_alerts",
        "stray_alerts",
        "mention_requests_refused",
    ):
        if result[key]:
            print(f"{key}: {result[key]}")
    if result["worker_errors"]:
        print("worker log errors:", *result["worker_errors"], sep="\n  ")


if __name__ == "__main__":
    main()
