"""docker-compose.yml follows the Compose specification and runs what the docs promise: two
workers and `crisismon web`, every setting passed through, ready checks, no secret written in.

No Docker engine runs in CI, so the file is checked here against the official schema
(tests/data/compose-spec.json) and against the code it starts.
"""

from __future__ import annotations

import json
import re
from pathlib import Path, PurePosixPath
from typing import Any
from urllib.parse import urlsplit

import jsonschema
import pytest
import typer
import yaml
from pydantic import SecretStr

from monitor.settings import Settings
from monitor.shell.cli import cli
from tests.conftest import REPO

COMPOSE_FILE = REPO / "docker-compose.yml"
SCHEMA_FILE = REPO / "tests" / "data" / "compose-spec.json"
# Variables the operator must set: every process must share them, and unsubscribe links must
# name a host customers can reach.
REQUIRED = ("CRISISMON_PSEUDONYM_KEY", "CRISISMON_UNSUBSCRIBE_SECRET", "CRISISMON_PUBLIC_URL")
SECRET_NAME = re.compile(r"PASSWORD|SECRET|TOKEN|KEY")
INTERPOLATION = re.compile(r"\$\{[^}]*\}")


@pytest.fixture(scope="module")
def compose() -> dict[str, Any]:
    loaded: dict[str, Any] = yaml.safe_load(COMPOSE_FILE.read_text())
    return loaded


def crisismon_services(compose: dict[str, Any]) -> dict[str, dict[str, Any]]:
    return {
        name: service
        for name, service in compose["services"].items()
        if service.get("image") == "crisismon:latest"
    }


def setting_variables() -> set[str]:
    prefix = Settings.model_config.get("env_prefix", "")
    return {f"{prefix}{name}".upper() for name in Settings.model_fields}


def inline_secrets(environment: dict[str, Any]) -> list[str]:
    """The variables whose secret is written in the file rather than taken from the shell."""
    secret_settings = {
        f"CRISISMON_{name.upper()}"
        for name, field in Settings.model_fields.items()
        if SecretStr in getattr(field.annotation, "__args__", (field.annotation,))
    }
    found = []
    for name, value in environment.items():
        if value is None or not (name in secret_settings or SECRET_NAME.search(name)):
            continue
        written = INTERPOLATION.sub("", str(value))
        if written and (urlsplit(written).password or "://" not in written):
            found.append(name)
    return found


def test_compose_file_follows_the_compose_specification(compose: dict[str, Any]) -> None:
    schema = json.loads(SCHEMA_FILE.read_text())
    # Draft 7, as its "$schema" says (spelt without the "#" that jsonschema looks for).
    jsonschema.Draft7Validator.check_schema(schema)
    validator = jsonschema.Draft7Validator(schema)
    errors = [f"{'/'.join(map(str, e.path))}: {e.message}" for e in validator.iter_errors(compose)]
    assert errors == []


def test_two_workers_and_the_web_run_real_commands(compose: dict[str, Any]) -> None:
    services = crisismon_services(compose)
    assert services["worker"]["command"] == ["worker"]
    assert services["worker"]["deploy"]["replicas"] == 2
    assert services["web"]["command"] == ["web"]
    commands = typer.main.get_command(cli).commands  # type: ignore[attr-defined]
    assert {"worker", "web"} <= set(commands)
    assert "ports" not in services["worker"]  # the API is served by web, the only one published


def test_every_setting_reaches_the_workers_and_the_web(compose: dict[str, Any]) -> None:
    for name, service in crisismon_services(compose).items():
        passed = set(service["environment"])
        assert setting_variables() - passed == set(), f"{name} misses settings"
        unknown = {v for v in passed if v.startswith("CRISISMON_")} - setting_variables()
        assert unknown == set(), f"{name} passes variables crisismon does not read"


def test_shared_secrets_and_the_public_url_are_required(compose: dict[str, Any]) -> None:
    for service in crisismon_services(compose).values():
        environment = service["environment"]
        for variable in REQUIRED:
            assert str(environment[variable]).startswith(f"${{{variable}:?"), variable
        assert environment["CRISISMON_WEB_HOST"] == "0.0.0.0"  # why the public URL is required


def test_health_checks_ask_readyz(compose: dict[str, Any]) -> None:
    for name, service in crisismon_services(compose).items():
        check = " ".join(service["healthcheck"]["test"])
        assert "/readyz" in check and "/healthz" not in check, name
    dockerfile = (REPO / "Dockerfile").read_text()
    assert "/readyz" in dockerfile and "/healthz" not in dockerfile


def test_no_secret_is_written_in_the_file(compose: dict[str, Any]) -> None:
    for name, service in compose["services"].items():
        assert inline_secrets(service.get("environment") or {}) == [], name
    # The check itself: a written password is caught, a URL with an interpolated one is not.
    assert inline_secrets({"GF_SECURITY_ADMIN_PASSWORD": "admin"}) == ["GF_SECURITY_ADMIN_PASSWORD"]
    assert inline_secrets({"CRISISMON_DATABASE_URL": "postgresql://u:pw@db/x"}) == [
        "CRISISMON_DATABASE_URL"
    ]
    assert inline_secrets({"CRISISMON_DATABASE_URL": "postgresql://u:${PW:?}@db/x"}) == []


def mounts(service: dict[str, Any]) -> list[tuple[Path, PurePosixPath]]:
    """The files and folders of the repository bind-mounted into a service: (source, target)."""
    found = []
    for volume in service.get("volumes", []):
        source, target, *_ = volume.split(":")
        if source.startswith("."):
            found.append((REPO / source, PurePosixPath(target)))
    return found


def test_every_mounted_file_exists(compose: dict[str, Any]) -> None:
    for name, service in compose["services"].items():
        for source, _ in mounts(service):
            assert source.exists(), f"{name} mounts {source.relative_to(REPO)}, which is missing"
        if "build" in service:
            assert (REPO / service["build"] / "Dockerfile").is_file()


def test_grafana_and_prometheus_find_what_they_are_given(compose: dict[str, Any]) -> None:
    provisioning = REPO / "deploy" / "grafana" / "provisioning"
    provider = yaml.safe_load((provisioning / "dashboards" / "crisismon.yml").read_text())
    dashboard_dirs = {
        str(t.parent) for s, t in mounts(compose["services"]["grafana"]) if s.is_file()
    }
    assert provider["providers"][0]["options"]["path"] in dashboard_dirs
    datasource = yaml.safe_load((provisioning / "datasources" / "prometheus.yml").read_text())
    assert urlsplit(datasource["datasources"][0]["url"]).hostname in compose["services"]

    scrape = yaml.safe_load((REPO / "deploy" / "prometheus" / "prometheus.yml").read_text())
    for job in scrape["scrape_configs"]:
        hosts = [n for sd in job.get("dns_sd_configs", []) for n in sd["names"]]
        hosts += [t.split(":")[0] for sc in job.get("static_configs", []) for t in sc["targets"]]
        assert hosts and set(hosts) <= set(compose["services"]), job["job_name"]
