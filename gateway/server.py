"""Serving the gateway: ``entrypoint api`` (and ``make run``) run it with uvicorn over the same facades the
CLI uses, on one Temporal client and the records database."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator

import uvicorn
from temporalio.client import Client

from activities.records.store import RecordStore
from gateway.app import Engine, create_app
from gateway.settings import GatewaySettings
from gateway.store import GatewayStore
from workers.cohorts import Cohorts
from workers.gatherings import Gatherings
from workers.partnerships import Partnerships


@contextlib.asynccontextmanager
async def engine_for(client: Client, task_queue: str, database_url: str) -> AsyncIterator[Engine]:
    records = RecordStore.from_url(database_url)
    store = GatewayStore.from_url(database_url)
    try:
        yield Engine(
            partnerships=Partnerships(client, task_queue),
            cohorts=Cohorts(client, task_queue),
            gatherings=Gatherings(client),
            records=records,
            store=store,
        )
    finally:
        await store.close()
        await records.close()


def server(engine: Engine, host: str, port: int, settings: GatewaySettings | None = None) -> uvicorn.Server:
    """A uvicorn server for the gateway (not started): ``await server.serve()``; ``server.should_exit = True``."""
    config = uvicorn.Config(
        create_app(engine, settings),
        host=host,
        port=port,
        log_level="warning",
        access_log=False,
        lifespan="off",
        server_header=False,
    )
    return uvicorn.Server(config)


async def serve(client: Client, task_queue: str, database_url: str, host: str, port: int) -> None:
    async with engine_for(client, task_queue, database_url) as engine:
        gateway = server(engine, host, port)
        task = asyncio.create_task(gateway.serve())
        try:
            await task
        finally:
            gateway.should_exit = True
            with contextlib.suppress(asyncio.CancelledError):
                await task
