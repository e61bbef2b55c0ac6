"""`crisismon eval sentiment --by lang|segment`, as a user runs it: on a labelled file scored
now, and on staff labels in the database; a group far below everyone's is flagged, exit 0."""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path

from detectors.sentiment.corrections import add_correction
from monitor.storage.db import make_engine
from monitor.storage.migrate import upgrade
from streams.ingest import store_batch
from tests.integration.test_service import cli_env, run_cli
from tests.unit.factories import LATER, WINDOW, mention, scored

ENGLISH = [
    ("Terrible service, I want a refund", "negative"),
    ("My parcel never arrived and nobody answers", "negative"),
    ("Charged twice and still no refund", "negative"),
    ("Worst support ever, totally useless", "negative"),
    ("How do I change my delivery address?", "neutral"),
    ("What are your opening hours on Sunday?", "neutral"),
    ("Can I pay by bank transfer?", "neutral"),
    ("Where do I find my invoice?", "neutral"),
    ("Thank you, the refund arrived quickly", "positive"),
    ("Great support, problem solved in minutes", "positive"),
    ("Love the new app, it works perfectly", "positive"),
    ("Excellent service, thanks a lot", "positive"),
]
# Dutch has no lexicon: the scorer leaves it unscored, so this group is judged worst.
DUTCH = [
    ("De service is echt slecht", "negative"),
    ("Mijn pakket is nooit aangekomen", "negative"),
    ("Niemand neemt de telefoon op", "negative"),
    ("Ik wacht al drie weken op mijn geld", "negative"),
    ("Slechtste bedrijf ooit", "negative"),
    ("Waar vind ik mijn factuur?", "neutral"),
    ("Hoe laat gaan jullie open?", "neutral"),
    ("Bedankt, alles is opgelost", "positive"),
    ("Geweldige service, dank jullie wel", "positive"),
    ("Het werkt weer, top!", "positive"),
]
GERMAN = [("Der Service ist furchtbar", "negative"), ("Vielen Dank, alles gut", "positive")]


def test_by_lang_and_segment_on_a_labelled_file(tmp_path: Path):
    path = tmp_path / "labels.csv"
    lines = ["text,label,lang,segment"]
    for group, lang, segment in (
        (ENGLISH, "en", "regular"),
        (DUTCH, "nl", "vip"),
        (GERMAN, "de", "new"),
    ):
        lines += [f'"{text}",{label},{lang},{segment}' for text, label in group]
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    env = cli_env(tmp_path)

    by_lang = run_cli(["eval", "sentiment", "--by", "lang", "--labels", str(path)], env)
    assert by_lang.returncode == 0, by_lang.stderr  # a flag is a finding, not a failure
    table = {line.split(" | ")[0].strip("| "): line for line in by_lang.stdout.splitlines()}
    assert table["all"].startswith("| all | 24 | ")
    assert table["en"].startswith("| en | 12 | ") and "FLAGGED" not in table["en"]
    assert table["nl"].startswith("| nl | 10 | 0.000 | 0.000 | **FLAGGED** ")
    assert table["de"] == "| de | 2 | too few | too few | |"
    assert "FLAGGED: 1 lang group(s) more than 0.10 macro-F1 below the overall" in by_lang.stderr
    assert "nl (0.000)" in by_lang.stderr

    by_segment = run_cli(["eval", "sentiment", "--by", "segment", "--labels", str(path)], env)
    assert by_segment.returncode == 0, by_segment.stderr
    assert "| vip | 10 | 0.000 | 0.000 | **FLAGGED** " in by_segment.stdout

    wrong = run_cli(["eval", "sentiment", "--by", "colour", "--labels", str(path)], env)
    assert wrong.returncode == 2
    assert "use --by lang or --by segment" in wrong.stderr


def test_by_segment_from_staff_labels_in_the_database(tmp_path: Path):
    url = f"sqlite:///{tmp_path / 'crisismon.db'}"
    engine = make_engine(url)
    upgrade(engine)
    texts = [(t, label, "regular") for t, label in ENGLISH]
    # VIP customers' complaints without strong words: scored neutral, labelled negative.
    quiet = [
        "I can't get through to anyone who can help",
        "The tracking says delivered but it is not here",
        "Why won't you find my parcel instead of blaming everyone else?",
    ]
    texts += [(t, "negative", "vip") for t in quiet * 4]
    items = scored(mention(f"d{i}", text=t) for i, (t, _, _) in enumerate(texts))
    items = [
        replace(item, series_keys=("global", f"segment:{segment}"))
        for item, (_, _, segment) in zip(items, texts, strict=True)
    ]
    store_batch(engine, items, window_seconds=WINDOW, now=LATER)
    for item, (_, label, _) in zip(items, texts, strict=True):
        add_correction(
            engine, mention_id=item.mention.mention_id, label=label, who="ana", now=LATER
        )
    engine.dispose()

    env = {**cli_env(tmp_path), "CRISISMON_DATABASE_URL": url}
    result = run_cli(["eval", "sentiment", "--by", "segment", "--from-db"], env)
    assert result.returncode == 0, result.stderr
    rows = {line.split(" | ")[0].strip("| "): line for line in result.stdout.splitlines()}
    assert rows["all"].startswith("| all | 24 | ")
    assert rows["regular"].startswith("| regular | 12 | ")
    assert rows["vip"].startswith("| vip | 12 | ") and "**FLAGGED**" in rows["vip"]
    assert "24 staff labels in the database" in result.stderr
