"""Reading replay files: every line becomes a mention or a reason, nothing silently dropped."""

from __future__ import annotations

import json
from datetime import UTC, datetime

import pytest

from streams.mentions import MentionIn
from streams.replay import ReplayError, count_records, read_records, validate

NOW = datetime(2026, 3, 1, 12, 0, tzinfo=UTC)


def results(path, default_source=None):
    return list(validate(read_records(path), default_source=default_source, now=NOW))


def test_jsonl_lines_become_mentions_or_reasons_with_their_line_numbers(tmp_path):
    path = tmp_path / "mentions.jsonl"
    path.write_text(
        "\n".join(
            [
                json.dumps({"source": "x", "text": "fine", "event_time": "2026-01-01T00:00:00Z"}),
                "",  # blank lines are skipped, but still counted for line numbers
                "{broken",
                json.dumps({"source": "x", "event_time": "2026-01-01T00:00:00Z"}),
                json.dumps({"source": "x", "text": "no time"}),
            ]
        ),
        encoding="utf-8",
    )
    got = results(path)
    assert [number for number, _ in got] == [1, 3, 4, 5]
    assert isinstance(got[0][1], MentionIn)
    assert got[1][1].startswith("not valid JSON (Expecting property name")
    assert got[1][1].endswith(": {broken")
    assert got[2][1] == "missing field: text (a string)"
    assert isinstance(got[3][1], MentionIn) and got[3][1].event_time == NOW
    assert count_records(path) == 4


def test_default_source_fills_only_records_without_one(tmp_path):
    path = tmp_path / "mentions.json"
    path.write_text(json.dumps([{"text": "a"}, {"text": "b", "source": "reviews"}]))
    got = [m for _, m in results(path, default_source="import")]
    assert [m.source for m in got] == ["import", "reviews"]


def test_csv_with_a_bom_and_empty_cells_is_read_by_header(tmp_path):
    path = tmp_path / "export.csv"
    path.write_text(
        "\ufeffsource,text,event_time,author\n"
        "zendesk,Checkout broken,2026-01-05T10:00:00Z,\n"
        "zendesk,,2026-01-05T10:01:00Z,ana\n",
        encoding="utf-8",
    )
    got = results(path)
    assert [number for number, _ in got] == [2, 3]
    first = got[0][1]
    assert isinstance(first, MentionIn)
    assert (first.source, first.text, first.author) == ("zendesk", "Checkout broken", None)
    assert got[1][1] == "missing field: text (a string)"


@pytest.mark.parametrize(
    ("name", "content", "words"),
    [
        ("export.csv", "", "empty; a CSV needs a header row with a 'text' column"),
        ("mentions.json", '{"text": "not an array"}', "must hold an array of mentions"),
        ("mentions.json", "[{", "not valid JSON"),
        ("mentions.xml", "<m/>", "unsupported extension '.xml'"),
    ],
)
def test_unusable_files_are_refused_with_one_readable_reason(tmp_path, name, content, words):
    path = tmp_path / name
    path.write_text(content, encoding="utf-8")
    with pytest.raises(ReplayError, match=words) as raised:
        list(read_records(path))
    assert str(raised.value).startswith(f"{path}: ")


def test_a_csv_without_text_lists_its_columns_and_points_to_mapping(tmp_path):
    path = tmp_path / "x.csv"
    path.write_text("body,when,who\nhello,2026-01-05T10:00:00Z,ana\n", encoding="utf-8")
    with pytest.raises(ReplayError) as raised:
        list(read_records(path))
    assert str(raised.value) == (
        f"{path}: no 'text' column; found: body, when, who. Map your columns with --mapping "
        "(docs/sources.md#replay-with-a-column-mapping)"
    )


def test_a_missing_file_is_named(tmp_path):
    with pytest.raises(ReplayError, match="no such file"):
        list(read_records(tmp_path / "gone.jsonl"))
