"""Typed settings, read once from ``CRISISMON_*`` environment variables.

Where things run and every secret come from the environment; what a business edits (detection
thresholds, later sources and playbooks) comes from YAML under ``config/``. Secrets are
``SecretStr``: they print as ``**********`` and must be unwrapped explicitly.
"""

from __future__ import annotations

import os
from datetime import datetime, timedelta
from functools import lru_cache
from pathlib import Path
from typing import Literal
from urllib.parse import urlsplit

from pydantic import Field, SecretStr, field_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

from monitor.privacy import PSEUDONYM_KEY_FILE, Privacy, PseudonymKeyError, install_key

EMBEDDED = "embedded"
# The roles a CRISISMON_API_TOKENS item may name, and the web role (monitor/accounts) each has.
# The four web roles, and the token roles from before accounts existed, folded into them so
# that no token gains the power to approve or erase: an editor may no longer edit a draft
# (an edit needs a new approval anyway), an importer may now also acknowledge incidents.
API_ROLES: dict[str, str] = {
    "viewer": "viewer",
    "responder": "responder",
    "approver": "approver",
    "admin": "admin",
    "editor": "responder",
    "importer": "responder",
}


def default_data_dir() -> Path:
    """Where the embedded SQLite file and Faust's state live unless told otherwise."""
    xdg = os.environ.get("XDG_DATA_HOME")
    base = Path(xdg) if xdg else Path.home() / ".local" / "share"
    return base / "crisismon"


def shipped_config_dir() -> Path:
    """The ``config/`` folder of a source checkout, or the copy packed into the wheel."""
    package_dir = Path(__file__).resolve().parent
    checkout = package_dir.parent / "config"
    if checkout.is_dir():
        return checkout
    return package_dir / "_shipped_config"


