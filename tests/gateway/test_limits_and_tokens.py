"""Request limits (body size 413, per-token rate 429 with Retry-After) over real HTTP, and the token store:
secrets are stored only as their SHA-256, revocation, scopes and names checked."""

from __future__ import annotations

import hashlib
import uuid
from collections.abc import AsyncIterator

import pytest
from sqlalchemy import select
from temporalio.testing import WorkflowEnvironment

from activities.records.schema import api_tokens
from gateway.scopes import parse_scope
from gateway.settings import GatewaySettings
from gateway.store import GatewayStore, TokenError
from tests.gateway.conftest import Live, live_gateway
from tests.gateway.test_contract import application, key
from workers.cli import main

pytestmark = pytest.mark.temporal


@pytest.fixture
async def strict(dev_server: WorkflowEnvironment, sqlite_url: str) -> AsyncIterator[Live]:
    settings = GatewaySettings(rate_limit="3/minute", max_body_bytes=2048)
    async with live_gateway(dev_server, sqlite_url, settings) as running:
        yield running


async def test_a_body_over_the_limit_is_413_before_anything_runs(strict: Live) -> None:
    async with strict.http() as http:
        big = application(strict.cohort_id, goals=["x" * 200] * 20)
        response = await http.post("/v1/applications", json=big, headers=strict.headers("coordinator", key()))
        assert response.status_code == 413 and response.headers["content-type"] == "application/problem+json"

        async def chunks() -> AsyncIterator[bytes]:  # no Content-Length: the limit holds for a stream too
            for _ in range(10):
                yield b"x" * 500

        streamed = await http.post("/v1/applications", content=chunks(), headers=strict.headers("coordinator", key()))
        assert streamed.status_code == 413


async def test_a_token_over_its_rate_is_429_with_retry_after_and_others_go_on(strict: Live) -> None:
    async with strict.http() as http:
        statuses = [(await http.get("/v1/partnerships", headers=strict.headers("ops"))).status_code for _ in range(4)]
        assert statuses[:3] == [200, 200, 200] and statuses[3] == 429
        limited = await http.get("/v1/partnerships", headers=strict.headers("ops"))
        assert limited.status_code == 429 and 1 <= int(limited.headers["retry-after"]) <= 60
        assert limited.headers["content-type"] == "application/problem+json"
        other = await http.get("/v1/partnerships", headers=strict.headers("coordinator"))
        assert other.status_code == 200


async def test_only_the_hash_of_a_secret_is_stored_and_revoked_tokens_are_refused(database_url: str) -> None:
    async with GatewayStore.from_url(database_url) as store:
        name = f"uni-{uuid.uuid4().hex[:6]}"
        secret = await store.create_token(name, ["institution:uni-helsinki", "ops:read"])
        prefix, token_id, raw = secret.split("_", 2)
        assert prefix == "ept" and len(raw) >= 43

        async def row() -> object:
            async with store._db.engine.connect() as connection:
                return (await connection.execute(select(api_tokens).where(api_tokens.c.name == name))).one()

        stored = await row()
        assert stored.secret_sha256 == hashlib.sha256(raw.encode()).hexdigest()  # type: ignore[attr-defined]
        assert raw not in str(tuple(stored))  # type: ignore[arg-type]

        principal = await store.authenticate(secret)
        assert principal is not None and principal.institutions == {"uni-helsinki"} and principal.has("ops:read")
        assert await store.authenticate(secret[:-1] + ("A" if secret[-1] != "A" else "B")) is None
        assert await store.authenticate(f"ept_{token_id}") is None
        assert await store.authenticate("Basic abc") is None

        with pytest.raises(TokenError, match="exists already"):
            await store.create_token(name, ["ops:read"])
        with pytest.raises(TokenError, match="unknown scope"):
            await store.create_token(f"x-{name}", ["institution:"])
        assert await store.revoke_token(name) is True
        assert await store.revoke_token(name) is False
        assert await store.authenticate(secret) is None
        with pytest.raises(TokenError, match="no token named"):
            await store.revoke_token("never-made")


@pytest.mark.parametrize(
    "scope",
    ["institution:uni-helsinki", "participant:partnership-c1-m1", "esign", "calendar", "coordinator", "ops:read"],
)
def test_every_documented_scope_parses(scope: str) -> None:
    assert parse_scope(scope) == scope


@pytest.mark.parametrize("scope", ["admin", "institution:", "institution:a b", "ops:write", "participant:"])
def test_unknown_scopes_are_refused(scope: str) -> None:
    with pytest.raises(ValueError, match="unknown scope"):
        parse_scope(scope)


def test_the_tokens_commands_create_list_and_revoke(
    sqlite_url: str, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    from workers.settings import settings

    monkeypatch.setenv("ENTRYPOINT_DATABASE_URL", sqlite_url)
    settings.cache_clear()
    try:
        name = f"cli-{uuid.uuid4().hex[:6]}"
        assert main(["tokens", "create", "--name", name, "--scope", "esign", "--scope", "calendar"]) == 0
        out = capsys.readouterr().out
        secret = next(line for line in out.splitlines() if line.startswith("ept_"))
        assert "calendar, esign" in out
        assert main(["tokens", "list"]) == 0
        listed = capsys.readouterr().out
        assert name in listed and "active" in listed and secret not in listed
        assert main(["tokens", "revoke", name]) == 0
        assert main(["tokens", "list"]) == 0
        assert "revoked" in next(line for line in capsys.readouterr().out.splitlines() if line.startswith(name))
        assert main(["tokens", "create", "--name", name, "--scope", "esign"]) == 2
        assert main(["tokens", "create", "--name", "x" + name, "--scope", "root"]) == 2
        assert "unknown scope 'root'" in capsys.readouterr().err
    finally:
        settings.cache_clear()


@pytest.mark.parametrize(
    ("variable", "value", "message"),
    [
        ("ENTRYPOINT_API_RATE_LIMIT", "lots", "ENTRYPOINT_API_RATE_LIMIT 'lots'"),
        ("ENTRYPOINT_ESIGN_WEBHOOK_SECRETS", "whsec_###", "ENTRYPOINT_ESIGN_WEBHOOK_SECRETS"),
        ("ENTRYPOINT_API_MAX_BODY_BYTES", "5", "ENTRYPOINT_API_MAX_BODY_BYTES"),
    ],
)
def test_bad_gateway_settings_are_one_line_errors(
    variable: str, value: str, message: str, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setenv(variable, value)
    assert main(["api", "--port", "1"]) == 2
    err = capsys.readouterr().err
    assert message in err and len(err.strip().splitlines()) == 1 and "Traceback" not in err
