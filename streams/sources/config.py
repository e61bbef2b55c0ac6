"""``config/sources.yaml``: which sources run. Validated; errors name the file, source and key.

Secrets never live in the YAML: a webhook source named ``zendesk`` reads its secret from
``CRISISMON_SOURCE_ZENDESK_SECRET`` (upper case, ``-`` and ``.`` become ``_``).

>>> secret_variable("status-page.eu")
'CRISISMON_SOURCE_STATUS_PAGE_EU_SECRET'
"""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping
from pathlib import Path
from typing import Annotated, Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator

from monitor.yamlfile import ConfigFileError, load
from streams.sources import RateLimit, Source, WebhookSource
from streams.sources.attributed import AttributedSource
from streams.sources.feeds import FeedSource
from streams.sources.freshdesk import FreshdeskSource
from streams.sources.intercom import IntercomSource
from streams.sources.mastodon import MastodonSource
from streams.sources.polling import PolledSource
from streams.sources.reviews import ReviewWebhookSource
from streams.sources.social import SocialWebhookSource
from streams.sources.zendesk import ZendeskSource

_NAME = r"^[a-z0-9][a-z0-9_.-]{0,63}$"
WEBHOOK_KINDS = {
    "zendesk": ZendeskSource,
    "freshdesk": FreshdeskSource,
    "intercom": IntercomSource,
    "reviews": ReviewWebhookSource,
    "social": SocialWebhookSource,
}


class SourceConfigError(ValueError):
    """sources.yaml is invalid, or a source lacks its secret; one readable line."""


def secret_variable(name: str) -> str:
    return "CRISISMON_SOURCE_" + name.upper().replace("-", "_").replace(".", "_") + "_SECRET"


class RateLimitSpec(BaseModel):
    model_config = ConfigDict(extra="forbid")

    per_second: float = Field(default=50.0, gt=0, le=100_000)
    burst: int = Field(default=200, ge=1, le=1_000_000)


class WebhookSpec(BaseModel):
    model_config = ConfigDict(extra="forbid")

    name: str = Field(pattern=_NAME)
    kind: Literal["zendesk", "freshdesk", "intercom", "reviews", "social"]
    # None: the kind's own limit (256 KB; Intercom 512 KB; reviews and social 1 MB).
    max_body_kb: int | None = Field(default=None, ge=1, le=10_240)
    rate_limit: RateLimitSpec = RateLimitSpec()
    # Zendesk only: how far a signed timestamp may be from now.
    tolerance_seconds: float = Field(default=300.0, gt=0, le=86_400)
    # Mention attributes read from vendor fields: name -> dotted path into the body
    # (streams.sources.attributed), e.g. region: ticket.custom_fields.360001
    attributes: dict[
        Annotated[str, Field(pattern=r"^[a-z0-9_]{1,40}$")],
        Annotated[str, Field(min_length=1, max_length=300)],
    ] = Field(default={}, max_length=20)


class FeedSpec(BaseModel):
    model_config = ConfigDict(extra="forbid")

    name: str = Field(pattern=_NAME)
    kind: Literal["feed"]
    url: str
    interval_seconds: float = Field(default=300.0, ge=5, le=86_400)
    timeout_seconds: float = Field(default=20.0, gt=0, le=300)
    max_body_kb: int = Field(default=2048, ge=1, le=51_200)

    @field_validator("url")
    @classmethod
    def _http(cls, value: str) -> str:
        if not value.startswith(("http://", "https://")):
            raise ValueError(f"must be an http:// or https:// URL, got {value!r}")
        return value


class MastodonSpec(BaseModel):
    model_config = ConfigDict(extra="forbid")

    name: str = Field(pattern=_NAME)
    kind: Literal["mastodon"]
    instance: str
    hashtags: list[Annotated[str, Field(pattern=r"^#?[^\s#/?]{1,100}$")]] = []
    keywords: list[Annotated[str, Field(min_length=1, max_length=200)]] = []
    interval_seconds: float = Field(default=60.0, ge=5, le=86_400)
    timeout_seconds: float = Field(default=20.0, gt=0, le=300)
    page_limit: int = Field(default=40, ge=1, le=40)

    @field_validator("instance")
    @classmethod
    def _http(cls, value: str) -> str:
        if not value.startswith(("http://", "https://")):
            raise ValueError(f"must be an http:// or https:// URL, got {value!r}")
        return value.rstrip("/")


SourceSpec = Annotated[WebhookSpec | FeedSpec | MastodonSpec, Field(discriminator="kind")]


class SourcesConfig(BaseModel):
    model_config = ConfigDict(extra="forbid")

    sources: list[SourceSpec] = []

    @field_validator("sources")
    @classmethod
    def _unique(cls, value: list[SourceSpec]) -> list[SourceSpec]:
        names = [spec.name for spec in value]
        duplicates = sorted({n for n in names if names.count(n) > 1})
        if duplicates:
            raise ValueError(f"source names must be unique; repeated: {', '.join(duplicates)}")
        return value


