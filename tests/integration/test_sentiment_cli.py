"""`crisismon sentiment score|train|correct` and `crisismon eval sentiment`, as a user runs them."""

from __future__ import annotations

import csv
import io
import json
from pathlib import Path

from detectors.sentiment.model import CorrectionModel
from monitor.storage.db import make_engine
from monitor.storage.migrate import upgrade
from tests.conftest import REPO
from tests.integration.test_service import cli_env, run_cli
from tests.unit.factories import mention, store

SAMPLE = REPO / "tests" / "data" / "vader_sample"


def one_error_line(result) -> str:
    assert result.returncode == 1, result.stderr
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1, lines
    assert lines[0].startswith("crisismon: error: ")
    return lines[0]


def test_score_a_csv_keeps_its_columns_and_adds_compound_label_and_lang(tmp_path: Path):
    path = tmp_path / "tickets.csv"
    path.write_text(
        "id,body,label\n"
        '1,"2 hours on hold, great",negative\n'
        "2,How do I export my invoices?,neutral\n"
        "3,El servicio es pésimo,negative\n"
        "4,De app werkt niet,negative\n",
        encoding="utf-8",
    )
    result = run_cli(["sentiment", "score", str(path), "--text-column", "body"], cli_env(tmp_path))
    assert result.returncode == 0, result.stderr
    rows = list(csv.DictReader(io.StringIO(result.stdout)))
    assert list(rows[0]) == ["id", "body", "label", "compound", "crisismon_label", "lang"]
    assert [r["crisismon_label"] for r in rows] == ["negative", "neutral", "negative", "unscored"]
    assert [r["lang"] for r in rows] == ["en", "en", "es", "nl"]
    assert all(-1 <= float(r["compound"]) <= 1 for r in rows)
    assert "scored 4 rows" in result.stderr


def test_score_jsonl_with_explanations(tmp_path: Path):
    path = tmp_path / "posts.jsonl"
    records = [
        {"text": "thanks for losing my bag", "meta": {"id": 1}},
        {"text": "Merci beaucoup pour votre aide", "lang": "fr"},
    ]
    path.write_text("\n".join(json.dumps(r) for r in records) + "\n", encoding="utf-8")
    result = run_cli(["sentiment", "score", str(path), "--explain"], cli_env(tmp_path))
    assert result.returncode == 0, result.stderr
    rows = list(csv.DictReader(io.StringIO(result.stdout)))
    assert list(rows[0]) == ["text", "meta", "lang", "compound", "label", "confidence", "drivers"]
    assert rows[0]["label"] == "negative" and '"thanks" (sarcastic)' in rows[0]["drivers"]
    assert rows[0]["meta"] == '{"id": 1}'
    assert (rows[1]["lang"], rows[1]["label"]) == ("fr", "positive")


def test_score_bad_input_is_one_readable_line(tmp_path: Path):
    env = cli_env(tmp_path)
    assert "file not found" in one_error_line(
        run_cli(["sentiment", "score", str(tmp_path / "nope.csv")], env)
    )
    bad = tmp_path / "bad.jsonl"
    bad.write_text('{"text": "fine"}\nnot json\n', encoding="utf-8")
    assert f"{bad}:2: not JSON" in one_error_line(run_cli(["sentiment", "score", str(bad)], env))
    wrong = tmp_path / "wrong.csv"
    wrong.write_text("id,body\n1,hello\n", encoding="utf-8")
    assert "no 'text' column (columns: id, body)" in one_error_line(
        run_cli(["sentiment", "score", str(wrong)], env)
    )
    other = tmp_path / "data.xlsx"
    other.write_text("x", encoding="utf-8")
    assert "use .csv or .jsonl" in one_error_line(run_cli(["sentiment", "score", str(other)], env))


def test_correct_records_a_staff_verdict_on_a_stored_mention(tmp_path: Path):
    env = cli_env(tmp_path)
    database = tmp_path / "staff.db"
    env["CRISISMON_DATABASE_URL"] = f"sqlite:///{database}"
    engine = make_engine(f"sqlite:///{database}")
    upgrade(engine)
    stored = mention("t-1", text="Parcel left at the depot again")
    store(engine, [stored])

    result = run_cli(["sentiment", "correct", stored.mention_id, "negative", "--who", "alice"], env)
    assert result.returncode == 0, result.stderr
    assert f"mention {stored.mention_id} is negative" in result.stdout

    assert "no mention with id 'nope'" in one_error_line(
        run_cli(["sentiment", "correct", "nope", "negative"], env)
    )
    assert "label must be one of negative, neutral, positive" in one_error_line(
        run_cli(["sentiment", "correct", stored.mention_id, "furious"], env)
    )


def test_train_writes_a_model_the_scorer_loads(tmp_path: Path):
    out = tmp_path / "model.json.gz"
    result = run_cli(
        ["sentiment", "train", "--data", str(SAMPLE), "--out", str(out)], cli_env(tmp_path)
    )
    assert result.returncode == 0, result.stderr
    model = CorrectionModel.load(out)
    assert model.metadata["trained_on"]["vader:tweets"] == 40
    assert "trained on" in result.stderr

    missing = run_cli(["sentiment", "train", "--data", str(tmp_path / "none")], cli_env(tmp_path))
    assert "not a folder" in one_error_line(missing)


def test_eval_prints_the_leave_one_domain_out_table(tmp_path: Path):
    result = run_cli(["eval", "sentiment", "--data", str(SAMPLE)], cli_env(tmp_path))
    assert result.returncode == 0, result.stderr
    table = result.stdout.splitlines()
    assert table[0].startswith("| held-out set | n | VADER macro-F1 | rules only | ours |")
    for domain in ("tweets", "amazon", "movies", "nyt"):
        assert any(line.startswith(f"| {domain} | 40 |") for line in table), domain
    assert "**tweets** (trained on amazon, movies, nyt + our 263 sentences)" in result.stdout
    assert "not trained on" in result.stderr


def test_new_commands_have_help(tmp_path: Path):
    env = cli_env(tmp_path)
    for command in (
        ["sentiment", "--help"],
        ["sentiment", "score", "--help"],
        ["sentiment", "train", "--help"],
        ["sentiment", "correct", "--help"],
        ["eval", "--help"],
        ["eval", "sentiment", "--help"],
    ):
        result = run_cli(command, env)
        assert result.returncode == 0, (command, result.stderr)
        assert "Usage" in result.stdout
