"""The Grafana dashboard and the Prometheus config ask only for metrics crisismon exports."""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

import yaml

import monitor.shell.metrics_view  # noqa: F401  (registers the cluster and lag collectors)
from monitor.metrics import REGISTRY

ROOT = Path(__file__).resolve().parents[2]
DASHBOARD = ROOT / "docs" / "grafana" / "crisismon-dashboard.json"
METRIC = re.compile(r"\b(?:crisismon|process)_[a-z0-9_]+")


def exported_names() -> set[str]:
    """Every sample name a scrape can show, even for families with no samples yet."""
    names: set[str] = set()
    for family in REGISTRY.collect():
        names.add(f"{family.name}_total" if family.type == "counter" else family.name)
        names.update(sample.name for sample in family.samples)
    return {name for name in names if not name.endswith("_created")}


def crisismon_names() -> set[str]:
    return {name for name in exported_names() if name.startswith("crisismon_")}


def panels(dashboard: dict[str, Any]) -> list[dict[str, Any]]:
    found: list[dict[str, Any]] = []
    for panel in dashboard["panels"]:
        found.append(panel)
        found.extend(panel.get("panels", []))
    return found


def test_every_query_names_an_exported_metric_and_every_metric_has_a_panel() -> None:
    dashboard = json.loads(DASHBOARD.read_text())
    exprs = [t["expr"] for p in panels(dashboard) for t in p.get("targets", [])]
    used = {name for expr in exprs for name in METRIC.findall(expr)}
    exported = exported_names()
    assert used - exported == set(), "the dashboard asks for metrics crisismon does not export"
    assert crisismon_names() - used == set(), "these metrics have no panel on the dashboard"


def test_the_dashboard_is_a_grafana_model_on_a_prometheus_datasource_variable() -> None:
    dashboard = json.loads(DASHBOARD.read_text())
    assert dashboard["uid"] == "crisismon" and isinstance(dashboard["schemaVersion"], int)
    (variable,) = dashboard["templating"]["list"]
    assert (variable["name"], variable["type"], variable["query"]) == (
        "DS_PROMETHEUS",
        "datasource",
        "prometheus",
    )
    ids = [p["id"] for p in panels(dashboard)]
    assert len(ids) == len(set(ids))
    for panel in panels(dashboard):
        assert set(panel["gridPos"]) == {"h", "w", "x", "y"}
        if panel["type"] == "row":
            continue
        assert panel["datasource"] == {"type": "prometheus", "uid": "${DS_PROMETHEUS}"}
        assert [t["refId"] for t in panel["targets"]] == [
            chr(65 + i) for i in range(len(panel["targets"]))
        ]


def test_prometheus_scrapes_the_workers_metrics_page() -> None:
    config = yaml.safe_load((ROOT / "deploy" / "prometheus" / "prometheus.yml").read_text())
    (job,) = config["scrape_configs"]
    assert job["metrics_path"] == "/metrics"
    (discovery,) = job["dns_sd_configs"]
    assert discovery["port"] == 6066 and set(discovery["names"]) == {"worker", "web"}
