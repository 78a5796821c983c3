"""docker-compose.yml cannot be started here (no Docker engine), so its shape is checked instead."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import pytest
import yaml

from workers.settings import Settings

ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture(scope="module")
def compose() -> dict[str, Any]:
    data = yaml.safe_load((ROOT / "docker-compose.yml").read_text())
    assert isinstance(data, dict)
    return data


def _env(service: dict[str, Any]) -> dict[str, str]:
    env = service.get("environment", {})
    return env if isinstance(env, dict) else dict(item.split("=", 1) for item in env)


def test_it_has_the_production_shape(compose: dict[str, Any]) -> None:
    services = compose["services"]
    assert {"temporal", "temporal-db", "temporal-ui", "records-db", "setup", "worker", "gateway"} <= set(services)
    assert _env(services["temporal"])["DB"].startswith("postgres")
    assert _env(services["temporal"])["POSTGRES_SEEDS"] == "temporal-db"
    assert services["temporal-db"]["image"].startswith("postgres")
    assert services["records-db"]["image"].startswith("postgres")
    assert "127.0.0.1:8233:8080" in services["temporal-ui"]["ports"]


def test_the_codec_server_decodes_for_the_ui_and_every_engine_service_has_the_keyring(
    compose: dict[str, Any],
) -> None:
    services = compose["services"]
    codec = services["codec-server"]
    assert codec["command"][0] == "codec-server" and "8081" in codec["command"]
    assert _env(services["temporal-ui"])["TEMPORAL_CODEC_ENDPOINT"] == "http://localhost:8081"
    assert "ENTRYPOINT_CODEC_TOKEN" in _env(codec)
    assert _env(codec)["ENTRYPOINT_CODEC_ORIGINS"] == _env(services["temporal-ui"])["TEMPORAL_CORS_ORIGINS"]
    for name in ("setup", "worker", "codec-server"):
        assert "ENTRYPOINT_KEYRING" in _env(services[name]), f"{name} cannot decrypt payloads without the keyring"


def test_every_dependency_names_a_service_and_the_worker_waits_for_setup(compose: dict[str, Any]) -> None:
    services = compose["services"]
    for name, service in services.items():
        depends = service.get("depends_on", [])
        for dependency in depends if isinstance(depends, list) else depends.keys():
            assert dependency in services, f"{name} depends on unknown service {dependency}"
    assert services["worker"]["depends_on"]["setup"]["condition"] == "service_completed_successfully"
    assert services["setup"]["command"] == ["setup"]
    assert services["worker"]["command"] == ["worker"]


def test_engine_configuration_matches_the_settings_the_worker_reads(compose: dict[str, Any]) -> None:
    known = {str(field.validation_alias) for field in Settings.model_fields.values()}
    for name in ("setup", "worker"):
        env = _env(compose["services"][name])
        assert set(env) <= known, f"{name} sets variables the worker does not read: {set(env) - known}"
        assert env["TEMPORAL_ADDRESS"] == "temporal:7233"
        url = env["ENTRYPOINT_DATABASE_URL"]
        assert url.startswith("postgresql+asyncpg://") and "@records-db:5432/" in url


def test_volumes_are_declared_and_the_image_is_buildable(compose: dict[str, Any]) -> None:
    used = {
        volume.split(":", 1)[0]
        for service in compose["services"].values()
        for volume in service.get("volumes", [])
        if not volume.startswith((".", "/"))
    }
    assert used <= set(compose.get("volumes", {}))
    dockerfile = (ROOT / "Dockerfile").read_text()
    for package in ("domain", "activities", "workflows", "workers", "gateway"):
        assert re.search(rf"^COPY {package} ", dockerfile, re.M), f"Dockerfile does not copy {package}/"
    assert 'ENTRYPOINT ["entrypoint"]' in dockerfile


def test_integrations_reach_the_gateway_and_not_the_temporal_frontend(compose: dict[str, Any]) -> None:
    services = compose["services"]
    published = [str(port) for service in services.values() for port in service.get("ports", [])]
    assert not any(port.endswith(":7233") or port == "7233" for port in published), published
    gateway = services["gateway"]
    assert gateway["command"][:1] == ["api"] and any(str(p).endswith(":8000") for p in gateway["ports"])
    assert gateway["depends_on"]["setup"]["condition"] == "service_completed_successfully"
    env = _env(gateway)
    assert env["TEMPORAL_ADDRESS"] == "temporal:7233" and "@records-db:5432/" in env["ENTRYPOINT_DATABASE_URL"]
    from gateway.settings import GatewaySettings

    known = {str(f.validation_alias) for f in (Settings.model_fields | GatewaySettings.model_fields).values()}
    assert set(env) <= known, set(env) - known


# ---------------------------------------------------------------------------------------------- exposure (issue 15)

SECRET = re.compile(r"PASSWORD|PASSWD|PWD|SECRET|TOKEN|API_KEY|PRIVATE_KEY", re.I)


def _published(service: dict[str, Any]) -> list[tuple[str | None, str]]:
    """(host address, host port) of each published port; None when published on every interface."""
    found: list[tuple[str | None, str]] = []
    for port in service.get("ports", []):
        if isinstance(port, dict):
            found.append((port.get("host_ip"), str(port.get("published"))))
            continue
        parts = str(port).split(":")
        if len(parts) == 3:
            found.append((parts[0], parts[1]))
        else:
            found.append((None, parts[0]))
    return found


def test_only_the_ui_gateway_codec_server_and_grafana_are_published_and_only_on_loopback(
    compose: dict[str, Any],
) -> None:
    published = {name: _published(service) for name, service in compose["services"].items() if _published(service)}
    assert set(published) <= {"temporal-ui", "gateway", "codec-server", "grafana"}, published
    assert "temporal" not in published and "temporal-db" not in published and "records-db" not in published
    for name, ports in published.items():
        for host, port in ports:
            assert host == "127.0.0.1", f"{name} publishes {port} on {host or 'every interface'}"


def test_the_databases_are_on_an_internal_network_only(compose: dict[str, Any]) -> None:
    networks = compose["networks"]
    assert networks["internal"]["internal"] is True
    for name in ("temporal-db", "records-db"):
        assert compose["services"][name]["networks"] == ["internal"], name
    for name, service in compose["services"].items():
        assert service.get("networks"), f"{name} is on the default network (reachable from outside the stack)"


def test_no_secret_has_a_default_and_each_is_required_with_a_message() -> None:
    text = (ROOT / "docker-compose.yml").read_text()
    references = re.findall(r"\$\{([A-Za-z_][A-Za-z0-9_]*)(:?[-?+])?([^}]*)\}", text)
    secrets = {(name, op, rest) for name, op, rest in references if SECRET.search(name)}
    assert {name for name, _, _ in secrets} >= {"RECORDS_DB_PASSWORD", "TEMPORAL_DB_PASSWORD"}
    for name, op, rest in secrets:
        optional_and_empty = op in (":-", "-") and rest == ""  # e.g. webhook secrets: unset refuses webhooks
        assert (op == ":?" and rest.strip()) or optional_and_empty, (
            f"${{{name}}} must be required (${{{name}:?message}}) or default to nothing, not {op!r} {rest!r}"
        )


def test_no_secret_is_written_into_the_compose_file(compose: dict[str, Any]) -> None:
    for name, service in compose["services"].items():
        for key, value in _env(service).items():
            if SECRET.search(key):
                assert re.fullmatch(r"\$\{[A-Z_]+(:\?[^}]+|:-)\}", str(value)), f"{name}: {key} is set in the file"
    for key, value in compose["x-engine-env"].items():
        references = re.findall(r"\$\{[^}]*\}", str(value))
        masked = str(value)
        for n, found in enumerate(references):
            masked = masked.replace(found, f"<{n}>", 1)
        for password in re.findall(r"://[^:/@]+:([^@]+)@", masked):
            reference = re.fullmatch(r"<(\d+)>", password)
            assert reference is not None, f"{key} embeds a password"
            assert ":?" in references[int(reference.group(1))], f"{key}: its password must be required"


def test_the_env_example_has_no_real_defaults_for_secrets() -> None:
    for line in (ROOT / ".env.example").read_text().splitlines():
        if line.startswith("#") or "=" not in line:
            continue
        key, value = line.split("=", 1)
        if SECRET.search(key):
            assert value == "", f".env.example gives {key} a value"
