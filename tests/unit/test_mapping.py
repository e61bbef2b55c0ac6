"""Replay with a YAML column mapping: other exports in, clear reasons for rows that do not fit."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

import pytest

from monitor.privacy import Privacy
from streams.mapping import load_mapping, mapped_reader
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


def test_a_mapping_fills_attributes_from_columns_and_constants(tmp_path):
    (tmp_path / "export.csv").write_text(
        "id,body,Region,Plan Name\n1,Card declined,EU,Pro\n2,Card declined,,Team\n",
        encoding="utf-8",
    )
    (tmp_path / "mapping.yaml").write_text(
        "columns:\n"
        "  external_id: id\n"
        "  text: body\n"
        "  attributes.region: Region\n"
        "  attributes.plan: Plan Name\n"
        "constants:\n"
        "  source: helpdesk\n"
        "  attributes.store: web\n",
        encoding="utf-8",
    )
    reader = mapped_reader(load_mapping(tmp_path / "mapping.yaml"))
    first, second = (
        validate_one(r, default_source=None, now=datetime.now(UTC), privacy=PRIVACY)
        for _, r in reader(tmp_path / "export.csv")
    )
    assert dict(first.attributes) == {"region": "EU", "plan": "Pro", "store": "web"}
    assert dict(second.attributes) == {"plan": "Team", "store": "web"}  # empty cell: no value


def test_a_mapping_to_a_bad_attribute_name_says_so(tmp_path):
    path = tmp_path / "mapping.yaml"
    path.write_text("columns: {text: body, attributes.Region Name: r}\n")
    with pytest.raises(ReplayError, match=r"attributes\.<name>"):
        load_mapping(path)


def test_a_mapping_that_is_not_utf8_is_one_line(tmp_path):
    path = tmp_path / "mapping.yaml"
    path.write_bytes(b"columns:\n  text: caf\xe9\n")
    with pytest.raises(ReplayError) as raised:
        load_mapping(path)
    assert str(raised.value) == f"{path}: not UTF-8 (byte 0xe9 at position 20)"
