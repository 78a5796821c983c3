"""The worker process: the Partnership workflow and its activities on one task queue."""

from __future__ import annotations

import asyncio
import contextlib
import signal
from collections.abc import AsyncIterator, Sequence
from typing import Any

import structlog
from temporalio.client import Client
from temporalio.worker import Worker
from temporalio.worker.workflow_sandbox import SandboxedWorkflowRunner, SandboxRestrictions

from activities.cohort import CohortActivities
from activities.gathering import GatheringActivities
from activities.notifications.activity import NotificationActivities
from activities.notifications.delivery import SmtpMailer
from activities.notifications.sweep import OutboxSweep
from activities.partnership import PartnershipActivities
from activities.records.store import RecordStore
from workers.arrival import ReceivedAtReader
from workers.health import HealthServer, database_check, temporal_check
from workers.logging import plain_sdk_messages
from workers.metrics import EngineMetricsInterceptor, GaugeRefresher
from workers.settings import Settings
from workers.telemetry import parse_address, runtime
from workers.telemetry import shutdown as telemetry_shutdown
from workers.temporal import connect
from workflows.cohort import CohortWorkflow
from workflows.gathering import GatheringWorkflow
from workflows.partnership import PartnershipWorkflow

log = structlog.get_logger(__name__)

WORKFLOWS: Sequence[type] = (PartnershipWorkflow, GatheringWorkflow, CohortWorkflow)

DEFAULT_WORKFLOW_CACHE = Settings.model_fields["workflow_cache"].default
"""Workflows kept in memory (``ENTRYPOINT_WORKFLOW_CACHE``): temporalio's default, 1,000."""

WORKFLOW_RUNNER = SandboxedWorkflowRunner(
    restrictions=SandboxRestrictions.default.with_passthrough_modules("email_validator", "idna")
)
"""The sandbox, with the modules pydantic loads lazily (e-mail validation) passed through."""

WORKER_INTERCEPTORS: Sequence[Any] = (ReceivedAtReader(),)
"""The workflow interceptors every worker and replayer of WORKFLOWS registers: the receive stamp of each signal and
update handed to the inbox (workers/arrival.py). A worker without it would count stamped messages differently on
replay, so never run WORKFLOWS without it."""


def activities_for(store: RecordStore, mailer: SmtpMailer | None, client: Client | None = None) -> list[Any]:
    """The activities; ``client`` lets the Gathering's ``deliver_attendance`` signal partnerships."""
    partnership = PartnershipActivities(store, mailer)
    notifications = NotificationActivities(store, mailer)
    gathering = GatheringActivities(store, client, mailer=mailer)
    return [
        partnership.register_application,
        partnership.record_events,
        partnership.record_and_deliver,
        partnership.verify_gathering_attendance,
        partnership.check_mentor,
        notifications.deliver_notifications,
        gathering.record_gathering_events,
        gathering.deliver_attendance,
        *(CohortActivities(store, client).all() if client is not None else ()),
    ]


def build_worker(
    client: Client,
    task_queue: str,
    store: RecordStore,
    mailer: SmtpMailer | None,
    *,
    workflow_cache: int = DEFAULT_WORKFLOW_CACHE,
) -> Worker:
    plain_sdk_messages()  # `entrypoint worker` configured logging before it imported the SDK
    return Worker(
        client,
        task_queue=task_queue,
        max_cached_workflows=workflow_cache,
        workflows=list(WORKFLOWS),
        workflow_runner=WORKFLOW_RUNNER,
        activities=activities_for(store, mailer, client),
        interceptors=[*WORKER_INTERCEPTORS, EngineMetricsInterceptor()],
    )


async def run_worker(settings: Settings) -> None:
    """Run until SIGINT/SIGTERM; in-flight activities are given time to finish."""
    store = RecordStore.from_url(settings.database_url)
    mailer = SmtpMailer.from_url(settings.smtp_url) if settings.smtp_url else None
    client = await connect(settings, service_name="entrypoint-worker")
    worker = build_worker(client, settings.task_queue, store, mailer, workflow_cache=settings.workflow_cache)
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(sig, stop.set)
    log.info(
        "worker started",
        task_queue=settings.task_queue,
        namespace=settings.temporal_namespace,
        temporal_address=settings.temporal_address,
        smtp=mailer is not None,
        outbox_sweep_seconds=settings.outbox_sweep_interval if mailer is not None else None,
        metrics=settings.metrics_address,
        health=settings.health_address,
    )
    # The outbox sweep runs beside the worker (see activities/notifications/sweep.py for why not a Schedule).
    sweep = OutboxSweep(store, mailer, settings.outbox_sweep_interval) if mailer is not None else None
    try:
        async with operations(settings, client, store), worker:
            if sweep is not None:
                sweep.start()
            await stop.wait()
            log.info("worker stopping")
    finally:
        if sweep is not None:
            await sweep.stop()
        await store.close()
        telemetry_shutdown()


@contextlib.asynccontextmanager
async def operations(settings: Settings, client: Client, store: RecordStore) -> AsyncIterator[None]:
    """Beside a worker: the health endpoint and the programme gauges, when their addresses are configured."""
    health = HealthServer({"temporal": temporal_check(client), "records": database_check(store)})
    if settings.health_address:
        await health.start(*parse_address(settings.health_address))
    gauges = None
    if settings.metrics_address:
        meter = runtime(settings.metrics_address).metric_meter
        gauges = asyncio.create_task(GaugeRefresher(store, meter, settings.gauge_interval).run())
    try:
        yield
    finally:
        if gauges is not None:
            gauges.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await gauges
        await health.close()
