"""Accuracy per group: the same figures per language or segment, small groups "too few", and a
group more than 0.10 macro-F1 below everyone's flagged."""

from __future__ import annotations

import pytest

from detectors.sentiment.groups import (
    NO_GROUP,
    LabelledText,
    as_groups,
    normalise_label,
    per_group,
    render,
    summary,
)


def rows(group: str, pairs: list[tuple[str, str]], times: int = 1) -> list[LabelledText]:
    return [LabelledText((group,), t, p) for t, p in pairs * times]


RIGHT = [("negative", "negative"), ("neutral", "neutral"), ("positive", "positive")]


def test_a_group_far_below_everyone_is_flagged_and_a_small_one_is_too_few():
    data = rows("en", RIGHT, 10)
    # French: negatives read as neutral; macro-F1 0.47 against about 0.91 for everyone.
    data += rows(
        "fr", [("negative", "neutral"), ("neutral", "neutral"), ("positive", "positive")], 4
    )
    data += rows("de", [("negative", "positive")], 9)  # all wrong, but only 9
    report = per_group(data, by="lang")
    assert [g.name for g in report.groups] == ["en", "fr", "de"]
    en, fr, de = report.groups
    assert (en.n, en.metrics.macro_f1, en.flagged) == (30, 1.0, False)
    assert fr.n == 12 and fr.flagged and fr.gap > 0.10
    assert fr.metrics.recall("negative") == 0.0
    assert de.too_few and not de.flagged
    assert report.flagged == [fr]
    table = render(report)
    assert "| de | 9 | too few | too few | |" in table
    assert f"| fr | 12 | {fr.metrics.macro_f1:.3f} | 0.000 | **FLAGGED** {fr.gap:.3f} |" in table
    assert table.splitlines()[2].startswith(f"| all | 51 | {report.overall.macro_f1:.3f} |")
    assert summary(report).startswith("FLAGGED: 1 lang group(s) more than 0.10 macro-F1 below")


def test_a_small_gap_is_not_flagged_and_texts_count_in_each_of_their_groups():
    data = [LabelledText(("vip", "new"), t, p) for t, p in RIGHT * 4]
    data += [LabelledText((), "negative", "neutral")]
    report = per_group(data, by="segment")
    assert {g.name: g.n for g in report.groups} == {"new": 12, "vip": 12, NO_GROUP: 1}
    assert report.flagged == []
    assert summary(report).startswith("no segment group is more than 0.10 macro-F1 below")


def test_labels_and_group_columns():
    assert normalise_label(" Negative ", where="f:2") == "negative"
    with pytest.raises(ValueError, match="f:3: label 'angry' is not one of"):
        normalise_label("angry", where="f:3")
    assert as_groups("vip | new;b2b") == ("vip", "new", "b2b")
    assert as_groups(None) == ()


def test_a_group_labelled_in_one_class_and_scored_right_is_not_flagged():
    # During an incident most labels are negative: a segment whose 12 labels are all negative,
    # every one scored right, is not judged worse than everyone. A class that is neither in a
    # group's labels nor in its predictions has no F1 to average (it counted as 0: 0.333).
    data = rows("en", RIGHT, 10) + rows("fr", RIGHT[:1], 12)
    report = per_group(data, by="lang")
    fr = next(g for g in report.groups if g.name == "fr")
    assert fr.macro_f1 == 1.0 and not fr.flagged and report.flagged == []
    assert "| fr | 12 | 1.000 | 1.000 |  |" in render(report)
    # A class that was predicted but never given still counts: reading negatives as neutral.
    wrong = per_group(rows("en", RIGHT, 10) + rows("fr", [("negative", "neutral")], 12), by="lang")
    assert next(g for g in wrong.groups if g.name == "fr").flagged
