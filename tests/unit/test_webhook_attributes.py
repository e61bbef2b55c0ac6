"""A webhook source can map vendor fields (a Zendesk custom field, an Intercom custom attribute,
a field of a review item) to mention attributes, configured in sources.yaml."""

from __future__ import annotations

import json
from datetime import UTC, datetime

import pytest

from monitor.privacy import Privacy
from streams.sources import RateLimit, WebhookSource
from streams.sources.config import SourceConfigError, build_webhooks, load_sources_config
from streams.sources.webhook import Decision, TokenBucket, handle
from tests.vendors import crisismon_headers, fixture, intercom_headers, zendesk_headers

SECRET = "whsec-unit-0123456789"
NOW = datetime(2026, 1, 5, 10, 0, tzinfo=UTC)
PRIVACY = Privacy.from_key("unit-test-key-0123456789")


def built(tmp_path, yaml_text: str) -> WebhookSource:
    path = tmp_path / "sources.yaml"
    path.write_text(yaml_text, encoding="utf-8")
    config = load_sources_config(path)
    (name,) = [spec.name for spec in config.sources]
    env = {f"CRISISMON_SOURCE_{name.upper()}_SECRET": SECRET}
    return build_webhooks(config, env=env, can_pseudonymise=True)[name]


def decide(source: WebhookSource, headers: dict[str, str], body: bytes) -> Decision:
    bucket = TokenBucket(RateLimit(1000, 1000))
    return handle(source, bucket, headers=headers, body=body, received=NOW, privacy=PRIVACY)


ZENDESK_YAML = """
sources:
  - name: zendesk
    kind: zendesk
    attributes:
      region: ticket.custom_fields.360001
      plan: plan
"""


def test_a_zendesk_custom_field_and_a_placeholder_become_attributes(tmp_path):
    source = built(tmp_path, ZENDESK_YAML)
    payload = json.loads(fixture("zendesk", "ticket_create_update"))
    payload["plan"] = "Enterprise"
    payload["ticket"] = {"custom_fields": [{"id": 360001, "value": "EU"}, {"id": 2, "value": 1}]}
    body = json.dumps(payload).encode()
    decision = decide(source, zendesk_headers(SECRET, body, NOW), body)
    assert decision.status == 202
    (mention,) = decision.mentions
    assert dict(mention.attributes) == {"plan": "Enterprise", "region": "EU"}
    assert mention.external_id == "7"  # the vendor mapping itself is unchanged


def test_a_field_that_is_absent_adds_nothing(tmp_path):
    source = built(tmp_path, ZENDESK_YAML)
    body = fixture("zendesk", "ticket_create_update")
    (mention,) = decide(source, zendesk_headers(SECRET, body, NOW), body).mentions
    assert mention.attributes == ()


def test_an_intercom_custom_attribute_becomes_an_attribute(tmp_path):
    source = built(
        tmp_path,
        "sources:\n  - name: intercom\n    kind: intercom\n"
        "    attributes: {plan: data.item.custom_attributes.Plan}\n",
    )
    payload = json.loads(fixture("intercom", "conversation_user_created"))
    payload["data"]["item"]["custom_attributes"] = {"Plan": "Pro", "Seats": 40}
    body = json.dumps(payload).encode()
    (mention,) = decide(source, intercom_headers(SECRET, body), body).mentions
    assert dict(mention.attributes) == {"plan": "Pro"}


def test_review_items_get_attributes_from_their_own_fields(tmp_path):
    source = built(
        tmp_path,
        "sources:\n  - name: reviews\n    kind: reviews\n"
        "    attributes: {country: store.territory}\n",
    )
    items = [
        {"id": "r1", "text": "Crashes", "rating": 1, "store": {"territory": "DE"}},
        {"id": "r2", "text": "Fine", "rating": 4, "attributes": {"app_version": "4.12.0"}},
    ]
    body = json.dumps(items).encode()
    first, second = decide(source, crisismon_headers(SECRET, body), body).mentions
    assert dict(first.attributes) == {"country": "DE"}
    assert dict(second.attributes) == {"app_version": "4.12.0"}  # an item's own attributes


def test_a_path_to_an_object_is_a_400_with_the_reason_and_a_dead_letter(tmp_path):
    source = built(tmp_path, ZENDESK_YAML)
    payload = {**json.loads(fixture("zendesk", "ticket_create_update")), "plan": {"id": 3}}
    body = json.dumps(payload).encode()
    decision = decide(source, zendesk_headers(SECRET, body, NOW), body)
    assert decision.status == 400
    assert "attribute 'plan': plan is an object or array" in decision.body["error"]
    assert decision.dead_letter is not None and "zendesk webhook" in decision.dead_letter


def test_a_bad_attribute_name_in_sources_yaml_names_the_source_and_key(tmp_path):
    path = tmp_path / "sources.yaml"
    path.write_text(
        "sources:\n  - name: zendesk\n    kind: zendesk\n    attributes: {Region Code: x}\n"
    )
    with pytest.raises(SourceConfigError, match=r"sources\[0\] \(zendesk\)\.attributes"):
        load_sources_config(path)
