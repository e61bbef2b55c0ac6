"""Settings from CRISISMON_* variables: typed, validated, and secrets that never print."""

from __future__ import annotations

import os
from pathlib import Path

import pytest
from pydantic import ValidationError

from monitor.settings import Settings

TOKEN = "xoxb-1234-5678-SuperSecretTokenValue"


@pytest.fixture(autouse=True)
def clean_environment(monkeypatch):
    """Each test sees only the CRISISMON_* variables it sets itself."""
    for name in list(os.environ):
        if name.startswith("CRISISMON_"):
            monkeypatch.delenv(name)


def test_the_slack_token_never_appears_when_settings_are_printed(monkeypatch):
    monkeypatch.setenv("CRISISMON_SLACK_BOT_TOKEN", TOKEN)
    monkeypatch.setenv("CRISISMON_SLACK_CHANNEL", "#crisis")
    settings = Settings()
    for shown in (
        str(settings),
        repr(settings),
        settings.model_dump_json(),
        str(settings.model_dump()),
    ):
        assert TOKEN not in shown
        assert "SuperSecret" not in shown
    assert settings.slack_bot_token is not None
    assert settings.slack_bot_token.get_secret_value() == TOKEN
    assert settings.slack_configured


def test_slack_needs_both_token_and_channel(monkeypatch):
    monkeypatch.setenv("CRISISMON_SLACK_BOT_TOKEN", TOKEN)
    assert not Settings().slack_configured
    monkeypatch.setenv("CRISISMON_SLACK_CHANNEL", "")
    assert not Settings().slack_configured


def test_defaults_run_embedded_on_sqlite_under_the_data_dir(monkeypatch, tmp_path):
    monkeypatch.setenv("CRISISMON_DATA_DIR", str(tmp_path))
    settings = Settings()
    assert settings.uses_embedded_broker
    assert settings.use_inbox  # the in-memory broker's acknowledgement is not durable
    assert settings.resolved_database_url == f"sqlite:///{tmp_path / 'crisismon.db'}"
    assert settings.runtime_file == tmp_path / "runtime.json"
    assert settings.web_port == 6066


@pytest.mark.parametrize(
    ("given", "resolved"),
    [
        (
            "postgres://crisismon@db:5432/crisismon",
            "postgresql+psycopg://crisismon@db:5432/crisismon",
        ),
        ("postgresql://crisismon@db/crisismon", "postgresql+psycopg://crisismon@db/crisismon"),
        ("postgresql+psycopg://crisismon@db/c", "postgresql+psycopg://crisismon@db/c"),
        ("sqlite:////var/lib/crisismon.db", "sqlite:////var/lib/crisismon.db"),
    ],
)
def test_database_url_is_resolved_to_a_driver_we_ship(monkeypatch, given, resolved):
    monkeypatch.setenv("CRISISMON_DATABASE_URL", given)
    assert Settings().resolved_database_url == resolved


def test_a_kafka_cluster_turns_the_inbox_off_unless_asked_for(monkeypatch):
    monkeypatch.setenv("CRISISMON_BROKER", "kafka://k1:9092,k2:9092")
    assert not Settings().uses_embedded_broker
    assert not Settings().use_inbox
    monkeypatch.setenv("CRISISMON_INBOX", "true")
    assert Settings().use_inbox


def test_namespace_prefixes_topics_and_the_consumer_group(monkeypatch):
    assert Settings().topic_name("mentions.raw") == "mentions.raw"
    assert Settings().app_id == "crisismon"
    monkeypatch.setenv("CRISISMON_NAMESPACE", "staging-2")
    assert Settings().topic_name("mentions.raw") == "staging-2.mentions.raw"
    assert Settings().app_id == "crisismon-staging-2"


@pytest.mark.parametrize(
    ("name", "value", "words"),
    [
        ("CRISISMON_BROKER", "localhost:9092", "must be 'embedded' or kafka://host:port"),
        ("CRISISMON_BROKER", "kafka://", "must be 'embedded' or kafka://host:port"),
        ("CRISISMON_DATABASE_URL", "mysql://u@h/db", "got scheme 'mysql'"),
        ("CRISISMON_NAMESPACE", "Staging_2", "namespace"),
        ("CRISISMON_WEB_PORT", "70000", "web_port"),
    ],
)
def test_invalid_values_are_refused_with_the_reason(monkeypatch, name, value, words):
    monkeypatch.setenv(name, value)
    with pytest.raises(ValidationError, match=words):
        Settings()


def test_explicit_config_dir_is_taken_as_given(monkeypatch, tmp_path):
    monkeypatch.setenv("CRISISMON_CONFIG_DIR", str(tmp_path))
    assert Settings().config_dir == Path(tmp_path)
