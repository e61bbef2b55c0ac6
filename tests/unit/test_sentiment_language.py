"""Languages: detected or taken from the mention, routed to lang: series, never silently neutral."""

from __future__ import annotations

import pytest

from detectors.sentiment.language import normalise_tag
from detectors.series import series_keys
from streams.ingest import score_batch
from tests.unit.factories import T0, mention
from tests.unit.sentiment_helpers import shared_scorer


@pytest.mark.parametrize(
    ("text", "lang", "label"),
    [
        ("El servicio al cliente es pésimo, sigo esperando mi reembolso", "es", "negative"),
        ("Muchas gracias, el equipo fue muy amable", "es", "positive"),
        ("Le site est en panne depuis ce matin, c'est inadmissible", "fr", "negative"),
        ("Merci beaucoup pour votre aide rapide", "fr", "positive"),
        ("Die App funktioniert nicht, ich warte immer noch auf eine Antwort", "de", "negative"),
        ("Vielen Dank, das Problem wurde schnell gelöst", "de", "positive"),
        ("Péssimo atendimento, ainda estou esperando o reembolso", "pt", "negative"),
        ("Servizio clienti pessimo, nessuno risponde", "it", "negative"),
    ],
)
def test_supported_languages_are_detected_and_scored_with_their_lexicon(text, lang, label):
    sentiment = shared_scorer().score(text)
    assert (sentiment.lang, sentiment.label) == (lang, label)
    assert sentiment.drivers


@pytest.mark.parametrize(
    ("text", "lang"),
    [
        ("Ik wacht nog steeds op mijn terugbetaling, slechte service", "nl"),
        ("Obsługa klienta jest okropna, nadal czekam na zwrot pieniędzy", "pl"),
        ("カスタマーサービスは最悪です", "ja"),
    ],
)
def test_languages_without_a_lexicon_are_marked_unscored_not_neutral(text, lang):
    sentiment = shared_scorer().score(text)
    assert (sentiment.lang, sentiment.label) == (lang, "unscored")
    assert not sentiment.scored


def test_a_mentions_own_language_tag_wins_over_detection():
    # "Gracias" alone: the tag says it is Spanish, so the Spanish lexicon reads it.
    assert shared_scorer().score("Gracias", "es-MX").lang == "es"
    assert normalise_tag("pt_BR") == "pt"
    assert normalise_tag("not a tag") is None


def test_short_english_replies_stay_english():
    for text in ["ok thanks", "refund please", "love it", "still down?", "lol"]:
        assert shared_scorer().score(text).lang == "en", text


def test_ingest_routes_each_mention_to_its_language_series():
    batch = score_batch(
        [
            mention("1", text="Your app is down again, I can't log in"),
            mention("2", text="La aplicación no funciona, es un desastre"),
            mention("3", text="De app werkt niet, slechte service"),
        ],
        shared_scorer(),
    )
    english, spanish, dutch = batch
    # English, the main language, would only repeat `global`: it gets no lang: series.
    assert english.mention.lang == "en" and english.series_keys == ("global", "source:tickets")
    assert spanish.series_keys == ("global", "source:tickets", "lang:es")
    assert spanish.label == "negative"
    assert dutch.series_keys == ("global", "source:tickets", "lang:nl")
    assert dutch.label == "unscored"
    assert series_keys(mention("4", at=T0)) == ["global", "source:tickets"]


def test_stored_mentions_keep_their_language_confidence_and_drivers(engine):
    from streams.ingest import store_batch
    from tests.unit.factories import LATER, WINDOW, mentions_by_id

    batch = score_batch(
        [mention("s1", text="thanks for losing my bag"), mention("s2", text="De app werkt niet")],
        shared_scorer(),
    )
    store_batch(engine, batch, window_seconds=WINDOW, now=LATER)
    stored = {m.external_id: m for m in mentions_by_id(engine).values()}
    assert (stored["s1"].lang, stored["s1"].label) == ("en", "negative")
    assert stored["s1"].sentiment_drivers is not None
    assert '"thanks" (sarcastic)' in stored["s1"].sentiment_drivers
    assert 0 < (stored["s1"].sentiment_confidence or 0) <= 1
    assert (stored["s2"].lang, stored["s2"].label) == ("nl", "unscored")
    assert " lang:nl " in stored["s2"].series_keys
