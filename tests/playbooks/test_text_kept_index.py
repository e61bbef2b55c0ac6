"""Retention's index on the mentions whose text is kept reaches every database: those that ran
the first migration 0005c (without it) and those that ran its later edit (with it)."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from sqlalchemy import Engine, inspect, text

from monitor.settings import Settings
from monitor.storage.db import make_engine
from monitor.storage.migrate import upgrade

INDEX = "ix_mentions_text_kept"


@pytest.fixture
def fresh_engine(database_url: str) -> Iterator[Engine]:
    engine = make_engine(Settings(database_url=database_url).resolved_database_url)
    yield engine
    engine.dispose()


def _indexes(engine: Engine) -> set[str]:
    return {str(index["name"]) for index in inspect(engine).get_indexes("mentions")}


def test_a_database_that_ran_the_first_0005c_gets_the_index(fresh_engine):
    upgrade(fresh_engine, "0005c")
    assert INDEX not in _indexes(fresh_engine)

    upgrade(fresh_engine)

    assert INDEX in _indexes(fresh_engine)


def test_a_database_that_ran_the_edited_0005c_upgrades_without_error(fresh_engine):
    upgrade(fresh_engine, "0005c")
    with fresh_engine.begin() as conn:  # what the edited 0005c created
        conn.execute(
            text(
                f"CREATE INDEX {INDEX} ON mentions (ingest_time, mention_id)"
                " WHERE text <> '[EXPIRED]' AND text <> '[ERASED]'"
            )
        )

    upgrade(fresh_engine)

    assert INDEX in _indexes(fresh_engine)
