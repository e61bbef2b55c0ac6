"""Replay with a YAML column mapping: other exports in, clear reasons for rows that do not fit."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

import pytest

from streams.mapping import load_mapping, mapped_reader
from streams.privacy import Privacy
from streams.replay import ReplayError, Unusable, validate_one

DATA = Path(__file__).resolve().parent.parent / "data" / "replay"
PRIVACY = Privacy.from_key("unit-test-key-0123456789")


def test_helpdesk_export_maps_onto_mentions_and_bad_rows_say_why():
    reader = mapped_reader(load_mapping(DATA / "helpdesk_mapping.yaml"))
    records = list(reader(DATA / "helpdesk_export.csv"))
    results = [
        validate_one(r, default_source=None, now=datetime.now(UTC), privacy=PRIVACY)
        for _, r in records
    ]
    first, second, third, fourth = results
    assert first.source == "helpdesk" and first.external_id == "HD-1"
    assert first.event_time == datetime(2026, 1, 5, 9, 58, tzinfo=UTC)
    assert first.rating == 1.0 and first.network == "chat"
    assert first.author == PRIVACY.pseudonymiser.pseudonym("author", "ana@example.com")
    assert second.rating is None  # an empty cell is a missing field
    assert third == "column 'Opened' (event_time): 'yesterday' does not match '%d/%m/%Y %H:%M'"
    assert fourth == "column 'Stars' (rating): 'five' is not a number"
    # The line numbers are the file's, and the unusable rows keep their original cells.
    assert [n for n, _ in records] == [2, 3, 4, 5]
    assert isinstance(records[2][1], Unusable) and records[2][1].original["Ticket ID"] == "HD-3"


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("columns: {body: text}", "columns.body"),
        ("columns: {}", "columns"),
        ("constants: {source: x}", "columns"),
        ("columns: [", "not valid YAML"),
    ],
)
def test_a_broken_mapping_is_one_line_naming_the_key(tmp_path, text, message):
    path = tmp_path / "mapping.yaml"
    path.write_text(text)
    with pytest.raises(ReplayError, match=message):
        load_mapping(path)