class Settings(BaseSettings):
    """Everything crisismon reads from its environment."""

    model_config = SettingsConfigDict(env_prefix="CRISISMON_", extra="ignore")

    broker: str = Field(
        default=EMBEDDED,
        description="`embedded` (start Tansu locally) or kafka://host:port[,host:port]",
    )
    # Secret: a PostgreSQL URL may carry a password.
    database_url: SecretStr | None = Field(
        default=None, description="SQLAlchemy URL; default sqlite:///DATA_DIR/crisismon.db"
    )
    data_dir: Path = Field(default_factory=default_data_dir)
    config_dir: Path = Field(default_factory=shipped_config_dir)
    web_host: str = "127.0.0.1"
    web_port: int = Field(default=6066, ge=1, le=65535)
    namespace: str = Field(
        default="",
        description="prefix for topics and the consumer group; lets several deployments share "
        "one Kafka cluster",
        pattern=r"^[a-z0-9-]*$",
    )
    inbox: bool | None = Field(
        default=None,
        description="also write accepted mentions to an SQL inbox before answering 2xx; "
        "default on for the in-memory embedded broker, off for Kafka",
    )
    topic_partitions: int = Field(default=4, ge=1, le=256)
    topic_replication: int = Field(
        default=1, ge=1, le=16, description="replicas of our topics; use 3 on a production cluster"
    )
    broker_session_timeout: float | None = Field(
        default=None,
        gt=0,
        description="consumer group session timeout in seconds; default 3 on the embedded "
        "broker (Tansu holds each join for half of it) and 10 on Kafka (whose brokers refuse "
        "less than group.min.session.timeout.ms, 6 s by default)",
    )
    broker_memory_mb: int = Field(
        default=256,
        ge=0,
        description="recycle the embedded broker when its resident memory passes this many MB: "
        "a new Tansu gets the records the worker has not processed yet, the processed ones are "
        "dropped (Tansu ignores topic retention settings); 0: never for memory",
    )
    broker_recycle_hours: float = Field(
        default=0.0,
        ge=0,
        description="also recycle the embedded broker after this many hours, so processed "
        "records leave its memory within that time (each recycle restarts the worker, about "
        "10 s without intake); 0: only for memory",
    )
    embedded_broker_url: str | None = Field(
        default=None,
        description="set by `crisismon run` for its worker: where the embedded broker listens",
    )
    intake_backlog_limit: int = Field(
        default=2000,
        ge=0,
        description="with the inbox: hold HTTP intake while this many accepted mentions are "
        "not stored yet (503 after 10 s), so intake never outruns ingest; 0: no limit",
    )
    inbox_lost_before: float | None = Field(
        default=None,
        description="set by `crisismon run` for its worker: the time (Unix seconds) its fresh "
        "in-memory broker started; inbox entries received earlier and not yet ingested were lost "
        "with the old broker and are republished at once",
    )
    log_level: Literal["debug", "info", "warning", "error"] = Field(
        default="info",
        description="crisismon's own log lines at this level and above; Faust's and aiokafka's "
        "only from WARNING unless --verbose or debug",
    )
    log_format: Literal["text", "json"] = Field(
        default="text",
        description="json: one JSON object per log line (time, level, logger, message and any "
        "extra fields), from every process",
    )
    log_verbose: bool = Field(
        default=False,
        description="set by `--verbose`: Faust's and aiokafka's INFO lines too",
    )
    sentiment_model: Path | None = Field(
        default=None,
        description="the learned sentiment correction to start from (a file written by "
        "`crisismon sentiment train`); default the model shipped with crisismon",
    )

    detect_process: bool | None = Field(
        default=None,
        description="close and score windows in a process of its own beside each worker, so "
        "detection and ingest run on two cores; default on when there are two or more CPUs",
    )
    scoring_processes: int | None = Field(
        default=None,
        ge=0,
        le=64,
        description="processes that score sentiment beside each worker (the scorer is most of "
        "ingest's CPU); 0 scores in the worker itself; default the CPUs beyond two (the worker "
        "and its detect process), none on a machine with fewer than four",
    )

    pseudonym_key: SecretStr | None = Field(
        default=None,
        description="key of the HMAC that pseudonymises author and customer ids; needed by "
        "every source that carries them. Changing it changes every pseudonym. Unset on one "
        "machine (SQLite, embedded broker): a key made on first use in DATA_DIR/pseudonym.key",
    )
    phone_region: str = Field(
        default="US",
        pattern=r"^[A-Z]{2}$",
        description="ISO country whose national phone formats are redacted (international "
        "+… numbers are redacted whatever it is)",
    )
    max_future_skew_seconds: int = Field(
        default=900,
        ge=0,
        le=7 * 86400,
        description="how far into the future (by this server's clock) a mention's event_time "
        "may be; later ones are refused with 400, or dead-lettered in a replay, so one sender's "
        "clock cannot move event time ahead and stop windows from closing",
    )
    raw_retention_days: int = Field(
        default=0,
        ge=0,
        le=365,
        description="keep the original payload of a dead letter for this many days; 0 keeps "
        "only a PII-redacted copy. Mentions never keep their raw payload",
    )
    retention_interval_seconds: float = Field(
        default=3600,
        gt=0,
        le=86_400,
        description="how often the leader worker enforces config/retention.yaml; it also does "
        "within a minute of becoming leader",
    )

    slack_bot_token: SecretStr | None = None
    slack_channel: str | None = None
    slack_base_url: str | None = Field(
        default=None, description="override Slack's API address (tests point it at a local fake)"
    )
    slack_signing_secret: SecretStr | None = Field(
        default=None, description="verifies Slack's interactive requests (approve buttons)"
    )
    slack_approvers: str = Field(
        default="", description="comma-separated Slack user ids allowed to approve drafts"
    )
    slack_responders: str = Field(
        default="",
        description="comma-separated Slack user ids allowed to acknowledge incidents, besides "
        "the approvers; empty: anyone in the workspace",
    )

    # Playbooks: who may approve over the web API, and where customer messages go.
    api_tokens: SecretStr | None = Field(
        default=None,
        description="'TOKEN=NAME:ROLE,…' with ROLE viewer, responder, approver or admin "
        "(editor and importer still work and mean responder); sent as 'Authorization: Bearer "
        "TOKEN'. The bootstrap path: tokens made with `crisismon tokens create` are stored "
        "hashed in the database instead",
    )
    status_page_title: str = Field(
        default="Service status", max_length=200, description="the heading of GET /status"
    )
    public_url: str | None = Field(
        default=None,
        description="base URL people reach the web app at, and customers unsubscribe links at; "
        "with https:// the session cookie is Secure and HSTS is sent",
    )
    unsubscribe_secret: SecretStr | None = Field(
        default=None, description="signs unsubscribe links; a random one per process if unset"
    )
    smtp_host: str | None = None
    smtp_port: int = Field(default=25, ge=1, le=65535)
    smtp_from: str = "crisismon@localhost"
    smtp_username: str | None = None
    smtp_password: SecretStr | None = None
    smtp_starttls: bool = False
    sms_base_url: str | None = Field(
        default=None, description="Twilio-compatible API, e.g. https://api.twilio.com"
    )
    sms_account_sid: str | None = None
    sms_auth_token: SecretStr | None = None
    sms_from: str = ""
    webhook_secret: SecretStr | None = Field(
        default=None, description="HMAC-SHA256 key that signs customer webhooks"
    )
    audit_key: SecretStr | None = Field(
        default=None,
        description="key of the HMAC that chains the audit log, so that writing the database "
        "is not enough to rewrite it; rows written before it was set verify as unkeyed",
    )

    @field_validator("broker")
    @classmethod
    def _broker_is_known(cls, value: str) -> str:
        if value == EMBEDDED:
            return value
        parts = urlsplit(value)
        if parts.scheme != "kafka" or not parts.netloc:
            raise ValueError(f"must be 'embedded' or kafka://host:port, got {value!r}")
        return value

    @field_validator("log_level", "log_format", mode="before")
    @classmethod
    def _lower_case(cls, value: object) -> object:
        return value.strip().lower() if isinstance(value, str) else value

    @field_validator("api_tokens")
    @classmethod
    def _tokens_are_well_formed(cls, value: SecretStr | None) -> SecretStr | None:
        if value is not None:
            parse_api_tokens(value.get_secret_value())  # the message never quotes a token
        return value

    @field_validator("public_url")
    @classmethod
    def _public_url_is_a_url(cls, value: str | None) -> str | None:
        if value is None:
            return None
        parts = urlsplit(value)
        if parts.scheme not in {"http", "https"} or not parts.hostname:
            raise ValueError(f"must be an http:// or https:// URL, got {value[:80]!r}")
        return value

    @field_validator("pseudonym_key")
    @classmethod
    def _key_is_long_enough(cls, value: SecretStr | None) -> SecretStr | None:
        if value is not None and len(value.get_secret_value()) < 16:
            raise ValueError("must be at least 16 characters (use `openssl rand -hex 32`)")
        return value

    @field_validator(
        "embedded_broker_url",
        "database_url",
        "pseudonym_key",
        "sentiment_model",
        "smtp_host",
        "sms_base_url",
        "webhook_secret",
        "api_tokens",
        "slack_signing_secret",
        "unsubscribe_secret",
        "audit_key",
        "public_url",
        mode="before",
    )
    @classmethod
    def _empty_is_unset(cls, value: object) -> object:
        return None if value == "" else value

    @field_validator("database_url")
    @classmethod
    def _database_is_supported(cls, value: SecretStr | None) -> SecretStr | None:
        if value is None:
            return None
        scheme = urlsplit(value.get_secret_value()).scheme.split("+")[0]
        if scheme not in {"sqlite", "postgresql", "postgres"}:
            raise ValueError(f"must be a sqlite:// or postgresql:// URL, got scheme {scheme!r}")
        return value

    @property
    def api_token_roles(self) -> dict[str, tuple[str, str]]:
        """CRISISMON_API_TOKENS as {token: (name, role)}."""
        raw = self.api_tokens.get_secret_value() if self.api_tokens else ""
        return parse_api_tokens(raw)

    @property
    def slack_approver_ids(self) -> frozenset[str]:
        return _user_ids(self.slack_approvers)

    @property
    def slack_responder_ids(self) -> frozenset[str]:
        return _user_ids(self.slack_responders)

    @property
    def uses_embedded_broker(self) -> bool:
        return self.broker == EMBEDDED

    @property
    def session_timeout(self) -> float:
        if self.broker_session_timeout is not None:
            return self.broker_session_timeout
        return 3.0 if self.uses_embedded_broker else 10.0

    @property
    def use_inbox(self) -> bool:
        return self.uses_embedded_broker if self.inbox is None else self.inbox

    @property
    def resolved_database_url(self) -> str:
        """The database URL with the SQLite default filled in and PostgreSQL on psycopg 3."""
        url = (
            self.database_url.get_secret_value()
            if self.database_url
            else f"sqlite:///{self.data_dir / 'crisismon.db'}"
        )
        if url.startswith("postgres://"):
            url = "postgresql://" + url.removeprefix("postgres://")
        if url.startswith("postgresql://"):
            url = "postgresql+psycopg://" + url.removeprefix("postgresql://")
        return url

    @property
    def app_id(self) -> str:
        """Faust app id: names the consumer group and the changelog topics."""
        return f"crisismon-{self.namespace}" if self.namespace else "crisismon"

    def topic_name(self, name: str) -> str:
        return f"{self.namespace}.{name}" if self.namespace else name

    @property
    def resolved_detect_process(self) -> bool:
        if self.detect_process is not None:
            return self.detect_process
        return (os.cpu_count() or 1) >= 2

    @property
    def resolved_scoring_processes(self) -> int:
        if self.scoring_processes is not None:
            return self.scoring_processes
        # The worker and its detect process take two cores; scoring processes only pay on the
        # cores beyond those (measured on 2 cores: a pool there slowed ingest, 9.8 s -> 13.9 s
        # for 20,000 mentions).
        cpus = os.cpu_count() or 1
        return cpus - 2 if cpus >= 4 else 0

    @property
    def distributed(self) -> bool:
        """Workers may run on several machines (PostgreSQL or Kafka), so they must be given
        what they share, such as the pseudonym key, rather than each make their own."""
        return not self.uses_embedded_broker or self.resolved_database_url.startswith("postgresql")

    @property
    def pseudonym_key_file(self) -> Path:
        return self.data_dir / PSEUDONYM_KEY_FILE

    def resolved_pseudonym_key(self) -> str | None:
        """CRISISMON_PSEUDONYM_KEY; without it, this install's key file (made on first use)
        on one machine, and None when distributed (see `require_pseudonym_key`)."""
        if self.pseudonym_key is not None:
            return self.pseudonym_key.get_secret_value()
        if self.distributed:
            return None
        return install_key(self.pseudonym_key_file)

    def require_pseudonym_key(self) -> None:
        """At a service's start: its key, made if need be; PseudonymKeyError when distributed
        without CRISISMON_PSEUDONYM_KEY, as machines that each made a key would disagree."""
        if self.resolved_pseudonym_key() is not None:
            return
        kept = ""
        if self.pseudonym_key_file.is_file():
            kept = (
                f" (to keep the pseudonyms made so far, use the key in {self.pseudonym_key_file})"
            )
        raise PseudonymKeyError(
            "CRISISMON_PSEUDONYM_KEY is not set: with PostgreSQL or Kafka every worker must use "
            f"the same key, so set it everywhere (e.g. to `openssl rand -hex 32`){kept}"
        )

    @property
    def privacy(self) -> Privacy:
        """The redaction and pseudonymisation every parser applies."""
        return Privacy.from_key(self.resolved_pseudonym_key(), phone_region=self.phone_region)

    def latest_event_time(self, now: datetime) -> datetime:
        """The latest event time accepted at ``now``: the allowed clock skew ahead of it."""
        return now + timedelta(seconds=self.max_future_skew_seconds)

    @property
    def slack_configured(self) -> bool:
        return self.slack_bot_token is not None and bool(self.slack_channel)

    @property
    def runtime_file(self) -> Path:
        """Where `crisismon run` records the embedded broker's address for other commands."""
        return self.data_dir / "runtime.json"


