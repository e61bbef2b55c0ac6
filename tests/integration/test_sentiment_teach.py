"""`crisismon sentiment teach|export-model|import-model`, and `score` using what was taught."""

from __future__ import annotations

import csv
import io
import json
from pathlib import Path

from sqlmodel import Session, func, select

from detectors.sentiment.corrections import add_correction
from detectors.sentiment.labels import add_labels
from monitor.storage.db import make_engine
from monitor.storage.migrate import upgrade
from monitor.storage.sentiment_labels import SentimentLabel
from tests.integration.test_sentiment_cli import one_error_line
from tests.integration.test_service import cli_env, run_cli
from tests.unit.factories import LATER, mention, store
from tests.unit.test_sentiment_corrections import CORRECTED, SIMILAR
from tests.unit.test_sentiment_labels import KIOSK, PROBE, QUESTIONS, SHUTTLE, TAUGHT

MAP = "complaint=negative,praise=positive,question=neutral"


def labelled_csv(path: Path) -> Path:
    rows = (
        [(t, "Complaint") for t in KIOSK]
        + [(t, "praise") for t in SHUTTLE]
        + [(t, "question") for t in QUESTIONS]
    )
    with path.open("w", newline="", encoding="utf-8") as handle:
        writer = csv.writer(handle)
        writer.writerow(["id", "body", "verdict"])
        writer.writerows((i, text, verdict) for i, (text, verdict) in enumerate(rows, 1))
    return path


def teach(path: Path, env: dict[str, str], *extra: str):
    return run_cli(
        [
            *("sentiment", "teach", str(path), "--text-column", "body"),
            *("--label-column", "verdict", "--map", MAP, "--who", "qa", *extra),
        ],
        env,
    )


def stored_labels(database_url: str) -> int:
    with Session(make_engine(database_url)) as session:
        return session.exec(select(func.count()).select_from(SentimentLabel)).one()


def test_teach_stores_the_labels_once_and_reports_before_and_after(
    database_url: str, tmp_path: Path
):
    env = cli_env(tmp_path)
    env["CRISISMON_DATABASE_URL"] = database_url
    path = labelled_csv(tmp_path / "tickets.csv")

    result = teach(path, env)
    assert result.returncode == 0, result.stderr
    lines = result.stdout.splitlines()
    assert lines[0] == (
        "taught 20 labels from tickets.csv: 20 new, 0 already stored, 0 rows skipped; "
        "20 labels in all"
    )
    assert "5-fold cross-validation on these 20 labels (seed 17)" in result.stdout
    negative = next(line for line in lines if line.startswith("| negative | 8 |"))
    assert "| 0.000 → " in negative  # the general scorer found none of the complaints
    assert any(line.startswith("| **macro-F1** |") for line in lines)
    assert stored_labels(database_url) == 20

    again = teach(path, env, "--format", "json")
    assert again.returncode == 0, again.stderr
    report = json.loads(again.stdout)
    assert (report["new"], report["already_stored"], report["labels_in_all"]) == (0, 20, 20)
    folds = report["cross_validation"]
    assert folds["folds"] == 5 and folds["n"] == 20
    assert folds["before"]["negative_recall"] == 0.0
    assert folds["after"]["macro_f1"] > folds["before"]["macro_f1"]
    assert stored_labels(database_url) == 20


def test_a_bad_file_is_one_line_stores_nothing_unless_skip_bad_and_can_be_forgotten(tmp_path: Path):
    env = cli_env(tmp_path)
    database_url = f"sqlite:///{tmp_path / 'data' / 'crisismon.db'}"
    path = tmp_path / "bad.csv"
    path.write_text(
        "body,verdict\nkiosk ate my ticket,complaint\n,praise\nwhere is it,maybe\n",
        encoding="utf-8",
    )
    line = one_error_line(teach(path, env))
    assert f"{path}: row 2: empty text in column 'body' (and 1 more bad rows)" in line
    assert "nothing was stored" in line
    assert "no 'label' column (columns: body, verdict); see --label-column" in one_error_line(
        run_cli(["sentiment", "teach", str(path), "--text-column", "body"], env)
    )

    kept = teach(path, env, "--skip-bad", "--folds", "0")
    assert kept.returncode == 0, kept.stderr
    assert "1 new, 0 already stored, 2 rows skipped" in kept.stdout
    assert "skipped row 2: empty text in column 'body'" in kept.stderr
    assert "skipped row 3: label 'maybe'" in kept.stderr
    assert stored_labels(database_url) == 1

    listed = run_cli(["sentiment", "labels"], env)
    assert listed.returncode == 0, listed.stderr
    assert "| bad.csv | 1 | 1 | 0 | 0 | qa |" in listed.stdout
    forgot = run_cli(["sentiment", "labels", "--forget", "bad.csv"], env)
    assert forgot.stdout == "forgot 1 labels taught from bad.csv\n"
    assert stored_labels(database_url) == 0


def test_score_uses_what_was_taught_and_staff_corrections_unless_general(tmp_path: Path):
    env = cli_env(tmp_path)
    database_url = f"sqlite:///{tmp_path / 'data' / 'crisismon.db'}"
    (tmp_path / "data").mkdir()
    engine = make_engine(database_url)
    upgrade(engine)
    corrected = [mention(f"c{i}", text=text) for i, text in enumerate(CORRECTED)]
    store(engine, corrected)
    for one in corrected:
        add_correction(engine, mention_id=one.mention_id, label="negative", who="qa", now=LATER)
    add_labels(engine, TAUGHT, source="tickets.csv", who="qa", now=LATER)
    posts = tmp_path / "posts.csv"
    posts.write_text(f"text\n{PROBE}\n{SIMILAR}\n", encoding="utf-8")

    def labels(*extra: str) -> list[str]:
        result = run_cli(["sentiment", "score", str(posts), *extra], env)
        assert result.returncode == 0, result.stderr
        return [row["label"] for row in csv.DictReader(io.StringIO(result.stdout))]

    assert labels() == ["negative", "negative"]
    assert labels("--general") == ["neutral", "neutral"]


def test_export_then_import_into_a_fresh_install_scores_the_same(tmp_path: Path):
    source, target = cli_env(tmp_path / "a"), cli_env(tmp_path / "b")
    (tmp_path / "a" / "data").mkdir(parents=True)
    engine = make_engine(f"sqlite:///{tmp_path / 'a' / 'data' / 'crisismon.db'}")
    upgrade(engine)
    add_labels(engine, TAUGHT, source="tickets.csv", who="qa", now=LATER)
    exported = tmp_path / "taught.json.gz"
    result = run_cli(["sentiment", "export-model", str(exported)], source)
    assert result.returncode == 0, result.stderr
    assert "20 labels, content hash" in result.stdout

    result = run_cli(["sentiment", "import-model", str(exported), "--who", "qa"], target)
    assert result.returncode == 0, result.stderr
    assert "imported 20 labels from taught.json.gz: 20 new" in result.stdout
    assert "(the same labels as the file)" in result.stdout

    posts = tmp_path / "posts.csv"
    posts.write_text(
        "text\n" + "\n".join([PROBE, "shuttle on the dot as usual", "where do I pay"]) + "\n",
        encoding="utf-8",
    )
    scored = [run_cli(["sentiment", "score", str(posts)], env).stdout for env in (source, target)]
    assert scored[0] == scored[1]
    assert "negative" in scored[0]

    broken = tmp_path / "broken.json.gz"
    broken.write_bytes(exported.read_bytes()[:40])
    assert "not a taught-model file" in one_error_line(
        run_cli(["sentiment", "import-model", str(broken)], target)
    )
