"""What the command modules share: a Temporal client (or one clear line when Temporal cannot be reached), and
whether a worker is there to answer."""

from __future__ import annotations

import logging
import sys
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from datetime import UTC, datetime, timedelta
from typing import TYPE_CHECKING

from workers.errors import Refused, unreachable
from workers.settings import settings

if TYPE_CHECKING:  # temporalio is imported by the commands that talk to Temporal, not by every start-up
    from temporalio.client import Client

    from activities.records.engine import Database

CONNECT_TIMEOUT = timedelta(seconds=5)
RPC_TIMEOUT = timedelta(seconds=15)
"""How long a query or an update may take before the command says no worker answered."""
POLLER_RECENT = timedelta(minutes=2)
"""A worker polls its task queue at least this often (long polls last about a minute)."""


@asynccontextmanager
async def records_database() -> AsyncIterator[Database]:
    """The records database (``ENTRYPOINT_DATABASE_URL``), migrated, or one clear line when it cannot be used."""
    from sqlalchemy.exc import SQLAlchemyError

    from activities.records.engine import Database, create_engine, display_url
    from activities.records.migrate import upgrade
    from workers.errors import CommandError

    url = settings().database_url
    logging.getLogger("alembic").setLevel(logging.WARNING)
    try:
        await upgrade(url)
        database = Database(create_engine(url))
    except (SQLAlchemyError, OSError) as error:
        raise CommandError(f"cannot use the records database {display_url(url)} ({type(error).__name__})") from None
    try:
        yield database
    finally:
        await database.close()


async def temporal_client() -> Client:
    from temporalio.service import RPCError

    from activities.keys import KeyringError
    from workers.temporal import connect

    config = settings()
    try:
        return await connect(config, connect_timeout=CONNECT_TIMEOUT)
    except KeyringError:  # the CLI says what is wrong with the keyring (exit 2)
        raise
    except RuntimeError:  # the SDK's "Failed client connect: ..." (connection refused and friends)
        raise Refused(unreachable(config.temporal_address)) from None
    except RPCError as error:
        raise Refused(f"{unreachable(config.temporal_address)} ({error.message})") from None


async def worker_polling(client: Client, task_queue: str) -> bool:
    """Whether a worker has polled ``task_queue`` for workflow tasks recently."""
    from temporalio.api.enums.v1 import TaskQueueType
    from temporalio.api.taskqueue.v1 import TaskQueue
    from temporalio.api.workflowservice.v1 import DescribeTaskQueueRequest
    from temporalio.service import RPCError, RPCStatusCode

    request = DescribeTaskQueueRequest(
        namespace=client.namespace,
        task_queue=TaskQueue(name=task_queue),
        task_queue_type=TaskQueueType.TASK_QUEUE_TYPE_WORKFLOW,
    )
    try:
        response = await client.workflow_service.describe_task_queue(request, timeout=RPC_TIMEOUT)
    except RPCError as error:
        if error.status == RPCStatusCode.UNIMPLEMENTED:  # the time-skipping test server cannot tell: assume one
            return True
        raise
    now = datetime.now(UTC)
    return any(now - poller.last_access_time.ToDatetime(tzinfo=UTC) < POLLER_RECENT for poller in response.pollers)


def no_worker(task_queue: str) -> str:
    return (
        f"no worker is polling task queue {task_queue!r}: start one with `entrypoint worker` (or `make run`) "
        "and try again"
    )


async def require_worker(client: Client, task_queue: str) -> None:
    """Refuse now, in one line, rather than wait for an answer no worker will give."""
    if not await worker_polling(client, task_queue):
        raise Refused(no_worker(task_queue))


async def note_without_worker(client: Client, task_queue: str) -> None:
    """A start or a signal is kept by Temporal until a worker comes: say so, but go on."""
    if not await worker_polling(client, task_queue):
        print(f"note: {no_worker(task_queue)}; until then nothing happens", file=sys.stderr)
