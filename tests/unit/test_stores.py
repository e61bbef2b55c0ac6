"""App Store and Google Play exports become rated review mentions; unusable entries are kept."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

import pytest

from monitor.privacy import Privacy
from streams.replay import Unusable, validate_one
from streams.sources.stores import StoreFileError, store_reader

STORES = Path(__file__).resolve().parent.parent / "data" / "stores"
PRIVACY = Privacy.from_key("unit-test-key-0123456789")
NOW = datetime(2026, 1, 6, tzinfo=UTC)


def read(store: str, name: str):
    entries = list(store_reader(store, source="ios", product="app")(STORES / name))
    return [validate_one(e, default_source=None, now=NOW, privacy=PRIVACY) for _, e in entries], [
        e for _, e in entries
    ]


def test_app_store_export_keeps_stars_title_body_and_time_and_redacts_pii():
    mentions, _ = read("appstore", "appstore_reviews.json")
    first, second, bad = mentions
    assert first.rating == 1.0 and first.product == "app"
    assert first.text == (
        "Lost all my data — After the 4.2 update the app crashes on launch. Contact me at [EMAIL]"
    )
    assert first.event_time == datetime(2026, 1, 5, 17, 12, 44, tzinfo=UTC)
    assert first.author is not None and first.author.startswith("psn:")
    assert second.rating == 5.0 and second.tags == ("territory-fra",)
    assert bad == "appstore entry 3: review 00000049-d9fc-6e03-a7b4-1e6f00000003 has no rating"


def test_google_play_export_reads_the_user_comment_not_the_developer_reply():
    mentions, entries = read("googleplay", "googleplay_reviews.json")
    first, second, bad = mentions
    assert first.text == "Payments fail every time since yesterday, card [CARD] charged twice"
    assert first.rating == 1.0 and first.lang == "en"
    assert first.event_time == datetime.fromtimestamp(1767607200, tz=UTC)
    assert second.rating == 4.0
    assert isinstance(bad, str) and "has no userComment" in bad
    # The unusable entry travels whole to the dead letter.
    assert isinstance(entries[2], Unusable) and entries[2].original["authorName"] == "A Google user"


def test_a_file_of_the_other_store_is_one_clear_error(tmp_path):
    with pytest.raises(StoreFileError, match="with a 'data' list"):
        list(store_reader("appstore", source="x")(STORES / "googleplay_reviews.json"))
    broken = tmp_path / "broken.json"
    broken.write_text("{")
    with pytest.raises(StoreFileError, match="not valid JSON"):
        list(store_reader("googleplay", source="x")(broken))