@lru_cache(maxsize=1)
def get_settings() -> Settings:
    """The process-wide settings, read from the environment on first use."""
    return Settings()


def parse_api_tokens(raw: str) -> dict[str, tuple[str, str]]:
    """``TOKEN=NAME:ROLE,…`` as {token: (name, role)}; ValueError naming the bad item by its
    position (never its text, which holds a secret)."""
    found: dict[str, tuple[str, str]] = {}
    items = [item.strip() for item in raw.split(",") if item.strip()]
    for position, item in enumerate(items, start=1):
        token, _, who = item.rpartition("=")  # NAME:ROLE never holds '='; a token may (base64)
        name, _, role = who.partition(":")
        where = f"item {position} of {len(items)}"
        if not token.strip() or not name.strip() or not role.strip():
            raise ValueError(
                f"{where} is not TOKEN=NAME:ROLE; expected 'TOKEN=NAME:ROLE,…' with ROLE one "
                f"of {', '.join(API_ROLES)}, e.g. 's3cret-token=alice:approver'"
            )
        if role.strip() not in API_ROLES:
            raise ValueError(
                f"{where} has role {role.strip()!r}; ROLE must be one of {', '.join(API_ROLES)}"
            )
        found[token.strip()] = (name.strip(), role.strip())
    return found


def _user_ids(listed: str) -> frozenset[str]:
    """Slack user ids from a comma-separated setting, blanks ignored."""
    return frozenset(u.strip() for u in listed.split(",") if u.strip())
