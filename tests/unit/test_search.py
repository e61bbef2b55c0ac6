"""Full-text search over stored mentions on SQLite (FTS5) and PostgreSQL: matching, filters,
hostile input, highlights escaped, and texts replaced by retention or erasure never matching."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import update
from sqlmodel import Session, select

from monitor.storage.models import ERASED_TEXT, Mention
from streams.retention import expire_mention_text
from streams.search import BadQuery, SearchQuery, batches, csv_row, search
from tests.unit.factories import T0, mention, store


def _ids(engine, **kwargs) -> list[str]:
    page = search(engine, SearchQuery(**kwargs))
    return [hit.mention.external_id for hit in page.hits]


@pytest.fixture
def stored(engine):
    store(
        engine,
        [
            mention("a", text="Refund please, I was charged twice!", at=T0),
            mention("b", text="Charged twice again <script>x</script>", at=T0 + timedelta(hours=1)),
            mention("c", text="Love the new app, great job", at=T0 + timedelta(hours=2)),
            mention("d", source="reviews", text="=HYPERLINK(bad) charged", at=T0),
            mention("e", text="NEAR the end, near miss", at=T0 + timedelta(hours=3)),
        ],
    )
    return engine


def test_matching_and_filters(stored):
    engine = stored
    found = _ids(engine, q="charged")
    assert found[0] == "b" and sorted(found[1:]) == ["a", "d"]  # newest first
    assert sorted(_ids(engine, q="CHARGED twice")) == ["a", "b"]  # every word, any case
    assert _ids(engine, q='"twice again"') == ["b"]  # a phrase
    assert _ids(engine, q='"again twice"') == []
    assert _ids(engine, q="refunds") == []  # whole words, as the index tokenises them
    assert _ids(engine, q="charged", source="reviews") == ["d"]
    with Session(engine) as session:
        labels = {m.external_id: m.label for m in session.exec(select(Mention))}
    negative = [x for x in ("b", "a") if labels[x] == "negative"]
    assert negative and _ids(engine, q="charged", label="negative", source="tickets") == negative
    assert _ids(engine, q="love", label="positive") == ["c"]
    assert _ids(engine, q="charged", since=T0 + timedelta(minutes=30)) == ["b"]
    assert sorted(_ids(engine, q="charged", until=T0 + timedelta(minutes=30))) == ["a", "d"]
    assert _ids(engine, q="love", series="source:tickets") == ["c"]
    assert _ids(engine, q="love", series="source:reviews") == []
    # Operators typed by someone are words: NEAR finds the text that says "near".
    assert _ids(engine, q="NEAR") == ["e"] and _ids(engine, q="OR") == []
    assert _ids(engine, q="near*") == ["e"]  # the * is not a prefix operator

    page = search(engine, SearchQuery(q="twice"), per_page=1)
    assert (len(page.hits), page.more) == (1, True)
    assert [
        h.mention.external_id
        for h in search(engine, SearchQuery(q="twice"), page=2, per_page=1).hits
    ] == ["a"]

    hit = search(engine, SearchQuery(q="again"))
    assert str(hit.hits[0].highlighted) == (
        "Charged twice <mark>again</mark> &lt;script&gt;x&lt;/script&gt;"
    )
    (reviews,) = next(batches(engine, SearchQuery(q="hyperlink")))[:1]
    assert csv_row(reviews)[-1] == "'=HYPERLINK(bad) charged"


@pytest.mark.parametrize(
    "hostile",
    ['"unbalanced', "NEAR(", "a" * 201, "", "   ", "(a OR b)", '""', "!!!", " ".join("w" * 13)],
)
def test_hostile_queries_are_refused_with_a_reason(stored, hostile):
    with pytest.raises(BadQuery) as refused:
        search(stored, SearchQuery(q=hostile))
    assert str(refused.value)


def test_bad_filters_are_refused(stored):
    with pytest.raises(BadQuery, match="label"):
        search(stored, SearchQuery(q="charged", label="angry"))
    with pytest.raises(BadQuery, match="series"):
        search(stored, SearchQuery(q="charged", series="topic:\x00x"))
    with pytest.raises(BadQuery, match="source"):
        search(stored, SearchQuery(q="charged", source="a\x00"))
    with pytest.raises(BadQuery, match="page"):
        search(stored, SearchQuery(q="charged"), page=0)


def test_erased_and_expired_texts_never_match(stored):
    engine = stored
    with engine.begin() as conn:
        conn.execute(update(Mention).where(Mention.external_id == "a").values(text=ERASED_TEXT))
    assert _ids(engine, q="refund") == [] and _ids(engine, q="erased") == []
    assert sorted(_ids(engine, q="twice")) == ["b"]
    expire_mention_text(engine, before=T0 + timedelta(days=365), batch=100, dry_run=False)
    assert _ids(engine, q="twice") == [] and _ids(engine, q="expired") == []
    if engine.dialect.name == "sqlite":  # not even in the index's stored segments
        with engine.connect() as conn:
            blocks = conn.exec_driver_sql("SELECT block FROM mentions_fts_data").all()
        assert not any(b"twice" in bytes(b) or b"refund" in bytes(b) for (b,) in blocks)
    assert list(batches(engine, SearchQuery(q="charged"))) == []
    # New mentions are found again (the index follows inserts after the updates).
    store(engine, [mention("f", text="charged once more", at=T0 + timedelta(days=2))])
    assert _ids(engine, q="charged") == ["f"]


@pytest.mark.parametrize("edge", ["0001-01-01T00:00+01:00", "9999-12-31T23:59-01:00"])
def test_a_date_past_the_calendar_in_utc_is_a_bad_query_not_a_crash(edge):
    from monitor.shell.ui.search import _moment

    with pytest.raises(BadQuery, match="outside the calendar"):
        _moment("since", edge)
    assert _moment("until", "2026-01-05T11:00+01:00") == datetime(2026, 1, 5, 10, 0, tzinfo=UTC)
