"""The live gateway for the tests: the real Temporal dev server, a worker, the records database (SQLite and
PostgreSQL), and the gateway served by uvicorn on a loopback port, called with a real HTTP client (httpx)."""

from __future__ import annotations

import asyncio
import base64
import contextlib
import secrets
import socket
import uuid
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from typing import Any

import httpx
import pytest
from temporalio.client import Client
from temporalio.testing import WorkflowEnvironment

from activities.records.store import RecordStore
from gateway.server import engine_for, server
from gateway.settings import GatewaySettings
from gateway.store import GatewayStore
from tests import servers
from tests.workflows.conftest import seeded_store
from workers.worker import build_worker

OTHER_INSTITUTION = "aalto"


def whsec() -> str:
    return "whsec_" + base64.b64encode(secrets.token_bytes(24)).decode()


@dataclass
class Live:
    """One running gateway: its URL, a token per scope, the webhook secrets, and the parts behind it."""

    url: str
    client: Client
    task_queue: str
    cohort_id: str
    records: RecordStore
    store: GatewayStore
    tokens: dict[str, str]
    webhook_secrets: dict[str, list[str]]
    settings: GatewaySettings
    database_url: str
    extra: dict[str, Any] = field(default_factory=dict)

    def headers(self, who: str | None, key: str | None = None) -> dict[str, str]:
        headers = {} if who is None else {"Authorization": f"Bearer {self.tokens[who]}"}
        if key is not None:
            headers["Idempotency-Key"] = key
        return headers

    def http(self) -> httpx.AsyncClient:
        return httpx.AsyncClient(base_url=self.url, timeout=30)

    async def participant_token(self, partnership_id: str) -> str:
        name = f"participant-{uuid.uuid4().hex[:8]}"
        self.tokens[name] = await self.store.create_token(name, [f"participant:{partnership_id}"])
        return name


def free_port() -> int:
    with contextlib.closing(socket.socket(socket.AF_INET, socket.SOCK_STREAM)) as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


@pytest.fixture(scope="session")
async def dev_server() -> AsyncIterator[WorkflowEnvironment]:
    async with servers.dev_server() as env:
        yield env


SCOPES = {
    "coordinator": ["coordinator"],
    "ops": ["ops:read"],
    "institution": ["institution:uni-helsinki"],
    "other_institution": [f"institution:{OTHER_INSTITUTION}"],
    "esign": ["esign"],
    "calendar": ["calendar"],
}


@contextlib.asynccontextmanager
async def live_gateway(
    env: WorkflowEnvironment, database_url: str, settings: GatewaySettings | None = None
) -> AsyncIterator[Live]:
    cohort_id = f"g{uuid.uuid4().hex[:6]}"
    task_queue = f"tq-{uuid.uuid4().hex[:8]}"
    secrets_by_provider = {"esign": [whsec(), whsec()], "calendar": [whsec()]}
    config = settings or GatewaySettings(
        rate_limit="10000/minute",
        esign_webhook_secrets=" ".join(secrets_by_provider["esign"]),
        calendar_webhook_secrets=secrets_by_provider["calendar"][0],
    )
    records = await seeded_store(database_url, cohort_id)
    try:
        async with (
            build_worker(env.client, task_queue, records, mailer=None),
            engine_for(env.client, task_queue, database_url) as engine,
        ):
            suffix = uuid.uuid4().hex[:6]
            tokens = {who: await engine.store.create_token(f"{who}-{suffix}", scopes) for who, scopes in SCOPES.items()}
            revoked_name = f"revoked-{suffix}"
            tokens["revoked"] = await engine.store.create_token(revoked_name, ["coordinator"])
            await engine.store.revoke_token(revoked_name)
            port = free_port()
            gateway = server(engine, "127.0.0.1", port, config)
            serving = asyncio.create_task(gateway.serve())
            for _ in range(200):
                if gateway.started:
                    break
                await asyncio.sleep(0.05)
            assert gateway.started, "the gateway did not start"
            try:
                yield Live(
                    url=f"http://127.0.0.1:{port}",
                    client=env.client,
                    task_queue=task_queue,
                    cohort_id=cohort_id,
                    records=records,
                    store=engine.store,
                    tokens=tokens,
                    webhook_secrets=secrets_by_provider,
                    settings=config,
                    database_url=database_url,
                )
            finally:
                gateway.should_exit = True
                await serving
    finally:
        await records.close()


@pytest.fixture(scope="session")
async def live(dev_server: WorkflowEnvironment, database_url: str) -> AsyncIterator[Live]:
    """The gateway on SQLite and on PostgreSQL (each test runs against both)."""
    async with live_gateway(dev_server, database_url) as running:
        yield running