def load_sources_config(path: Path) -> SourcesConfig:
    """Read and validate; a missing file means no configured sources. Errors are
    ``file:line: sources[1] (name).key: message``."""
    if not path.exists():
        return SourcesConfig()
    try:
        located = load(path)
    except ConfigFileError as exc:
        raise SourceConfigError(str(exc)) from None
    data = located.data if located.data is not None else {}
    try:
        return SourcesConfig.model_validate(data)
    except ValidationError as exc:
        first = exc.errors()[0]
        line = located.line_of_error(tuple(first["loc"]))
        message = str(first["msg"]).removeprefix("Value error, ")
        raise SourceConfigError(f"{path}:{line}: {_where(data, first['loc'])}: {message}") from exc


def _where(data: object, loc: tuple[int | str, ...]) -> str:
    """``sources[1] (zendesk).rate_limit.burst`` rather than ``sources.1.zendesk.…``."""
    parts: list[str] = []
    node = data
    for step in loc:
        if isinstance(step, int) and isinstance(node, list) and step < len(node):
            node = node[step]
            name = node.get("name") if isinstance(node, dict) else None
            parts[-1] += f"[{step}]" + (f" ({name})" if name else "")
        elif isinstance(step, str) and step in WEBHOOK_KINDS | {"feed": 0, "mastodon": 0}:
            continue  # the discriminator's branch name
        else:
            parts.append(str(step))
            node = node.get(step) if isinstance(node, dict) else None
    return ".".join(parts) or "(top level)"


def build_webhooks(
    config: SourcesConfig, *, env: Mapping[str, str], can_pseudonymise: bool
) -> dict[str, WebhookSource]:
    """The configured webhook sources by name; every one must have its secret."""
    built: dict[str, WebhookSource] = {}
    for spec in config.sources:
        if not isinstance(spec, WebhookSpec):
            continue
        variable = secret_variable(spec.name)
        secret = env.get(variable, "")
        if len(secret) < 8:
            raise SourceConfigError(
                f"source {spec.name!r} ({spec.kind}) needs its secret in {variable} "
                "(8+ characters; the same one you set in the vendor's webhook settings)"
            )
        rate = RateLimit(spec.rate_limit.per_second, spec.rate_limit.burst)
        source: WebhookSource
        if spec.kind == "zendesk":
            source = ZendeskSource(
                spec.name,
                secret.encode(),
                rate_limit=rate,
                tolerance_seconds=spec.tolerance_seconds,
            )
        else:
            source = WEBHOOK_KINDS[spec.kind](spec.name, secret.encode(), rate_limit=rate)
        if spec.max_body_kb is not None:
            source = dataclasses.replace(source, max_body_bytes=spec.max_body_kb * 1024)  # type: ignore[type-var]
        check_key(source, can_pseudonymise)
        built[spec.name] = AttributedSource(source, spec.attributes) if spec.attributes else source
    return built


def build_polled(
    config: SourcesConfig, *, can_pseudonymise: bool, env: Mapping[str, str]
) -> list[PolledSource]:
    """The configured feed and Mastodon sources, in file order."""
    built: list[PolledSource] = []
    for spec in config.sources:
        if isinstance(spec, MastodonSpec):
            if not spec.hashtags and not spec.keywords:
                raise SourceConfigError(
                    f"source {spec.name!r} (mastodon) needs hashtags or keywords to follow"
                )
            built.append(
                MastodonSource(
                    spec.name,
                    spec.instance,
                    hashtags=tuple(t.lstrip("#") for t in spec.hashtags),
                    keywords=tuple(spec.keywords),
                    interval_seconds=spec.interval_seconds,
                    timeout_seconds=spec.timeout_seconds,
                    page_limit=spec.page_limit,
                    # Optional: only for instances that do not serve public timelines openly.
                    access_token=env.get(secret_variable(spec.name)) or None,
                )
            )
        if isinstance(spec, FeedSpec):
            built.append(
                FeedSource(
                    spec.name,
                    spec.url,
                    interval_seconds=spec.interval_seconds,
                    timeout_seconds=spec.timeout_seconds,
                    max_body_bytes=spec.max_body_kb * 1024,
                )
            )
    for source in built:
        check_key(source, can_pseudonymise)
    return built


def check_key(source: Source, can_pseudonymise: bool) -> None:
    if source.needs_pseudonym_key and not can_pseudonymise:
        raise SourceConfigError(
            f"source {source.name!r} ({source.kind}) carries author or customer ids, which are "
            "stored only as pseudonyms: set CRISISMON_PSEUDONYM_KEY (e.g. to "
            "`openssl rand -hex 32`)"
        )
