"""The engine's own metrics, beside the SDK's, in the worker's one Prometheus endpoint (``workers/telemetry.py``).

Three sources, each replay-safe:
- **Activities** (``EngineMetricsInterceptor``, around every activity, through ``activity.metric_meter()``): events
  recorded by type, commands rejected by command, notifications queued / sent / undeliverable / failed. A retried
  ``record_events`` that finds its batch already written (``duplicate``) counts nothing again.
- **Workflows** (``workflows/metrics.py``, through ``workflow.metric_meter()``, which emits nothing on replay):
  commands decided by type and outcome, attention raised and cleared by kind.
- **Records** (``GaugeRefresher``, a loop in the worker process): partnerships by stage, attention waiting by kind
  and the oldest wait, outbox pending and the oldest pending age; refreshed every ``interval``.

Series carry ids of kinds only (stage, event type, command, attention kind): never a person or partnership id.
"""

from __future__ import annotations

import asyncio
import contextlib
from datetime import UTC, datetime
from typing import Any

import structlog
from temporalio import activity
from temporalio.common import MetricMeter
from temporalio.worker import (
    ActivityInboundInterceptor,
    ExecuteActivityInput,
    Interceptor,
)

from activities.models import Delivered, GatheringRecorded, Recorded, RecordEvents, RecordGatheringEvents
from activities.records.gauges import ProgrammeGauges, read_gauges
from activities.records.store import RecordStore
from domain.partnership.state import Attention, Stage

log = structlog.get_logger(__name__)

EVENTS_RECORDED = "entrypoint_events_recorded"
COMMANDS_REJECTED_RECORDED = "entrypoint_rejections_recorded"
NOTIFICATIONS_QUEUED = "entrypoint_notifications_queued"
NOTIFICATIONS_SENT = "entrypoint_notifications_sent"
NOTIFICATIONS_UNDELIVERABLE = "entrypoint_notifications_undeliverable"
NOTIFICATIONS_FAILED = "entrypoint_notifications_failed"
"""Delivery attempts that failed (SMTP down or refusing): the messages stay pending for the next try."""

PARTNERSHIPS = "entrypoint_partnerships"
ATTENTION_WAITING = "entrypoint_attention_waiting"
ATTENTION_OLDEST = "entrypoint_attention_oldest_seconds"
OUTBOX_PENDING = "entrypoint_outbox_pending"
OUTBOX_OLDEST = "entrypoint_outbox_oldest_seconds"
OUTBOX_UNDELIVERABLE = "entrypoint_outbox_undeliverable"
GAUGES_REFRESHED = "entrypoint_gauges_refreshed_at_seconds"

COUNTERS = (
    EVENTS_RECORDED,
    COMMANDS_REJECTED_RECORDED,
    NOTIFICATIONS_QUEUED,
    NOTIFICATIONS_SENT,
    NOTIFICATIONS_UNDELIVERABLE,
    NOTIFICATIONS_FAILED,
)
"""Exported with the ``_total`` suffix."""
GAUGES = (
    PARTNERSHIPS,
    ATTENTION_WAITING,
    ATTENTION_OLDEST,
    OUTBOX_PENDING,
    OUTBOX_OLDEST,
    OUTBOX_UNDELIVERABLE,
    GAUGES_REFRESHED,
)


class EngineMetricsInterceptor(Interceptor):
    """Counts what the record-keeping and delivery activities did, from their typed inputs and results."""

    def intercept_activity(self, next: ActivityInboundInterceptor) -> ActivityInboundInterceptor:
        return _ActivityMetrics(next)


class _ActivityMetrics(ActivityInboundInterceptor):
    async def execute_activity(self, input: ExecuteActivityInput) -> Any:
        request = input.args[0] if input.args else None
        try:
            result = await self.next.execute_activity(input)
        except Exception as error:
            if activity.info().activity_type == "deliver_notifications":
                _add(NOTIFICATIONS_FAILED, 1, {"error": type(error).__name__})
            raise
        with contextlib.suppress(Exception):  # metrics never fail an activity
            _count(request, result)
        return result


def _count(request: Any, result: Any) -> None:
    if isinstance(request, RecordEvents) and isinstance(result, Recorded):
        if not result.duplicate:
            for event in request.events:
                _add(EVENTS_RECORDED, 1, {"workflow": "Partnership", "event": event.type})
                if event.type == "command_rejected":
                    _add(COMMANDS_REJECTED_RECORDED, 1, {"workflow": "Partnership", "command": event.command})
            if result.outbox_keys:
                _add(NOTIFICATIONS_QUEUED, len(result.outbox_keys), {"workflow": "Partnership"})
        if result.delivered is not None:  # record_and_deliver
            _count_delivered(result.delivered)
        if result.delivery_failed is not None:
            _add(NOTIFICATIONS_FAILED, 1, {"error": result.delivery_failed})
    elif isinstance(request, RecordGatheringEvents) and isinstance(result, GatheringRecorded):
        for gathering_event in request.events:
            _add(EVENTS_RECORDED, 1, {"workflow": "Gathering", "event": gathering_event.type})
    elif isinstance(result, Delivered):
        _count_delivered(result)


def _count_delivered(delivered: Delivered) -> None:
    _add(NOTIFICATIONS_SENT, delivered.sent, {})
    _add(NOTIFICATIONS_UNDELIVERABLE, delivered.undeliverable, {})


def _add(name: str, value: int, attributes: dict[str, str]) -> None:
    if value > 0:
        activity.metric_meter().create_counter(name).add(value, attributes)


class GaugeRefresher:
    """Sets the programme gauges from the records every ``interval`` seconds, until cancelled."""

    def __init__(self, store: RecordStore, meter: MetricMeter, interval: float = 30.0) -> None:
        self._store = store
        self._interval = interval
        self._partnerships = meter.create_gauge(PARTNERSHIPS, "partnerships by stage")
        self._attention = meter.create_gauge(ATTENTION_WAITING, "partnerships waiting for a coordinator, by kind")
        self._attention_oldest = meter.create_gauge_float(ATTENTION_OLDEST, "the longest attention wait", "s")
        self._pending = meter.create_gauge(OUTBOX_PENDING, "notifications waiting to be sent")
        self._oldest = meter.create_gauge_float(OUTBOX_OLDEST, "age of the oldest pending notification", "s")
        self._undeliverable = meter.create_gauge(OUTBOX_UNDELIVERABLE, "notifications that cannot be delivered")
        self._refreshed = meter.create_gauge(GAUGES_REFRESHED, "when the gauges were last read (unix time)", "s")

    async def refresh(self) -> ProgrammeGauges:
        now = datetime.now(UTC)
        gauges = await read_gauges(self._store.database, now)
        stages = {str(stage): 0 for stage in Stage} | gauges.stages
        for stage, count in stages.items():
            self._partnerships.set(count, {"stage": stage})
        for kind, count in ({str(kind): 0 for kind in Attention} | gauges.attention).items():
            self._attention.set(count, {"kind": kind})
        self._attention_oldest.set(gauges.attention_oldest_seconds)
        self._pending.set(gauges.outbox_pending)
        self._oldest.set(gauges.outbox_oldest_seconds)
        self._undeliverable.set(gauges.outbox_undeliverable)
        self._refreshed.set(int(now.timestamp()))
        return gauges

    async def run(self) -> None:
        while True:
            try:
                await self.refresh()
            except asyncio.CancelledError:
                raise
            except Exception as error:  # the database may be down: try again next round
                log.warning("gauges not refreshed", error=type(error).__name__)
            await asyncio.sleep(self._interval)
