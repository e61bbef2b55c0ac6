"""Mention attributes: what a sender adds beyond the mention format is kept, bounded, or
rejected with a reason; never dropped silently."""

from __future__ import annotations

import json

import pytest

from streams.attributes import MAX_ATTRIBUTES, MAX_VALUE_CHARS
from streams.ingest import ingest_raw_batch
from streams.mention_bundles import bundles, decode_record
from streams.mentions import InvalidMention, parse_mention
from tests.unit.factories import LATER, SCORER, T0, WINDOW

BASE = {"source": "tickets", "text": "Payment declined", "event_time": T0.isoformat()}


def test_an_attributes_object_and_unknown_top_level_fields_are_both_kept():
    mention = parse_mention(
        {
            **BASE,
            "region": "EU",
            "Segment": "vip",
            "App Version": "4.12.0",
            "seats": 12,
            "trial": False,
            "attributes": {"plan": "Pro", "store-territory": "DE"},
        }
    )
    assert dict(mention.attributes) == {
        "region": "EU",
        "segment": "vip",
        "app_version": "4.12.0",
        "seats": "12",
        "trial": "false",
        "plan": "Pro",
        "store_territory": "DE",
    }
    assert mention.attribute("region") == "EU" and mention.attribute("country") is None


def test_attributes_survive_the_payload_bundles_and_the_topic():
    first = parse_mention({**BASE, "external_id": "1", "region": "eu", "plan": "pro"})
    second = parse_mention({**BASE, "external_id": "2", "attributes": {"region": "us"}})
    assert parse_mention(first.to_payload()) == first
    (record,) = bundles([first, second])
    decoded = [m for _element, m in decode_record(record[1])]
    assert decoded == [first, second]


def test_values_are_normalised_redacted_and_cut():
    mention = parse_mention(
        {
            **BASE,
            "region": " eu\x00-west\n ",
            "contact": "write to ana@example.com",
            "note": "x" * 500,
            "empty": "   ",
            "nothing": None,
        }
    )
    values = dict(mention.attributes)
    assert values["region"] == "eu-west"  # NUL removed: PostgreSQL rejects it in text
    assert values["contact"] == "write to [EMAIL]"
    assert len(values["note"]) == MAX_VALUE_CHARS and values["note"].endswith("…")
    assert "empty" not in values and "nothing" not in values


@pytest.mark.parametrize(
    ("extra", "reason"),
    [
        ({"user": {"name": "kim"}}, "field 'user' is an object"),
        ({"labels": ["a", "b"]}, "field 'labels' is an array"),
        ({"attributes": ["eu"]}, "attributes must be a JSON object"),
        ({"attributes": {"region": {"code": "eu"}}}, "attributes.region must be a string"),
        ({"attributes": {"!!!": "x"}}, "attribute name '!!!'"),
        ({"attributes": {"k" * 41: "x"}}, "1-40 letters"),
        ({"region": "eu", "attributes": {"region": "us"}}, "given twice"),
        ({f"a{i}": i for i in range(MAX_ATTRIBUTES + 1)}, "21 attributes, at most 20"),
    ],
)
def test_bad_attributes_are_rejected_with_the_reason(extra, reason):
    with pytest.raises(InvalidMention, match=reason):
        parse_mention({**BASE, **extra})


def test_attributes_are_stored_with_the_mention_and_bad_ones_dead_lettered(engine):
    from sqlmodel import Session, select

    from monitor.storage.models import Mention

    good = {**BASE, "external_id": "1", "region": "EU", "attributes": {"plan": "pro"}}
    bad = {**BASE, "external_id": "2", "customer": {"id": 7}}
    outcome = ingest_raw_batch(
        engine,
        SCORER,
        [(0, json.dumps(good).encode()), (0, json.dumps(bad).encode())],
        window_seconds=WINDOW,
        now=LATER,
    )
    (rejected,) = outcome.rejected
    assert "field 'customer' is an object" in rejected.reason
    with Session(engine) as session:
        (stored,) = session.exec(select(Mention)).all()
    assert json.loads(stored.attributes or "") == {"plan": "pro", "region": "EU"}
