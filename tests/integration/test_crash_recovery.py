"""A worker killed with SIGKILL mid-replay loses nothing and counts nothing twice."""

from __future__ import annotations

import threading
from datetime import timedelta
from pathlib import Path

from streams.scenario import outage_scenario
from tests.conftest import service_env, unique_namespace, wait_until
from tests.integration.helpers import (
    aggregates_vs_recount,
    engine_for,
    fixed_end,
    mention_count,
    publish,
    write,
)


def test_sigkill_mid_replay_then_restart_keeps_counts_exact(
    database_url, tansu, start_worker, tmp_path: Path
):
    namespace = unique_namespace()
    env = service_env(
        broker_url=tansu,
        database_url=database_url,
        data_dir=tmp_path / "data",
        namespace=namespace,
        slack=None,
    )
    worker = start_worker(env)
    engine = engine_for(database_url)

    # Several scenario days back to back: enough records that the kill lands mid-stream.
    items = []
    for day in range(6):
        items += outage_scenario(end=fixed_end() + timedelta(days=day), run_id=f"crash{day}")
    path = write(items, tmp_path / "many.jsonl")

    publisher = threading.Thread(
        target=publish, kwargs={"path": path, "broker_url": tansu, "namespace": namespace}
    )
    publisher.start()
    wait_until(lambda: mention_count(engine) >= 1500, 60, "the worker to be mid-replay")
    worker.kill()
    stored_at_kill = mention_count(engine)
    publisher.join(60)
    assert stored_at_kill < len(items), "the kill came too late to test anything"

    start_worker(env)
    wait_until(
        lambda: mention_count(engine) == len(items),
        120,
        f"all {len(items)} mentions after the restart",
    )
    stored, recount = aggregates_vs_recount(engine)
    assert sum(n for n, _ in stored.values()) == sum(n for n, _ in recount.values())
    assert stored == recount
