"""Dimensions through a real worker and broker: mentions POSTed with a region (top level or in
``attributes``) count in region:<value> windows, values beyond the cap in region:other, the
attributes are stored with the mention, and bad attributes are refused with the reason."""

from __future__ import annotations

import asyncio
import json
import shutil
from datetime import timedelta
from pathlib import Path

import aiohttp
from sqlalchemy import func, select
from sqlmodel import Session

from monitor.storage.models import DeadLetter, DimensionValue, Mention, SeriesWindow
from tests.conftest import INTAKE_HEADERS, REPO, service_env, unique_namespace, wait_until
from tests.integration.helpers import engine_for, fixed_end, mention_count, publish, write

DIMENSIONS = "dimensions:\n  region: {max_values: 2}\n  plan: {}\n"


async def post(url: str, body: object) -> tuple[int, dict[str, object]]:
    async with (
        aiohttp.ClientSession() as session,
        session.post(url, json=body, headers=INTAKE_HEADERS) as response,
    ):
        return response.status, await response.json()


def region_counts(engine) -> dict[str, int]:
    table = SeriesWindow.__table__  # type: ignore[attr-defined]
    with Session(engine) as session:
        rows = session.execute(
            select(table.c.series, func.sum(table.c.n))
            .where(table.c.series.like("region:%"))
            .group_by(table.c.series)
        ).all()
    return {series: int(n) for series, n in rows}


def test_regions_count_in_their_own_series_and_the_rest_in_other(
    database_url, tansu, start_worker, tmp_path: Path
):
    config = tmp_path / "config"
    config.mkdir()
    shutil.copy(REPO / "config" / "detection.yaml", config / "detection.yaml")
    (config / "dimensions.yaml").write_text(DIMENSIONS)
    namespace = unique_namespace()
    env = service_env(
        broker_url=tansu,
        database_url=database_url,
        data_dir=tmp_path / "data",
        namespace=namespace,
        slack=None,
    )
    env["CRISISMON_CONFIG_DIR"] = str(config)
    worker = start_worker(env)
    engine = engine_for(database_url)

    start = fixed_end() - timedelta(minutes=30)
    regions = ["EU", "us", "eu", "apac", "EU", "br", "US", "eu"]
    mentions = [
        {
            "source": "tickets",
            "external_id": f"d-{i}",
            "text": "Payment declined at checkout",
            "event_time": (start + timedelta(seconds=10 * i)).isoformat(),
            # Half top level, half in the attributes object: both are the same attribute.
            **({"region": region} if i % 2 else {"attributes": {"region": region}}),
            "plan": "Pro",
        }
        for i, region in enumerate(regions)
    ]
    status, answer = asyncio.run(post(f"{worker.web_url}/api/mentions", mentions))
    assert status == 202, answer

    bad = {**mentions[0], "external_id": "bad", "customer": {"id": 7}}
    status, answer = asyncio.run(post(f"{worker.web_url}/api/mentions", bad))
    assert status == 400 and "field 'customer' is an object" in str(answer["error"])

    wait_until(lambda: mention_count(engine) == len(regions), 60, "every mention stored")
    wait_until(lambda: sum(region_counts(engine).values()) == 8, 30, "the region windows")
    # The two earliest values won the two places; later ones count in region:other.
    assert region_counts(engine) == {"region:eu": 4, "region:us": 2, "region:other": 2}
    with Session(engine) as session:
        admitted = session.execute(select(DimensionValue.__table__)).all()  # type: ignore[attr-defined]
        stored = session.execute(
            select(Mention.__table__.c.attributes).where(  # type: ignore[attr-defined]
                Mention.__table__.c.external_id == "d-3"  # type: ignore[attr-defined]
            )
        ).scalar_one()
    assert {(r.dimension, r.value) for r in admitted} == {
        ("region", "eu"),
        ("region", "us"),
        ("plan", "pro"),
    }
    assert json.loads(stored) == {"plan": "Pro", "region": "apac"}

    # A replayed record with a nested unknown field becomes a dead letter with the reason.
    path = write([{**bad, "external_id": "bad-2"}], tmp_path / "bad.jsonl")
    report = publish(path, broker_url=tansu, namespace=namespace)
    assert report.rejected == 1

    def letters() -> list[DeadLetter]:
        with Session(engine) as session:
            return list(session.exec(select(DeadLetter)).scalars())  # type: ignore[call-overload]

    wait_until(lambda: len(letters()) == 1, 30, "the dead letter")
    assert "field 'customer' is an object" in letters()[0].reason
