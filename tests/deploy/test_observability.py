"""The operations files (Prometheus config, alert rules, Grafana provisioning and dashboard) are valid, and every
series they use is one the worker really exports. ``promtool`` checks and unit-tests the rules where it is
installed (``make promtool``; CI makes it mandatory with ENTRYPOINT_REQUIRE_PROMTOOL=1)."""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
from pathlib import Path
from typing import Any

import pytest
import yaml

from workers import metrics as worker_metrics
from workflows import metrics as workflow_metrics

ROOT = Path(__file__).resolve().parents[2]
DEPLOY = ROOT / "deploy"

SDK_SERIES = {
    # Seen in a real scrape of the worker (tests/ops/test_metrics.py checks the first of these appear).
    "temporal_workflow_task_schedule_to_start_latency_bucket",
    "temporal_activity_schedule_to_start_latency_bucket",
    "temporal_worker_task_slots_available",
    "temporal_worker_task_slots_used",
    "temporal_sticky_cache_size",
    "temporal_sticky_cache_hit_total",
    "temporal_request_failure_total",
    "temporal_num_pollers",
    # Only once something fails or misses, so not in a healthy scrape:
    "temporal_sticky_cache_miss_total",
    "temporal_long_request_failure_total",
    "temporal_activity_execution_failed_total",
}
GATEWAY_SERIES = {"entrypoint_gateway_requests_total"}
PROMQL_WORDS = {
    "sum", "max", "min", "by", "rate", "increase", "histogram_quantile", "or", "and", "vector", "time", "le",
    "absent", "up",
}  # fmt: skip


def engine_series() -> set[str]:
    counters = {*worker_metrics.COUNTERS, *workflow_metrics.COUNTERS}
    return set(worker_metrics.GAUGES) | {f"{name}_total" for name in counters}


def series_in(expr: str) -> set[str]:
    without_labels = re.sub(r"\{[^}]*\}", "", expr)
    without_ranges = re.sub(r"\[[^\]]*\]", "", without_labels)
    without_by = re.sub(r"\bby\s*\([^)]*\)", "", without_ranges)
    return {word for word in re.findall(r"[a-zA-Z_:][a-zA-Z0-9_:]*", without_by) if word not in PROMQL_WORDS}


def promtool() -> str | None:
    local = ROOT / ".venv/bin/promtool"
    found = shutil.which("promtool") or (str(local) if local.exists() else None)
    if found is None and os.environ.get("ENTRYPOINT_REQUIRE_PROMTOOL") == "1":
        pytest.fail("promtool is required here (ENTRYPOINT_REQUIRE_PROMTOOL=1): run `make promtool`")
    return found


def rules() -> list[dict[str, Any]]:
    data = yaml.safe_load((DEPLOY / "prometheus/alerts.yml").read_text())
    return [rule for group in data["groups"] for rule in group["rules"]]


def test_every_alert_says_what_it_means_and_what_to_do() -> None:
    alerts = {rule["alert"]: rule for rule in rules()}
    assert {"WorkerNotPolling", "ActivityFailuresRising", "OutboxStale", "AttentionWaiting", "SmtpFailing"} <= set(
        alerts
    )
    for name, rule in alerts.items():
        assert rule["labels"]["severity"] in {"page", "warn", "ticket"}, name
        assert rule["annotations"]["summary"] and rule["annotations"]["runbook"], name
    assert "900" in alerts["OutboxStale"]["expr"]
    assert "7 * 86400" in alerts["AttentionWaiting"]["expr"]


def test_alerts_and_the_dashboard_use_only_series_that_exist() -> None:
    known = engine_series() | SDK_SERIES | GATEWAY_SERIES
    dashboard = json.loads((DEPLOY / "grafana/dashboards/entrypoint.json").read_text())
    exprs = [rule["expr"] for rule in rules()]
    exprs += [target["expr"] for panel in dashboard["panels"] for target in panel["targets"]]
    unknown = {name for expr in exprs for name in series_in(expr)} - known
    assert not unknown, f"series used but never exported: {sorted(unknown)}"


def test_the_dashboard_has_the_panels_that_matter_and_is_provisioned() -> None:
    dashboard = json.loads((DEPLOY / "grafana/dashboards/entrypoint.json").read_text())
    titles = {panel["title"] for panel in dashboard["panels"]}
    assert {
        "Partnerships by stage", "Lapses per week", "Waiting for a coordinator", "Outbox",
        "Workflow task schedule-to-start (p95)", "Activity schedule-to-start (p95)", "Task slots", "Sticky cache",
        "Request failures to Temporal",
    } <= titles  # fmt: skip
    ids = [panel["id"] for panel in dashboard["panels"]]
    assert len(ids) == len(set(ids))
    for panel in dashboard["panels"]:
        assert panel["datasource"]["uid"] == "prometheus" and panel["targets"], panel["title"]
    source = yaml.safe_load((DEPLOY / "grafana/provisioning/datasources/prometheus.yml").read_text())
    assert source["datasources"][0]["uid"] == "prometheus"
    provider = yaml.safe_load((DEPLOY / "grafana/provisioning/dashboards/entrypoint.yml").read_text())
    assert provider["providers"][0]["options"]["path"] == "/var/lib/grafana/dashboards"


def test_compose_runs_prometheus_and_grafana_on_these_files() -> None:
    compose = yaml.safe_load((ROOT / "docker-compose.yml").read_text())
    services = compose["services"]
    mounts = {volume.split(":")[0] for volume in services["prometheus"]["volumes"] + services["grafana"]["volumes"]}
    for path in mounts:
        if path.startswith("./"):
            assert (ROOT / path).exists(), f"compose mounts {path}, which is not in the repo"
    assert "./deploy/prometheus/alerts.yml" in mounts
    assert all(port.startswith("127.0.0.1:") for port in services["grafana"].get("ports", []))
    assert "ports" not in services["prometheus"]
    config = yaml.safe_load((DEPLOY / "prometheus/prometheus.yml").read_text())
    targets = {t for job in config["scrape_configs"] for c in job["static_configs"] for t in c["targets"]}
    assert "worker:9464" in targets
    worker_env = services["worker"]["environment"]
    assert worker_env["ENTRYPOINT_METRICS_ADDRESS"].endswith(":9464")


def test_promtool_checks_the_config_and_the_rules_and_their_unit_tests() -> None:
    tool = promtool()
    if tool is None:
        pytest.skip("promtool not installed (make promtool); the structural checks above still ran")
    for args in (
        ["check", "config", "--syntax-only", "prometheus.yml"],
        ["check", "rules", "alerts.yml"],
        ["test", "rules", "alerts.test.yml"],
    ):
        run = subprocess.run([tool, *args], cwd=DEPLOY / "prometheus", capture_output=True, text=True, timeout=60)
        assert run.returncode == 0, f"promtool {' '.join(args)}:\n{run.stdout}\n{run.stderr}"
