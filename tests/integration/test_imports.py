"""File imports through a real worker and broker: store exports and a mapped CSV, dead letters."""

from __future__ import annotations

import asyncio
import json
from pathlib import Path

from sqlalchemy import func, select
from sqlmodel import Session

from monitor.privacy import Privacy
from monitor.storage.models import DeadLetter, Mention, SeriesWindow
from streams.mapping import load_mapping, mapped_reader
from streams.replay import replay
from streams.sources.stores import store_reader
from tests.conftest import TEST_PSEUDONYM_KEY, service_env, unique_namespace, wait_until
from tests.integration.helpers import engine_for, mention_count

STORES = Path(__file__).resolve().parent.parent / "data" / "stores"
REPLAY = Path(__file__).resolve().parent.parent / "data" / "replay"


def test_store_exports_become_rated_reviews_and_unusable_entries_dead_letters(
    tansu, start_worker, tmp_path: Path
):
    database_url = f"sqlite:///{tmp_path / 'imports.db'}"
    namespace = unique_namespace()
    start_worker(
        service_env(
            broker_url=tansu,
            database_url=database_url,
            data_dir=tmp_path / "data",
            namespace=namespace,
            slack=None,
        )
    )
    engine = engine_for(database_url)
    for store, name, source in [
        ("appstore", "appstore_reviews.json", "ios"),
        ("googleplay", "googleplay_reviews.json", "android"),
    ]:
        report = asyncio.run(
            replay(
                STORES / name,
                broker_url=tansu,
                mentions_topic=f"{namespace}.mentions.raw",
                dead_letter_topic=f"{namespace}.dead-letter",
                privacy=Privacy.from_key(TEST_PSEUDONYM_KEY),
                reader=store_reader(store, source=source, product="shop-app"),
            )
        )
        assert (report.published, report.rejected) == (2, 1)

    wait_until(lambda: mention_count(engine) == 4, 30, "four reviews stored")
    with Session(engine) as session:
        ratings = dict(
            session.execute(
                select(Mention.source, func.sum(Mention.rating)).group_by(Mention.source)
            ).all()
        )  # type: ignore[call-overload]
        windows = session.execute(
            select(func.sum(SeriesWindow.n_rated), func.sum(SeriesWindow.sum_rating)).where(
                SeriesWindow.series == "reviews"
            )
        ).one()
    assert ratings == {"ios": 6.0, "android": 5.0}
    assert tuple(windows) == (4, 11.0)

    def letters() -> list[DeadLetter]:
        with Session(engine) as session:
            return list(session.execute(select(DeadLetter)).scalars())

    wait_until(lambda: len(letters()) == 2, 30, "two dead letters")
    by_reason = {letter.reason: json.loads(letter.payload) for letter in letters()}
    assert set(by_reason) == {
        "appstore_reviews.json line 3: appstore entry 3: review "
        "00000049-d9fc-6e03-a7b4-1e6f00000003 has no rating",
        "googleplay_reviews.json line 3: googleplay entry 3: review "
        "gp:AOqpTOFmAVORqfWGcaqfF39ftwFjGkjecjvcXnC3c3 has no userComment",
    }
    # Each dead letter carries the whole entry, ready to repair and replay.
    records = sorted(json.dumps(p["record"]) for p in by_reason.values())
    assert any("A Google user" in r for r in records)
    assert any("No stars?" in r for r in records)

    # A helpdesk CSV in its own shape, through a YAML column mapping.
    report = asyncio.run(
        replay(
            REPLAY / "helpdesk_export.csv",
            broker_url=tansu,
            mentions_topic=f"{namespace}.mentions.raw",
            dead_letter_topic=f"{namespace}.dead-letter",
            privacy=Privacy.from_key(TEST_PSEUDONYM_KEY),
            reader=mapped_reader(load_mapping(REPLAY / "helpdesk_mapping.yaml")),
        )
    )
    assert (report.published, report.rejected) == (2, 2)
    wait_until(lambda: mention_count(engine) == 6, 30, "the two helpdesk tickets")
    wait_until(lambda: len(letters()) == 4, 30, "their two unusable rows as dead letters")
    with Session(engine) as session:
        tickets = session.execute(
            select(Mention).where(Mention.source == "helpdesk")  # type: ignore[arg-type]
        ).scalars()
        assert sorted(t.external_id for t in tickets) == ["HD-1", "HD-2"]
