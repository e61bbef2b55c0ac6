"""config/sources.yaml: a mistake stops the worker with the file, the source and the key."""

from __future__ import annotations

from pathlib import Path

import pytest

from monitor.settings import shipped_config_dir
from streams.sources.config import SourceConfigError, build_webhooks, load_sources_config
from streams.sources.zendesk import ZendeskSource

SECRETS = {"CRISISMON_SOURCE_ZENDESK_SECRET": "zendesk-secret-123"}


def write(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "sources.yaml"
    path.write_text(text)
    return path


def test_shipped_file_configures_nothing_and_a_missing_file_is_no_sources(tmp_path):
    assert load_sources_config(shipped_config_dir() / "sources.yaml").sources == []
    assert load_sources_config(tmp_path / "absent.yaml").sources == []


def test_webhook_source_gets_its_limits_and_its_secret_from_the_environment(tmp_path):
    config = load_sources_config(
        write(
            tmp_path,
            "sources:\n  - {name: zendesk, kind: zendesk, max_body_kb: 64,"
            " rate_limit: {per_second: 5, burst: 10}, tolerance_seconds: 60}\n",
        )
    )
    (source,) = build_webhooks(config, env=SECRETS, can_pseudonymise=True).values()
    assert isinstance(source, ZendeskSource)
    assert (source.secret, source.max_body_bytes) == (b"zendesk-secret-123", 64 * 1024)
    assert (source.rate_limit.per_second, source.rate_limit.burst) == (5, 10)
    assert source.tolerance_seconds == 60


def test_missing_secret_names_the_variable_to_set(tmp_path):
    config = load_sources_config(write(tmp_path, "sources: [{name: zendesk, kind: zendesk}]"))
    with pytest.raises(SourceConfigError, match="CRISISMON_SOURCE_ZENDESK_SECRET"):
        build_webhooks(config, env={}, can_pseudonymise=True)


def test_ticket_source_without_a_pseudonym_key_is_refused_at_start(tmp_path):
    config = load_sources_config(write(tmp_path, "sources: [{name: zendesk, kind: zendesk}]"))
    with pytest.raises(SourceConfigError, match="set CRISISMON_PSEUDONYM_KEY"):
        build_webhooks(config, env=SECRETS, can_pseudonymise=False)


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("sources: [{name: zendesk, kind: zendsk}]", "sources[0] (zendesk)"),
        ("sources: [{name: a, kind: zendesk}, {name: a, kind: intercom}]", "repeated: a"),
        ("sources: [{name: f, kind: feed, url: ftp://x}]", "sources[0] (f).url"),
        ("sources: [{name: Big Name, kind: social}]", "sources[0] (Big Name).name"),
        ("sources: [{name: z, kind: zendesk, secret: abc}]", "sources[0] (z).secret"),
        ("sources: [", "not valid YAML"),
    ],
)
def test_invalid_file_is_one_line_naming_the_source_and_key(tmp_path, text, message):
    with pytest.raises(SourceConfigError) as caught:
        load_sources_config(write(tmp_path, text))
    assert message in str(caught.value)
    assert "\n" not in str(caught.value).split(": ", 1)[1][:200]
