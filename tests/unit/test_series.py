"""Which series a mention counts toward, and how they are stored for lookup."""

from __future__ import annotations

from datetime import UTC, datetime

from detectors.series import decode_keys, encode_keys, series_keys
from streams.mentions import MentionIn

T = datetime(2026, 1, 5, 10, 0, tzinfo=UTC)


def test_every_mention_counts_toward_global_and_its_source():
    assert series_keys(MentionIn("zendesk", "1", "hi", T)) == ["global", "source:zendesk"]
    assert series_keys(MentionIn("app.reviews", "2", "hi", T)) == ["global", "source:app.reviews"]


def test_stored_keys_are_space_delimited_on_both_ends_so_one_like_finds_a_series():
    stored = encode_keys(["global", "source:zendesk"])
    assert " global " in stored
    assert " source:zendesk " in stored
    # "source:zen" is a prefix of a stored key but not a key: a delimited search must miss it.
    assert " source:zen " not in stored


def test_stored_keys_decode_back_to_the_same_list():
    keys = ["global", "source:zendesk"]
    assert decode_keys(encode_keys(keys)) == keys
