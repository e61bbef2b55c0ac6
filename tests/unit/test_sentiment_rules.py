"""The lexicon and pattern layers: user-editable lexicons, negation, long waits, sarcasm."""

from __future__ import annotations

from pathlib import Path

import pytest

from detectors.config import ConfigError
from detectors.sentiment.config import load_all
from detectors.sentiment.lexicon import load_lexicon, load_lexicons
from detectors.sentiment.scorer import RuleScorer
from tests.unit.sentiment_helpers import CONFIG, shared_rules


def reading(text: str):
    analysis = shared_rules().analyse(text, "en")
    assert analysis is not None
    return analysis


def test_a_domain_phrase_vader_does_not_know_makes_a_text_negative():
    assert reading("still waiting for my refund").compound < -0.3
    assert "still waiting" in reading("still waiting for my refund").drivers("negative")


def test_a_negator_flips_a_lexicon_entry_but_not_across_a_full_stop():
    assert reading("no complaints, it was fixed").compound > 0
    assert "not fixed" in reading("still not fixed after a week").drivers("negative")
    assert "terrible" in reading("Support won't answer. Terrible.").drivers("negative")


def test_a_number_of_hours_or_weeks_next_to_waiting_is_a_complaint():
    wait = reading("we waited three weeks for it")
    assert any(d.startswith("long wait (three weeks)") for d in wait.drivers("negative"))
    assert not any(
        d.startswith("long wait") for d in reading("three weeks of holiday").drivers("neutral")
    )


@pytest.mark.parametrize(
    "text",
    [
        "thanks for losing my bag",
        "Wonderful, another outage",
        "yeah right, 'fixed'",
        "so much for next day delivery",
        'thanks for the "fast" delivery, 9 days',
    ],
)
def test_sarcasm_is_found_and_turns_the_praise_against(text):
    analysis = reading(text)
    assert analysis.sarcasm
    assert analysis.compound < 0


@pytest.mark.parametrize(
    "text",
    [
        "Great support, my refund arrived the next day",
        "The delay was annoying but the crew made it right",
        "Thanks for the update on my order",
        "Great job on the new website",
    ],
)
def test_praise_for_a_problem_solved_is_not_sarcasm(text):
    analysis = reading(text)
    assert not analysis.sarcasm
    assert analysis.compound > 0


def test_users_can_add_their_own_words_and_phrases(tmp_path: Path):
    text = "my parcel went to the depot in Slough again"
    before = shared_rules().score(text, "en")
    folder = tmp_path / "sentiment"
    folder.mkdir()
    english = (CONFIG / "sentiment" / "en.yaml").read_text(encoding="utf-8")
    english = english.replace("terms:\n", "terms:\n  depot in slough: -3.0\n", 1)
    (folder / "en.yaml").write_text(english, encoding="utf-8")
    _, lexicons = load_all(tmp_path)
    after = RuleScorer(lexicons, shared_rules().detector).score(text, "en")
    assert before.label == "neutral"
    assert after.label == "negative"
    assert "depot in slough" in after.drivers


def test_a_lexicon_mistake_names_the_file_and_the_entry(tmp_path: Path):
    path = tmp_path / "en.yaml"
    path.write_text("terms:\n  outage: -9\n", encoding="utf-8")
    with pytest.raises(ConfigError, match=r"en.yaml: terms: .*'outage': weight -9.0 is outside"):
        load_lexicon(path)
    # YAML reads a bare `no` as false: the error says where.
    path.write_text("negators: [not, no]\n", encoding="utf-8")
    with pytest.raises(ConfigError, match=r"en.yaml: negators.1: Input should be a valid string"):
        load_lexicon(path)
    # Saved in Latin-1 by mistake: one line, not a UnicodeDecodeError traceback.
    path.write_bytes(b"negators: [caf\xe9]\n")
    with pytest.raises(ConfigError) as raised:
        load_lexicon(path)
    assert str(raised.value) == f"{path}: not UTF-8 (byte 0xe9 at position 14)"


def test_every_shipped_lexicon_loads():
    lexicons = load_lexicons(CONFIG / "sentiment")
    assert sorted(lexicons) == ["de", "en", "es", "fr", "it", "pt"]
    assert all(len(lexicon.term_weights) > 80 for lexicon in lexicons.values())


def test_a_config_folder_without_sentiment_files_uses_the_shipped_ones(tmp_path: Path):
    config, lexicons = load_all(tmp_path)
    assert config.corrections.max_steps >= 1
    assert "en" in lexicons
